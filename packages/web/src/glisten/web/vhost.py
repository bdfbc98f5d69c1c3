"""Name-based virtual hosting, as in ``twisted.web.vhost``."""

from __future__ import annotations

from typing import Any

from glisten.web import resource


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
        self.hosts: dict[bytes, Any] = {}
        self.default: Any = None

    def listStaticEntities(self) -> list[tuple[bytes, Any]]:
        return list(self.hosts.items())

    def getStaticEntity(self, name: bytes) -> Any:
        return self.hosts.get(name)

    def addHost(self, name: bytes, resrc: Any) -> None:
        """Serve ``resrc`` for host ``name``."""
        self.hosts[name.lower()] = resrc

    def removeHost(self, name: bytes) -> None:
        """Stop serving host ``name``."""
        del self.hosts[name.lower()]

    def _getResourceForRequest(self, request: Any) -> Any:
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

    def render(self, request: Any) -> Any:
        return self._getResourceForRequest(request).render(request)

    def getChild(self, path: bytes, request: Any) -> Any:
        found = self._getResourceForRequest(request)
        if found.isLeaf:
            request.postpath.insert(0, request.prepath.pop(-1))
            return found
        return found.getChildWithDefault(path, request)
