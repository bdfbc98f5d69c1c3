"""SEARCH keys (RFC 3501 6.4.4) -> a query tree.

The tree is made of tuples: ``("ALL",)``, ``("AND", (k, ...))``, ``("OR", k1, k2)``,
``("NOT", k)``, ``("FLAG", flag, present)``, ``("HEADER", name, text)`` (``name`` upper
case; ``text`` matched case-insensitively as a substring), ``("BODY", text)``,
``("TEXT", text)``, ``("LARGER", n)``, ``("SMALLER", n)``, ``("DATE", field, op, date)``
(``field`` ``"INTERNAL"`` or ``"SENT"``, ``op`` ``"BEFORE"``, ``"ON"`` or ``"SINCE"``),
``("SET", ranges, uid)``.
"""

from __future__ import annotations

from typing import Any

from glisten.mail._imap._errors import IMAPParseError
from glisten.mail._imap._limits import Limits
from glisten.mail._imap._parser import Atom, Token, parseDate, parseSequenceSet

_FLAGS = {
    "ANSWERED": ("\\ANSWERED", True),
    "DELETED": ("\\DELETED", True),
    "DRAFT": ("\\DRAFT", True),
    "FLAGGED": ("\\FLAGGED", True),
    "SEEN": ("\\SEEN", True),
    "RECENT": ("\\RECENT", True),
    "UNANSWERED": ("\\ANSWERED", False),
    "UNDELETED": ("\\DELETED", False),
    "UNDRAFT": ("\\DRAFT", False),
    "UNFLAGGED": ("\\FLAGGED", False),
    "UNSEEN": ("\\SEEN", False),
    "OLD": ("\\RECENT", False),
}
_HEADERS = {"BCC", "CC", "FROM", "SUBJECT", "TO"}
_DATES = {
    "BEFORE": ("INTERNAL", "BEFORE"),
    "ON": ("INTERNAL", "ON"),
    "SINCE": ("INTERNAL", "SINCE"),
    "SENTBEFORE": ("SENT", "BEFORE"),
    "SENTON": ("SENT", "ON"),
    "SENTSINCE": ("SENT", "SINCE"),
}


class _Keys:
    def __init__(self, tokens: list[Token], limits: Limits, charset: str) -> None:
        self.tokens = tokens
        self.i = 0
        self.limits = limits
        self.charset = charset

    def next(self) -> Token:
        if self.i >= len(self.tokens):
            raise IMAPParseError("SEARCH key missing an argument")
        token = self.tokens[self.i]
        self.i += 1
        return token

    def string(self) -> str:
        token = self.next()
        if isinstance(token, list):
            raise IMAPParseError("expected a string")
        try:
            return bytes(token).decode(self.charset)
        except (UnicodeDecodeError, LookupError):
            raise IMAPParseError("bad text for the charset") from None

    def number(self) -> int:
        token = self.next()
        if not isinstance(token, Atom) or not token.isdigit() or len(token) > 12:
            raise IMAPParseError("expected a number")
        return int(token)

    def key(self, depth: int) -> Any:
        if depth > self.limits.maxDepth * 4:
            raise IMAPParseError("SEARCH nested too deeply")
        token = self.next()
        if isinstance(token, list):
            return self.group(token, depth + 1)
        if not isinstance(token, Atom):
            raise IMAPParseError("bad SEARCH key")
        word = token.upper().decode("ascii", "replace")
        if word == "ALL":
            return ("ALL",)
        if word == "NEW":
            return ("AND", (("FLAG", "\\RECENT", True), ("FLAG", "\\SEEN", False)))
        if word in _FLAGS:
            flag, present = _FLAGS[word]
            return ("FLAG", flag, present)
        if word in ("KEYWORD", "UNKEYWORD"):
            keyword = self.next()
            if not isinstance(keyword, Atom):
                raise IMAPParseError("bad keyword")
            return ("FLAG", keyword.upper().decode("ascii", "replace"), word == "KEYWORD")
        if word in _HEADERS:
            return ("HEADER", word, self.string())
        if word == "HEADER":
            name = self.string().upper()
            return ("HEADER", name, self.string())
        if word in ("BODY", "TEXT"):
            return (word, self.string())
        if word in ("LARGER", "SMALLER"):
            return (word, self.number())
        if word in _DATES:
            date = self.next()
            if isinstance(date, list):
                raise IMAPParseError("bad date")
            field, op = _DATES[word]
            return ("DATE", field, op, parseDate(bytes(date)))
        if word == "NOT":
            return ("NOT", self.key(depth + 1))
        if word == "OR":
            return ("OR", self.key(depth + 1), self.key(depth + 1))
        if word == "UID":
            uids = self.next()
            if not isinstance(uids, Atom):
                raise IMAPParseError("bad UID set")
            return ("SET", parseSequenceSet(uids, self.limits), True)
        if word[:1].isdigit() or word[:1] == "*":
            return ("SET", parseSequenceSet(token, self.limits), False)
        raise IMAPParseError("unknown SEARCH key")

    def group(self, tokens: list[Token], depth: int) -> Any:
        if not tokens:
            raise IMAPParseError("empty SEARCH list")
        inner = _Keys(tokens, self.limits, self.charset)
        keys = []
        while inner.i < len(tokens):
            keys.append(inner.key(depth))
        return keys[0] if len(keys) == 1 else ("AND", tuple(keys))


def parseSearch(tokens: list[Token], limits: Limits) -> Any:
    """``[CHARSET name] key...`` -> the query tree.

    :raises IMAPParseError: for bad keys; ``IMAPParseError("BADCHARSET")`` for a charset
        other than US-ASCII or UTF-8.
    """
    charset = "utf-8"
    if tokens and isinstance(tokens[0], Atom) and tokens[0].upper() == b"CHARSET":
        if len(tokens) < 2 or isinstance(tokens[1], list):
            raise IMAPParseError("bad CHARSET")
        name = bytes(tokens[1]).upper()
        if name not in (b"UTF-8", b"US-ASCII"):
            raise IMAPParseError("BADCHARSET")
        tokens = tokens[2:]
    if not tokens:
        raise IMAPParseError("SEARCH needs a key")
    return _Keys(tokens, limits, charset).group(tokens, 0)
