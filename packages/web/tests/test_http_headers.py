"""glisten.web.http_headers.Headers."""

from __future__ import annotations

import pytest

from glisten.web.http_headers import Headers


def test_basics() -> None:
    h = Headers({b"Content-Type": [b"text/html"]})
    assert h.hasHeader(b"content-type") and h.hasHeader("CONTENT-TYPE")
    assert h.getRawHeaders(b"content-type") == [b"text/html"]
    assert h.getRawHeaders("content-type") == ["text/html"]
    assert h.getRawHeaders(b"missing") is None
    assert h.getRawHeaders(b"missing", []) == []
    h.addRawHeader(b"X-A", b"1")
    h.addRawHeader("x-a", "2")
    assert h.getRawHeaders(b"x-a") == [b"1", b"2"]
    h.setRawHeaders(b"x-a", [b"3"])
    assert h.getRawHeaders(b"X-A") == [b"3"]
    h.removeHeader(b"x-a")
    h.removeHeader(b"x-a")
    assert not h.hasHeader(b"x-a")
    assert list(h.getAllRawHeaders()) == [(b"Content-Type", [b"text/html"])]
    c = h.copy()
    c.addRawHeader(b"content-type", b"x")
    assert h != c and h.getRawHeaders(b"content-type") == [b"text/html"]
    assert "text/html" in repr(h)


def test_unicodeValues() -> None:
    h = Headers()
    h.setRawHeaders("x-name", ["é"])
    assert h.getRawHeaders(b"x-name") == ["é".encode()]


def test_newlinesNeutralized() -> None:
    h = Headers()
    h.setRawHeaders(b"x", [b"a\r\nSet-Cookie: b", b"c\nd", b"e\rf"])
    assert h.getRawHeaders(b"x") == [b"a Set-Cookie: b", b"c d", b"e f"]


@pytest.mark.parametrize("name", [b"bad name", b"a:b", b"", "é", b"x\x00"])
def test_invalidNames(name: bytes | str) -> None:
    with pytest.raises(ValueError):
        Headers().setRawHeaders(name, [b"v"])


def test_singleStringRefused() -> None:
    with pytest.raises(TypeError):
        Headers().setRawHeaders(b"x", b"value")  # type: ignore[arg-type]


def test_reprAsTwisted() -> None:
    """Twisted: ``Headers({b'Foo': [b'bar']})``, with the subclass's own name."""
    from glisten.web.http_headers import Headers

    assert repr(Headers({b"foo": [b"bar"]})) == "Headers({b'Foo': [b'bar']})"

    class MyHeaders(Headers):
        __slots__ = ()

    assert repr(MyHeaders({b"x-thing": [b"1", b"2"]})) == "MyHeaders({b'X-Thing': [b'1', b'2']})"


def test_invalidHeaderName() -> None:
    import pytest

    from glisten.web.http_headers import Headers, InvalidHeaderName

    assert issubclass(InvalidHeaderName, ValueError)
    for bad in (b"bad name", b"", "caf\xe9", b"a:b"):
        with pytest.raises(InvalidHeaderName):
            Headers().addRawHeader(bad, b"v")
    with pytest.raises(InvalidHeaderName):
        Headers({b"bad name": [b"v"]})
