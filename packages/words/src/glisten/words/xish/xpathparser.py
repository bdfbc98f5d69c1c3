"""The error a malformed XPath query raises, under Twisted's module path.

Twisted generates its XPath parser into ``twisted.words.xish.xpathparser``; ported code
catches that module's ``SyntaxError``. glisten parses queries in :mod:`glisten.words.xish.xpath`
and keeps only this error class here, so ``from glisten.words.xish.xpathparser import
SyntaxError`` works after the import rename. It subclasses the builtin :class:`SyntaxError`,
so code catching the builtin also catches it.
"""

from __future__ import annotations

import builtins

__all__ = ["SyntaxError"]


class SyntaxError(builtins.SyntaxError):
    """A query is not in the supported XPath subset.

    :param charpos: the offset into the query where parsing stopped, ``-1`` when unknown.
    :param msg: what was wrong, never the query's text.
    :param context: unused, kept for Twisted's signature.
    """

    def __init__(self, charpos: int = -1, msg: str = "Bad Token", context: object = None) -> None:
        super().__init__(msg)
        self.charpos = charpos
        self.context = context
