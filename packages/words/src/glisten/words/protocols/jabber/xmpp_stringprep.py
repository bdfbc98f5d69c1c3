"""Twisted's ``xmpp_stringprep`` names, on RFC 7622's PRECIS profiles (which replaced the
stringprep profiles of RFC 3920): ``nodeprep``, ``resourceprep`` and ``nameprep`` each have a
``prepare(text)`` that returns the canonical form or raises :class:`UnicodeError`."""

from __future__ import annotations

from collections.abc import Callable

from glisten.words.protocols.jabber._precis import (
    PrecisError,
    prepareDomain,
    prepareLocal,
    prepareResource,
)

__all__ = ["nameprep", "nodeprep", "resourceprep"]


class _Profile:
    def __init__(self, prepare: Callable[[str], str]) -> None:
        self._prepare = prepare

    def prepare(self, string: str) -> str:
        """:return: ``string`` in canonical form.

        :raises UnicodeError: it is not valid for this part of a JID.
        """
        try:
            return self._prepare(string)
        except PrecisError as e:
            raise UnicodeError(str(e)) from None


nodeprep = _Profile(prepareLocal)
resourceprep = _Profile(prepareResource)
nameprep = _Profile(prepareDomain)
