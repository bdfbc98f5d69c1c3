"""Name-based virtual hosting, as in ``twisted.web.vhost``: :class:`NameVirtualHost` and,
behind a reverse proxy, :class:`VHostMonsterResource`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from glisten.internet.address import IPv4Address
from glisten.web import resource
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, RenderResult

if TYPE_CHECKING:
    from glisten.web.server import Request as SiteRequest

#: A host name or IPv4 address, or a bracketed IPv6 address, with an optional port.
_HOST_PORT = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}))(?::(\d{1,5}))?")


def _hostName(host: bytes) -> bytes:
    host = host.lower()
    if host.startswith(b"["):
        end = host.find(b"]")
        return host[: end + 1] if end > 0 else host
    return host.split(b":", 1)[0]


class NameVirtualHost(resource.Resource):
    """Serve a different resource tree for each ``Host``.

    :ivar default: The tree for unknown hosts; ``None`` answers 404.
    :ivar hosts: Host name (lower-case bytes, no port) -> resource.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hosts: dict[bytes, IResource] = {}
        self.default: IResource | None = None

    def listStaticEntities(self) -> list[tuple[bytes, IResource]]:
        return list(self.hosts.items())

    def getStaticEntity(self, name: bytes) -> IResource | None:
        return self.hosts.get(name)

    def addHost(self, name: bytes, resrc: IResource) -> None:
        """Serve ``resrc`` for host ``name``."""
        self.hosts[name.lower()] = resrc

    def removeHost(self, name: bytes) -> None:
        """Stop serving host ``name``."""
        del self.hosts[name.lower()]

    def _getResourceForRequest(self, request: IRequest) -> IResource:
        host = request.getHeader(b"host")
        if host is None:
            return self.default or resource.NoResource()
        name = _hostName(host)
        found = self.hosts.get(name, self.default)
        if found is None:
            # The host comes from the client: ErrorPage escapes it (Twisted CVE-2022-39348
            # put it into the page raw).
            return resource.NoResource(
                "host %s not in vhost map" % name.decode("ascii", "backslashreplace")
            )
        return found

    def render(self, request: IRequest) -> RenderResult:
        return self._getResourceForRequest(request).render(request)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        found = self._getResourceForRequest(request)
        if found.isLeaf:
            # The resource walk (the only caller) passes a server.Request, which has the paths.
            request = cast("SiteRequest", request)
            request.postpath.insert(0, request.prepath.pop(-1))
            return found
        return found.getChildWithDefault(path, request)


def _setHost(request: Any, host: bytes, port: int, ssl: bool) -> None:
    """Twisted's ``Request.setHost``: make the request look as if it came to
    ``host:port`` (over TLS if ``ssl``), so the URLs it builds point there."""
    setHost = getattr(request, "setHost", None)
    if setHost is not None:
        setHost(host, port, ssl)
        return
    default = 443 if ssl else 80
    hostHeader = host if port == default else b"%s:%d" % (host, port)
    request.requestHeaders.setRawHeaders(b"host", [hostHeader])
    request.host = IPv4Address("TCP", host.decode("ascii"), port)


class VHostMonsterResource(resource.Resource):
    """Lets a reverse proxy say, in the URL, which scheme and host the client used.

    Put at ``/vhost``, a request for ``/vhost/https/example.com:8443/a/b`` is served as
    ``/a/b`` from the site's root, with ``isSecure()`` true and ``example.com:8443`` as its
    host, so redirects and ``prePathURL()`` give the URL the client sees. The scheme segment
    is ``http`` or ``https``; anything else, or a malformed host, is 404. Without a port,
    ``https`` means 443 (Twisted assumes 80 for both).
    """

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        if path not in (b"http", b"https"):
            return resource.NoResource()
        return _VHostHost(path == b"https")


class _VHostHost(resource.Resource):
    """The host segment after the scheme: set it, then walk the rest from the site's root."""

    def __init__(self, secure: bool) -> None:
        super().__init__()
        self.secure = secure

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        # The resource walk (the only caller) passes a server.Request; it is rewritten in place.
        siteRequest: Any = request
        match = _HOST_PORT.fullmatch(path)
        port = int(match.group(2)) if match and match.group(2) else (443 if self.secure else 80)
        if match is None or not 0 < port < 65536:
            return resource.NoResource()
        secure = self.secure
        siteRequest.isSecure = lambda: secure
        _setHost(siteRequest, match.group(1).lower(), port, secure)
        rawPath = siteRequest.path
        _, sep, query = siteRequest.uri.partition(b"?")
        # Everything up to and including the host segment is the monster's: the rest of the
        # path is walked afresh from the site's root, and URLs built from it start there.
        consumed = len(siteRequest.prepath)
        remaining = b"/" + b"/".join(rawPath[1:].split(b"/")[consumed:])
        del siteRequest.prepath[:]
        siteRequest.path = remaining
        siteRequest.uri = remaining + (b"?" + query if sep else b"")
        return siteRequest.site.getResourceFor(siteRequest)
