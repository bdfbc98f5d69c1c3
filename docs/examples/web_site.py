"""An HTTP site: static files, a dynamic resource and a WSGI application under one root.

``/files/`` serves a folder, ``/hello`` is a :class:`~glisten.web.resource.Resource` and
everything under ``/app/`` goes to a WSGI application (any framework's app object works: Flask,
Django, ...). The program fetches one page of each with Python's own ``http.client`` in a
thread and prints what came back.
"""

from __future__ import annotations

import http.client
import tempfile
from pathlib import Path

from glisten.internet import defer, endpoints, task, threads
from glisten.web import resource, server, static
from glisten.web.wsgi import WSGIResource


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Hello from a Resource"


def wsgiApp(environ: dict[str, object], startResponse: object) -> list[bytes]:
    startResponse("200 OK", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [f"Hello from WSGI at {environ['PATH_INFO']}".encode()]


def fetch(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return f"{response.status} {path} {response.read().decode()}"


async def main(reactor: object, folder: Path) -> None:
    (folder / "note.txt").write_text("a static file")
    root = resource.Resource()
    root.putChild(b"files", static.File(str(folder)))
    root.putChild(b"hello", Hello())
    root.putChild(b"app", WSGIResource(reactor, reactor.getThreadPool(), wsgiApp))  # type: ignore[attr-defined]
    endpoint = endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    port = await endpoint.listen(server.Site(root))
    number = port.getHost().port
    for path in ("/files/note.txt", "/hello", "/app/some/where"):
        print(await threads.deferToThread(fetch, number, path))
    await port.stopListening()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor, Path(tmp))))
