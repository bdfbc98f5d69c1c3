"""A web server with one dynamic page and a static folder, fetched once by a client.

Run: ``hatch run python examples/web_hello.py``. A real server would call ``reactor.run()``
instead of fetching its own page; ``glisten web --path .`` does the static part from the shell.
"""

from __future__ import annotations

import http.client
from pathlib import Path

from glisten.internet import defer, task, threads
from glisten.web import resource, server, static


class Hello(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Hello, world!\n"


def fetch(port: int, path: str) -> tuple[int, bytes]:
    """A plain blocking client, run in a thread so the reactor keeps serving."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


async def main(reactor: object) -> None:
    root = resource.Resource()
    root.putChild(b"hello", Hello())
    root.putChild(b"files", static.File(str(Path(__file__).parent)))
    port = reactor.listenTCP(0, server.Site(root), interface="127.0.0.1")  # type: ignore[attr-defined]
    number = port.getHost().port
    for path in ("/hello", "/files/web_hello.py"):
        status, body = await threads.deferToThread(fetch, number, path)
        print(status, path, body.splitlines()[0].decode())
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
