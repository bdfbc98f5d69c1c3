"""Jabber identifiers (RFC 7622): ``localpart@domainpart/resourcepart``.

Parts are prepared with the PRECIS profiles RFC 7622 names (see ``_precis`` for what is
approximated), so two JIDs compare equal exactly when their canonical forms do; an invalid JID
raises :class:`InvalidFormat` with a message that names the rule it broke.
"""

from __future__ import annotations

import functools
from typing import Any

from glisten.words.protocols.jabber._precis import (
    PrecisError,
    prepareDomain,
    prepareLocal,
    prepareResource,
)

__all__ = ["JID", "InvalidFormat", "internJID", "parse", "prep"]


class InvalidFormat(Exception):
    """The string is not a valid JID."""


def parse(jidstring: str) -> tuple[str | None, str, str | None]:
    """Split and prepare a JID.

    :return: ``(user, host, resource)``, the optional parts None when absent.
    :raises InvalidFormat: the JID is not valid.
    """
    if len(jidstring) > 3071 * 4:
        raise InvalidFormat("the JID is too long")
    user: str | None = None
    resource: str | None = None
    rest, slash, res = jidstring.partition("/")
    if slash:
        if not res:
            raise InvalidFormat("the resourcepart is empty")
        resource = res
    at = rest.find("@")
    if at == 0:
        raise InvalidFormat("the localpart is empty")
    if at > 0:
        user, host = rest[:at], rest[at + 1 :]
    else:
        host = rest
    if not host:
        raise InvalidFormat("the domainpart is empty")
    return prep(user, host, resource)


def prep(user: str | None, host: str, resource: str | None) -> tuple[str | None, str, str | None]:
    """Prepare each part of a JID.

    :return: the canonical ``(user, host, resource)``.
    :raises InvalidFormat: a part is not valid.
    """
    try:
        if user is not None:
            user = prepareLocal(user)
        host = prepareDomain(host)
        if resource is not None:
            resource = prepareResource(resource)
    except PrecisError as e:
        raise InvalidFormat(str(e)) from None
    return user, host, resource


@functools.lru_cache(maxsize=4096)
def internJID(jidstring: str) -> JID:
    """:return: a shared :class:`JID` for ``jidstring`` (from a bounded cache).

    :raises InvalidFormat: the JID is not valid.
    """
    return JID(jidstring)


class JID:
    """A Jabber identifier.

    :param str: the JID as text, or None to build it from ``tuple``.
    :param tuple: ``(user, host, resource)``.
    :raises InvalidFormat: the JID is not valid.
    """

    __slots__ = ("user", "host", "resource")

    def __init__(
        self,
        str: str | None = None,
        tuple: tuple[str | None, str, str | None] | None = None,
    ) -> None:
        if str is not None:
            self.user, self.host, self.resource = parse(str)
        elif tuple is not None:
            self.user, self.host, self.resource = prep(*tuple)
        else:
            raise RuntimeError("you must provide a value for either 'str' or 'tuple' arguments")

    def userhost(self) -> str:
        """:return: the bare JID as text (no resource)."""
        if self.user is not None:
            return f"{self.user}@{self.host}"
        return self.host

    def userhostJID(self) -> JID:
        """:return: the bare JID."""
        if self.resource is None:
            return self
        return internJID(self.userhost())

    def full(self) -> str:
        """:return: the JID as text."""
        if self.resource is not None:
            return f"{self.userhost()}/{self.resource}"
        return self.userhost()

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, JID):
            return (
                self.user == other.user
                and self.host == other.host
                and self.resource == other.resource
            )
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((self.user, self.host, self.resource))

    def __str__(self) -> str:
        return self.full()

    def __repr__(self) -> str:
        return f"JID({self.full()!r})"
