"""Resources: the objects a :class:`glisten.web.server.Site` maps URL paths onto, as in
``twisted.web.resource``.

A request's path is consumed one segment at a time through :meth:`Resource.getChildWithDefault`
until a leaf (or the end of the path), and the resource found renders the request with its
``render_<METHOD>`` method.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from html import escape
from typing import TYPE_CHECKING, Union

from zope.interface import Attribute, Interface, implementer

from glisten.web import http
from glisten.web.error import UnsupportedMethod
from glisten.web.iweb import IRequest, _IRequestEncoder, _IRequestEncoderFactory

if TYPE_CHECKING:
    from glisten.internet.defer import Deferred
    from glisten.web.server import Request as SiteRequest

#: What a render method returns: the body, ``NOT_DONE_YET`` (an ``int``: the resource
#: finishes the request itself), or, in glisten, a Deferred or coroutine giving either.
RenderResult = Union[
    bytes,
    int,
    "Deferred[bytes]",
    "Deferred[int]",
    Coroutine[object, object, bytes | int],
]


class IResource(Interface):
    """A web resource.

    :ivar isLeaf: True if the resource consumes the rest of the path itself.
    """

    isLeaf: bool = Attribute("True if the resource consumes the rest of the path itself.")

    def getChildWithDefault(name: bytes, request: IRequest) -> IResource:
        """The child for one path segment (static children first)."""

    def putChild(path: bytes, child: IResource) -> None:
        """Add a static child."""

    def render(request: IRequest) -> RenderResult:
        """Render: bytes, ``NOT_DONE_YET``, a Deferred, or a coroutine."""


class _IEncodingResource(Interface):
    """A resource that can encode its responses (see :class:`EncodingResourceWrapper`)."""

    def getEncoder(request: IRequest) -> _IRequestEncoder | None:
        """An encoder for the request, or ``None``."""


def getChildForRequest(resource: IResource, request: SiteRequest) -> IResource:
    """Walk ``request.postpath`` down from ``resource``, moving segments to ``prepath``."""
    postpath = request.postpath
    prepath = request.prepath
    while postpath and not resource.isLeaf:
        segment = postpath.pop(0)
        prepath.append(segment)
        resource = resource.getChildWithDefault(segment, request)
    return resource


_RENDER_NAMES: dict[bytes, str] = {}


def _computeAllowedMethods(resource: object) -> list[bytes]:
    return sorted(
        name[len("render_") :].encode("ascii")
        for name in dir(resource)
        if name.startswith("render_") and name[len("render_") :].isupper()
    )


@implementer(IResource)
class Resource:
    """A node in the resource tree.

    Subclass and define ``render_GET``, ``render_POST``... (``render_HEAD`` falls back to
    ``render_GET``), add static children with :meth:`putChild`, or compute children in
    :meth:`getChild`.

    :ivar isLeaf: Whether the resource handles the rest of the path itself.
    :ivar children: Static children by path segment.
    """

    isLeaf: bool = False
    server: object = None

    def __init__(self) -> None:
        self.children: dict[bytes, IResource] = {}

    def listStaticNames(self) -> list[bytes]:
        return list(self.children.keys())

    def listStaticEntities(self) -> list[tuple[bytes, IResource]]:
        return list(self.children.items())

    def getStaticEntity(self, name: bytes) -> IResource | None:
        return self.children.get(name)

    def delEntity(self, name: bytes) -> None:
        del self.children[name]

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        """A dynamic child; the default is a 404 page.

        :param path: The path segment (bytes, percent-decoded).
        """
        return NoResource("No such child resource.")

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        """The static child ``path`` if there is one, else :meth:`getChild`."""
        child = self.children.get(path)
        if child is not None:
            return child
        return self.getChild(path, request)

    def putChild(self, path: bytes, child: IResource) -> None:
        """Add a static child.

        :raises TypeError: ``path`` is not bytes (Twisted only warns; a ``str`` key would
            never match).
        """
        if not isinstance(path, bytes):
            raise TypeError(f"path must be bytes, not {type(path).__name__}")
        self.children[path] = child
        if hasattr(child, "server"):
            child.server = self.server

    def render(self, request: IRequest) -> RenderResult:
        """Call ``render_<METHOD>``.

        :raises UnsupportedMethod: There is none.
        """
        name = _RENDER_NAMES.get(request.method)
        if name is None:
            name = "render_" + request.method.decode("ascii", "replace")
            if len(_RENDER_NAMES) < 64:
                _RENDER_NAMES[request.method] = name
        m = getattr(self, name, None)
        if m is None:
            allowed = getattr(self, "allowedMethods", None)
            if allowed is None:
                allowed = _computeAllowedMethods(self)
            raise UnsupportedMethod(allowed)
        return m(request)

    def render_HEAD(self, request: IRequest) -> RenderResult:
        """HEAD is GET without the body (the codec drops it)."""
        get = getattr(self, "render_GET", None)
        if get is None:
            raise UnsupportedMethod(_computeAllowedMethods(self))
        return get(request)


def _errorBody(brief: str, detail: str, code: int) -> bytes:
    return (
        "<html>\n  <head><title>%d - %s</title></head>\n  <body>\n    <h1>%s</h1>\n"
        "    <p>%s</p>\n  </body>\n</html>\n" % (code, escape(brief), escape(brief), escape(detail))
    ).encode("utf-8")


class ErrorPage(Resource):
    """A page for an error status; ``brief`` and ``detail`` are HTML-escaped, so they may
    contain what the client sent.

    :param status: The status code.
    :param brief: A short title.
    :param detail: A longer explanation.
    """

    isLeaf = False

    def __init__(self, status: int, brief: str, detail: str) -> None:
        super().__init__()
        self.code = status
        self.brief = brief
        self.detail = detail

    def render(self, request: IRequest) -> bytes:
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return _errorBody(self.brief, self.detail, self.code)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        return self


class NoResource(ErrorPage):
    """404 Not Found."""

    def __init__(self, message: str = "Sorry. No luck finding that resource.") -> None:
        super().__init__(http.NOT_FOUND, "No Such Resource", message)


class ForbiddenResource(ErrorPage):
    """403 Forbidden."""

    def __init__(self, message: str = "Sorry, resource is forbidden.") -> None:
        super().__init__(http.FORBIDDEN, "Forbidden Resource", message)


@implementer(IResource, _IEncodingResource)
class EncodingResourceWrapper:
    """Wrap a resource so its responses are encoded (gzip, say) when the client accepts it.

    :param original: The wrapped resource.
    :param encoders: Encoder factories (such as
        :class:`glisten.web.server.GzipEncoderFactory`), tried in order.
    """

    def __init__(self, original: IResource, encoders: Sequence[_IRequestEncoderFactory]) -> None:
        self._original = original
        self._encoders = list(encoders)

    @property
    def isLeaf(self) -> bool:
        return bool(self._original.isLeaf)

    def getChildWithDefault(self, name: bytes, request: IRequest) -> IResource:
        return self._original.getChildWithDefault(name, request)

    def putChild(self, path: bytes, child: IResource) -> None:
        self._original.putChild(path, child)

    def render(self, request: IRequest) -> RenderResult:
        return self._original.render(request)

    def getEncoder(self, request: IRequest) -> _IRequestEncoder | None:
        """The first encoder that accepts the request, or ``None``."""
        for factory in self._encoders:
            encoder = factory.encoderForRequest(request)
            if encoder is not None:
                return encoder
        return None
