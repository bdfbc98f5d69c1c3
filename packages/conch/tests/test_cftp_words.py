"""``cftp`` command lines: words, quotes, and backslash-escaped wildcard characters."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.conch.scripts import _words
from glisten.conch.scripts._words import (
    escape,
    fnmatchPattern,
    hasWildcards,
    splitWords,
    unescape,
)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("ls", ["ls"]),
        ("  get  a   b  ", ["get", "a", "b"]),
        ("put 'a file' \"x y\"", ["put", "a file", "x y"]),
        ("rm a\\ b", ["rm", "a b"]),
        ("rm it\\'s", ["rm", "it's"]),
        ("get a\\*b", ["get", "a\\*b"]),
        ("get a\\?\\[c\\]", ["get", "a\\?\\[c\\]"]),
        ("get back\\\\slash", ["get", "back\\\\slash"]),
        ("get '*.txt' \"?x\"", ["get", "*.txt", "?x"]),
        ("get 'a\\*' \"b\\\"c\" 'd\\e'", ["get", "a\\*", 'b"c', "d\\\\e"]),
        ("mkdir ''", ["mkdir", ""]),
        ("a'b c'd", ["ab cd"]),
    ],
)
def test_splitWords(line: str, words: list[str]) -> None:
    assert splitWords(line) == words


@pytest.mark.parametrize("line", ["get 'open", 'get "open', "get trailing\\", "x" * 70000])
def test_splitWordsRefuses(line: str) -> None:
    with pytest.raises(ValueError):
        splitWords(line)


def test_unescapeAndEscape() -> None:
    assert unescape("a\\*b\\\\c\\ d") == "a*b\\c d"
    assert unescape("plain") == "plain"
    assert escape(b"/x/a*b[1]?\\") == b"/x/a\\*b\\[1\\]\\?\\\\"
    assert unescape(escape(b"/x/a*b[1]?\\").decode()) == "/x/a*b[1]?\\"


def test_wildcards() -> None:
    assert hasWildcards(b"*.txt") and hasWildcards(b"a?") and hasWildcards(b"[ab]")
    assert not hasWildcards(b"a\\*b") and not hasWildcards(b"\\[x\\]") and not hasWildcards(b"x")
    assert hasWildcards(b"a\\\\*")  # an escaped backslash, then a wildcard
    assert fnmatchPattern(b"a\\*b*") == b"a[*]b*"
    assert fnmatch.fnmatchcase(b"a*bcd", fnmatchPattern(b"a\\*b*"))
    assert not fnmatch.fnmatchcase(b"axbcd", fnmatchPattern(b"a\\*b*"))
    assert fnmatch.fnmatchcase(b"[x]", fnmatchPattern(b"\\[x\\]"))
    assert fnmatch.fnmatchcase(b"a\\b", fnmatchPattern(b"a\\\\b"))


@given(st.text(alphabet="ab *?[]\\'\" \t", max_size=40))
def test_splitWordsOnlyRefusesWithValueError(line: str) -> None:
    """Any line either splits or is refused with ``ValueError``; patterns round-trip."""
    try:
        words = splitWords(line)
    except ValueError:
        return
    for word in words:
        # No backslash is left dangling, and the plain text made a pattern again is literal.
        assert (len(word) - len(word.rstrip("\\"))) % 2 == 0
        assert not hasWildcards(escape(unescape(word).encode()))
        fnmatchPattern(word.encode())


@given(st.binary(max_size=40))
def test_escapedNamesMatchOnlyThemselves(name: bytes) -> None:
    """A name made into a pattern has no wildcards and matches exactly that name."""
    pattern = escape(name)
    assert not hasWildcards(pattern)
    assert fnmatch.fnmatchcase(name, fnmatchPattern(pattern))
    assert unescape(pattern.decode("latin-1")).encode("latin-1") == name


def test_limit() -> None:
    assert len(splitWords("x" * _words.MAX_LINE)[0]) == _words.MAX_LINE
