"""
The words of a ``cftp`` command line, and the wildcard patterns they are.

A line splits at blanks outside quotes; ``'...'`` and ``"..."`` keep blanks in a word (and
leave ``*``, ``?`` and ``[...]`` active, as OpenSSH's ``sftp`` does). A backslash makes the
next character plain: outside quotes any character, inside quotes the quote, a backslash or
a wildcard character. A word is kept as a *pattern*: a backslash-escaped ``*``, ``?``, ``[``,
``]`` or ``\\`` stays escaped, so ``get a\\*b`` fetches the file named ``a*b``, and
:func:`unescape` gives the plain name for commands that take no wildcards.
"""

from __future__ import annotations

__all__: list[str] = []

#: The characters a backslash keeps escaped in a pattern.
SPECIAL = "*?[]\\"

#: The longest command line taken, in characters.
MAX_LINE = 64 * 1024


def splitWords(line: str) -> list[str]:
    """
    Split a command line into patterns.

    :raises ValueError: an unclosed quote, a backslash at the end, or a line over
        :data:`MAX_LINE` characters.
    """
    if len(line) > MAX_LINE:
        raise ValueError("line too long")
    words: list[str] = []
    word: list[str] = []
    inWord = False
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        i += 1
        if c == "\\":
            if i == len(line):
                raise ValueError("backslash at the end of the line")
            nxt = line[i]
            i += 1
            inWord = True
            if nxt in SPECIAL:
                word.append("\\" + nxt)
            elif not quote or nxt == quote:
                word.append(nxt)
            else:
                # Inside quotes other backslashes are themselves.
                word.append("\\\\" + nxt)
        elif quote:
            if c == quote:
                quote = ""
            else:
                word.append(c)
        elif c in "'\"":
            quote = c
            inWord = True
        elif c in " \t\r\n":
            if inWord:
                words.append("".join(word))
                word = []
                inWord = False
        else:
            word.append(c)
            inWord = True
    if quote:
        raise ValueError("no closing quotation")
    if inWord:
        words.append("".join(word))
    return words


def unescape(pattern: str) -> str:
    """The plain text of a pattern: every ``\\c`` becomes ``c``."""
    if "\\" not in pattern:
        return pattern
    out: list[str] = []
    escaped = False
    for c in pattern:
        if escaped or c != "\\":
            out.append(c)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def escape(name: bytes) -> bytes:
    """A pattern matching exactly ``name`` (a remote path made into a pattern's prefix)."""
    for c in b"\\*?[]":
        name = name.replace(bytes([c]), b"\\" + bytes([c]))
    return name


def hasWildcards(pattern: bytes) -> bool:
    """Whether a pattern has ``*``, ``?`` or ``[`` that are not escaped."""
    escaped = False
    for c in pattern:
        if escaped:
            escaped = False
        elif c == 0x5C:
            escaped = True
        elif c in b"*?[":
            return True
    return False


def fnmatchPattern(pattern: bytes) -> bytes:
    """
    The pattern in :mod:`fnmatch`'s (and :mod:`glob`'s) terms, which have no escapes: an
    escaped wildcard character becomes a one-character class (``[*]``), an escaped backslash
    a backslash.
    """
    out = bytearray()
    escaped = False
    for c in pattern:
        if escaped:
            out += b"[%c]" % c if c in b"*?[" else bytes([c])
            escaped = False
        elif c == 0x5C:
            escaped = True
        else:
            out.append(c)
    return bytes(out)
