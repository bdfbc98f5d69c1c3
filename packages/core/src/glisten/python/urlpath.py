"""``URLPath``: a URL to navigate relative to, as in ``twisted.python.urlpath``.

Web code builds links from the URL of the current request: ``here()`` (its folder),
``child(b"x")``, ``sibling(b"y")``, ``parent()`` (the folder above), ``click(href)`` (where a
browser would go). Parts are kept as ``bytes`` (assigning text encodes it); ``str()`` gives
the URL as text, with anything outside ASCII percent-encoded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, unquote_to_bytes, urljoin, urlsplit, urlunsplit

__all__ = ["URLPath"]

#: What stays as it is when a URL's path and query are made ASCII: the characters a URL
#: may hold (RFC 3986) and ``%`` escapes already there.
_KEEP = "/%:@!$&'()*+,;=-._~?#[]"


def _ascii(part: bytes) -> bytes:
    """``part`` with every byte a URL cannot hold percent-encoded."""
    return quote(part, safe=_KEEP).encode("ascii")


def _toBytes(value: bytes | str, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise ValueError(f"{what} must be bytes or str, not {type(value).__name__}")


class _Part:
    """An attribute stored as bytes; text assigned to it is encoded."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return getattr(instance, self.name)

    def __set__(self, instance: Any, value: bytes | str) -> None:
        setattr(instance, self.name, _toBytes(value, self.name[1:]))


class URLPath:
    """A URL split into its parts, each ``bytes``.

    :param scheme: ``b"http"`` if empty.
    :param netloc: The host (and port, user).
    :param path: ``b"/"`` if empty.
    :param query: Without the ``?``.
    :param fragment: Without the ``#``.
    """

    scheme = _Part()
    netloc = _Part()
    path = _Part()
    query = _Part()
    fragment = _Part()

    def __init__(
        self,
        scheme: bytes | str = b"",
        netloc: bytes | str = b"localhost",
        path: bytes | str = b"",
        query: bytes | str = b"",
        fragment: bytes | str = b"",
    ) -> None:
        self.scheme = scheme or b"http"
        self.netloc = netloc
        self.path = path or b"/"
        self.query = query
        self.fragment = fragment

    @classmethod
    def fromBytes(cls, url: bytes) -> URLPath:
        """Parse a URL given as bytes (bytes outside ASCII are percent-encoded).

        :raises ValueError: ``url`` is not bytes.
        """
        if not isinstance(url, bytes):
            raise ValueError(f"fromBytes wants bytes, not {type(url).__name__}")
        scheme, netloc, path, query, fragment = urlsplit(_ascii(url))
        return cls(scheme, netloc, path, query, fragment)

    @classmethod
    def fromString(cls, url: str) -> URLPath:
        """Parse a URL given as text (characters outside ASCII are UTF-8 percent-encoded).

        :raises ValueError: ``url`` is not ``str``.
        """
        if not isinstance(url, str):
            raise ValueError(f"fromString wants str, not {type(url).__name__}")
        return cls.fromBytes(url.encode("utf-8"))

    @classmethod
    def fromRequest(cls, request: Any) -> URLPath:
        """The URL of the resource ``request`` has reached (its ``prePathURL()``)."""
        return cls.fromBytes(request.prePathURL())

    def pathList(self, unquote: bool = False, copy: bool = True) -> list[bytes]:
        """The path's segments (``b"/a/b"`` gives ``[b"", b"a", b"b"]``).

        :param unquote: Decode percent escapes in each segment.
        :param copy: Accepted for compatibility; a new list is always returned.
        """
        segments = self.path.split(b"/")
        if unquote:
            return [unquote_to_bytes(s) for s in segments]
        return segments

    def _withPath(self, segments: list[bytes], keepQuery: bool) -> URLPath:
        return URLPath(
            self.scheme, self.netloc, b"/".join(segments), self.query if keepQuery else b""
        )

    def sibling(self, path: bytes, keepQuery: bool = False) -> URLPath:
        """The URL of ``path`` in the same folder (``/a/b`` -> ``/a/path``)."""
        segments = self.pathList()
        segments[-1] = _toBytes(path, "path")
        return self._withPath(segments, keepQuery)

    def child(self, path: bytes, keepQuery: bool = False) -> URLPath:
        """The URL of ``path`` below this one (``/a/b`` -> ``/a/b/path``)."""
        segments = self.pathList()
        segment = _toBytes(path, "path")
        if segments[-1] == b"":
            segments[-1] = segment
        else:
            segments.append(segment)
        return self._withPath(segments, keepQuery)

    def parent(self, keepQuery: bool = False) -> URLPath:
        """The folder above this URL's folder, like ``..`` (``/a/b`` -> ``/``,
        ``/a/b/`` -> ``/a/``); the root's parent is the root."""
        folder = self.pathList()[:-1]
        if len(folder) > 1:
            folder.pop()
        return self._withPath([*folder, b""], keepQuery)

    def here(self, keepQuery: bool = False) -> URLPath:
        """This URL's folder, like ``.`` (``/a/b`` -> ``/a/``)."""
        segments = self.pathList()
        segments[-1] = b""
        return self._withPath(segments, keepQuery)

    def click(self, st: bytes | str) -> URLPath:
        """Where a browser goes from here on a link to ``st`` (an absolute or relative URL)."""
        return URLPath.fromBytes(urljoin(str(self), _toBytes(st, "link").decode("utf-8")).encode())

    def _parts(self) -> tuple[bytes, bytes, bytes, bytes, bytes]:
        return (self.scheme, self.netloc, self.path, self.query, self.fragment)

    def __str__(self) -> str:
        return urlunsplit([_ascii(p).decode("ascii") for p in self._parts()])

    def __repr__(self) -> str:
        scheme, netloc, path, query, fragment = self._parts()
        return (
            f"URLPath(scheme={scheme!r}, netloc={netloc!r}, path={path!r}, "
            f"query={query!r}, fragment={fragment!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, URLPath):
            return NotImplemented
        return self._parts() == other._parts()

    def __hash__(self) -> int:
        return hash(self._parts())
