"""The HTTP client: a pooled Agent with readBody, then the treq-like API, against a small
JSON service served by the same program.

Run: ``hatch run python examples/web_client.py``. Point the URLs at any server instead; HTTPS
URLs are verified against the platform's authorities.
"""

from __future__ import annotations

import json

from glisten.internet import defer, task
from glisten.web import client, resource, server


class Greeter(resource.Resource):
    isLeaf = True

    def render_GET(self, request: server.Request) -> bytes:
        name = request.args.get(b"name", [b"world"])[0].decode()
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"greeting": f"hello, {name}"}).encode()

    def render_POST(self, request: server.Request) -> bytes:
        data = json.loads(request.content.read())
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"sum": sum(data["numbers"])}).encode()


async def main(reactor: object) -> None:
    port = reactor.listenTCP(0, server.Site(Greeter()), interface="127.0.0.1")  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port.getHost().port}/"

    # Twisted's way: an Agent on a pool of persistent connections, and readBody.
    pool = client.HTTPConnectionPool(reactor)
    agent = client.Agent(reactor, pool=pool)
    response = await agent.request(b"GET", base.encode() + b"?name=agent")
    print(response.code, (await client.readBody(response)).decode())

    # The treq-like way: keyword arguments in, .json() out.
    http = client.HTTPClient(agent, reactor=reactor)
    response = await http.get(base, params={"name": "treq-like"})
    print(response.code, await response.json())
    response = await http.post(base, json={"numbers": [1, 2, 3]})
    print(response.code, await response.json())

    await pool.closeCachedConnections()
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
