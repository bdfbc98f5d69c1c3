"""The wire reader's name-lists (a KEXINIT reads ten in one call) and their limits."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, nameList, string

_NAME = st.binary(min_size=1, max_size=64).filter(lambda n: b"," not in n)


@settings(max_examples=60, deadline=None)
@given(lists=st.lists(st.lists(_NAME, max_size=8), min_size=1, max_size=10))
def test_nameListsRoundTrip(lists: list[list[bytes]]) -> None:
    """Encoded lists read back equal, together or one at a time, ending at the same place."""
    data = b"".join(nameList(names) for names in lists) + b"tail"
    together = Reader(data)
    assert together.nameLists(len(lists)) == lists
    single = Reader(data)
    assert [single.nameList() for _ in lists] == lists
    assert together.offset == single.offset == len(data) - 4


@pytest.mark.parametrize(
    "raw",
    [
        b",a",  # empty first name
        b"a,,b",  # empty name inside
        b"a,",  # empty last name
        b"x" * 65,  # a name too long
        b",".join([b"a"] * 257),  # too many names
    ],
)
def test_badNameListRefused(raw: bytes) -> None:
    """Each bad list is the protocol's DecodeError, in any position of the run."""
    with pytest.raises(DecodeError):
        Reader(string(raw)).nameList()
    with pytest.raises(DecodeError):
        Reader(nameList([b"ok"]) + string(raw)).nameLists(2)


def test_truncatedNameLists() -> None:
    """A KEXINIT cut short anywhere is a DecodeError, never an IndexError."""
    data = b"".join(nameList([b"curve25519-sha256", b"ext-info-c"]) for _ in range(10))
    for cut in range(len(data)):
        with pytest.raises(DecodeError):
            Reader(data[:cut]).nameLists(10)


def test_nameListStringLimit() -> None:
    """The reader's longest-string limit holds for name-lists too."""
    with pytest.raises(DecodeError):
        Reader(nameList([b"a" * 60] * 20), maxString=100).nameLists(1)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200), count=st.integers(1, 10))
def test_randomBytesOnlyDecodeError(data: bytes, count: int) -> None:
    """Arbitrary bytes either read or raise DecodeError, never another exception."""
    try:
        lists = Reader(data).nameLists(count)
    except DecodeError:
        return
    assert len(lists) == count
