"""glisten.python.urlpath.URLPath: parts as bytes, navigation, text round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glisten.python.urlpath import URLPath

URL = "http://example.com/foo/bar?yes=no&no=yes#footer"


@pytest.fixture(params=["bytes", "str"])
def path(request: pytest.FixtureRequest) -> URLPath:
    if request.param == "bytes":
        return URLPath.fromBytes(URL.encode())
    return URLPath.fromString(URL)


def test_partsAreBytes(path: URLPath) -> None:
    assert (path.scheme, path.netloc, path.path, path.query, path.fragment) == (
        b"http",
        b"example.com",
        b"/foo/bar",
        b"yes=no&no=yes",
        b"footer",
    )
    assert str(path) == URL


@pytest.mark.parametrize("convert", [str, lambda s: s.encode("ascii")])
def test_assigningPartsChangesTheURL(path: URLPath, convert: object) -> None:
    path.scheme = convert("https")  # type: ignore[operator]
    path.netloc = convert("other.example")  # type: ignore[operator]
    path.path = convert("/hello")  # type: ignore[operator]
    path.query = convert("a=b")  # type: ignore[operator]
    path.fragment = convert("top")  # type: ignore[operator]
    assert str(path) == "https://other.example/hello?a=b#top"
    assert isinstance(path.path, bytes)


def test_navigation(path: URLPath) -> None:
    assert str(path.child(b"hello")) == "http://example.com/foo/bar/hello"
    assert str(path.child(b"hello").child(b"")) == "http://example.com/foo/bar/hello/"
    assert str(path.child(b"x", keepQuery=True)) == "http://example.com/foo/bar/x?yes=no&no=yes"
    assert str(path.sibling(b"baz")) == "http://example.com/foo/baz"
    assert str(path.child(b"").sibling(b"baz")) == "http://example.com/foo/bar/baz"
    assert str(path.parent()) == "http://example.com/"
    assert str(path.parent(keepQuery=True)) == "http://example.com/?yes=no&no=yes"
    assert str(path.child(b"").parent()) == "http://example.com/foo/"
    assert str(path.child(b"baz").parent()) == "http://example.com/foo/"
    assert str(path.parent().parent().parent()) == "http://example.com/"
    assert str(path.here()) == "http://example.com/foo/"
    assert str(path.child(b"").here()) == "http://example.com/foo/bar/"
    assert str(path.click(b"/hello/world")) == "http://example.com/hello/world"
    assert str(path.click("../x?q=1")) == "http://example.com/x?q=1"
    assert str(path.click("https://elsewhere.example/")) == "https://elsewhere.example/"


def test_pathList(path: URLPath) -> None:
    child = path.child(b"%00%01%02")
    assert child.pathList() == [b"", b"foo", b"bar", b"%00%01%02"]
    assert child.pathList(copy=False) == [b"", b"foo", b"bar", b"%00%01%02"]
    assert child.pathList(unquote=True) == [b"", b"foo", b"bar", b"\x00\x01\x02"]


def test_defaultsAndNonASCII() -> None:
    assert str(URLPath()) == "http://localhost/"
    short = URLPath.fromBytes(b"http://example.org")
    assert (short.path, short.query, short.fragment) == (b"/", b"", b"")
    assert str(URLPath.fromBytes(b"http://example.com/\xff\x00")) == "http://example.com/%FF%00"
    assert str(URLPath.fromString("http://example.com/\xff\x00")) == "http://example.com/%C3%BF%00"


def test_wrongTypes() -> None:
    with pytest.raises(ValueError):
        URLPath.fromBytes("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        URLPath.fromString(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        URLPath.fromBytes(None)  # type: ignore[arg-type]


def test_equalityAndFromRequest() -> None:
    class Request:
        def prePathURL(self) -> bytes:
            return b"http://example.com/app/"

    assert URLPath.fromRequest(Request()) == URLPath.fromString("http://example.com/app/")
    assert URLPath.fromRequest(Request()) != URLPath.fromString("http://example.com/app")
    assert len({URLPath(), URLPath()}) == 1


@given(st.binary(max_size=60))
def test_anyBytesGiveAnASCIIURL(tail: bytes) -> None:
    url = URLPath.fromBytes(b"http://example.com/" + tail)
    text = str(url)
    assert text.isascii()
    # Navigating never raises, and the result is still a URL of the same site or a link's.
    assert str(url.here()).startswith("http://example.com/")
    assert str(url.parent()).startswith("http://example.com/")
