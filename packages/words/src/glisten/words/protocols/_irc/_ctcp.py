"""CTCP (client-to-client protocol) framing inside PRIVMSG and NOTICE text.

Two quoting levels exist, as Twisted provides them: the low level (``lowQuote``) escapes NUL, CR,
LF and ``\\x10`` with ``\\x10``; the CTCP level (``ctcpQuote``) escapes ``\\x01`` and backslash
with backslash. Current clients use neither on the wire, so the IRC protocols here do not
apply low-level quoting to every line as Twisted's do; the functions stay for programs that
call them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "M_QUOTE",
    "X_DELIM",
    "X_QUOTE",
    "ctcpDequote",
    "ctcpExtract",
    "ctcpQuote",
    "ctcpStringify",
    "lowDequote",
    "lowQuote",
]

#: Delimits an extended (CTCP) message inside a PRIVMSG or NOTICE.
X_DELIM = "\x01"
#: The low-level quote character.
M_QUOTE = "\x10"
#: The CTCP-level quote character.
X_QUOTE = "\\"

_LOW_QUOTE = str.maketrans({M_QUOTE: M_QUOTE * 2, "\x00": M_QUOTE + "0", "\n": M_QUOTE + "n"})
_LOW_QUOTE[ord("\r")] = M_QUOTE + "r"
_LOW_UNQUOTE = {"0": "\x00", "n": "\n", "r": "\r", M_QUOTE: M_QUOTE}
_X_QUOTE = str.maketrans({X_QUOTE: X_QUOTE * 2, X_DELIM: X_QUOTE + "a"})
_X_UNQUOTE = {"a": X_DELIM, X_QUOTE: X_QUOTE}


def _dequote(text: str, quote: str, table: dict[str, str]) -> str:
    if quote not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        j = text.find(quote, i)
        if j < 0:
            out.append(text[i:])
            break
        out.append(text[i:j])
        if j + 1 < n:
            c = text[j + 1]
            out.append(table.get(c, c))
        i = j + 2
    return "".join(out)


def lowQuote(s: str) -> str:
    """Escape NUL, CR, LF and ``\\x10`` with the low-level quote."""
    return s.translate(_LOW_QUOTE)


def lowDequote(s: str) -> str:
    """Undo :func:`lowQuote`; an unknown escape stands for its character."""
    return _dequote(s, M_QUOTE, _LOW_UNQUOTE)


def ctcpQuote(s: str) -> str:
    """Escape ``\\x01`` and backslash for the inside of a CTCP message."""
    return s.translate(_X_QUOTE)


def ctcpDequote(s: str) -> str:
    """Undo :func:`ctcpQuote`; an unknown escape stands for its character."""
    return _dequote(s, X_QUOTE, _X_UNQUOTE)


def ctcpExtract(message: str) -> dict[str, list[object]]:
    """Separate the CTCP messages in a PRIVMSG/NOTICE text from its normal text.

    :return: ``{"extended": [(tag, data-or-None), ...], "normal": [text, ...]}``; an
        unterminated CTCP message at the end counts as one, as clients send ``\\x01ACTION x``.
    """
    pieces = message.split(X_DELIM)
    extended: list[object] = []
    normal: list[object] = []
    for index, piece in enumerate(pieces):
        if not piece:
            continue
        if index % 2:
            tag, sep, data = ctcpDequote(piece).partition(" ")
            extended.append((tag, data if sep else None))
        else:
            normal.append(ctcpDequote(piece))
    return {"extended": extended, "normal": normal}


def ctcpStringify(messages: Iterable[tuple[str, str | Sequence[str] | None]]) -> str:
    """Render ``(tag, data)`` pairs as CTCP messages; ``data`` may be a string, a sequence of
    words or ``None``."""
    out = []
    for tag, data in messages:
        if data is not None and not isinstance(data, str):
            data = " ".join(map(str, data))
        text = f"{tag} {data}" if data else tag
        out.append(X_DELIM + ctcpQuote(text) + X_DELIM)
    return "".join(out)
