"""The agent over HTTP/2: glisten's client against glisten's own HTTP/2 server on real TLS
sockets (ALPN), on one real reactor."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest

from glisten.internet import defer
from glisten.internet.defer import Deferred
from glisten.internet.protocol import Protocol
from glisten.internet.ssl import Certificate, KeyPair
from glisten.internet.task import Cooperator
from glisten.web import server
from glisten.web._http2 import drainHTTP2
from glisten.web.client import (
    Agent,
    BrowserLikePolicyForHTTPS,
    FileBodyProducer,
    HTTPClient,
    HTTPConnectionPool,
    ResponseNeverReceived,
    StreamResetError,
    readBody,
)
from glisten.web.resource import Resource

from ._h2peer import Later

_CERTIFICATE = KeyPair.generate(size=2048).selfSignedCert(1, commonName="localhost")
BIG = bytes(range(256)) * 12288  # 3 MiB: larger than every window on the way


class Waiting(Later):
    """:class:`Later`, and :attr:`arrived` fires when the first request is there."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: Deferred[None] = Deferred()

    def render_GET(self, request: Any) -> Deferred[bytes]:
        d = super().render_GET(request)
        if not self.arrived.called:
            self.arrived.callback(None)
        return d


class Root(Resource):
    """``/conn``: which connection served the request; ``/big``; ``/echo`` (POST: the
    body's length and digest); ``/reset``: the stream is reset; ``/later``: answered when
    the test says."""

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[object] = []
        self.later = Waiting()
        self.putChild(b"later", self.later)

    def getChild(self, path: bytes, request: Any) -> Resource:
        return self.later if path == b"later" else self

    def render_GET(self, request: Any) -> bytes:
        path = request.path
        if path == b"/big":
            return BIG
        if path == b"/reset":
            request.transport.abortConnection()
            return b""
        self.connections.append(getattr(request.channel, "connection", request.channel))
        return request.clientproto

    def render_POST(self, request: Any) -> bytes:
        body = request.content.read()
        return b"%d %s" % (len(body), hashlib.sha256(body).hexdigest().encode())


def run(main: Any, root: Resource, http2: bool = True) -> Any:
    """Serve ``root`` over TLS for ``localhost`` and run ``main(reactor, agentFactory,
    base)``; ``agentFactory(pool=None)`` makes an agent trusting the test certificate."""
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    site = server.Site(root, reactor=reactor)
    site.http2 = http2
    port = reactor.listenSSL(0, site, _CERTIFICATE.options(), interface="127.0.0.1")
    policy = BrowserLikePolicyForHTTPS(Certificate.loadPEM(_CERTIFICATE.dumpPEM()))
    base = f"https://localhost:{port.getHost().port}"
    result: dict[str, Any] = {}

    def agentFactory(pool: HTTPConnectionPool | None = None) -> Agent:
        return Agent(reactor, contextFactory=policy, pool=pool)

    async def go() -> None:
        try:
            result["value"] = await main(reactor, agentFactory, base, site)
        except BaseException as e:
            result["error"] = e

    reactor.callWhenRunning(
        lambda: defer.ensureDeferred(go()).addBoth(lambda _: reactor.callLater(0, reactor.stop))
    )
    guard = reactor.callLater(60, reactor.stop)  # against a hang, not a wait
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    if "error" in result:
        raise result["error"]
    assert "value" in result, "the client did not finish in time"
    return result["value"]


def test_concurrentRequestsShareOneConnection() -> None:
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        responses = await defer.gatherResults(
            [agent.request(b"GET", f"{base}/conn".encode()) for _ in range(20)]
        )
        bodies = await defer.gatherResults([readBody(r) for r in responses])
        versions = {r.version for r in responses}
        # Sequential requests later reuse it too.
        again = await agent.request(b"GET", f"{base}/conn".encode())
        await readBody(again)
        await pool.closeCachedConnections()
        return versions, set(bodies), {r.code for r in responses}

    versions, bodies, codes = run(main, root)
    assert versions == {(b"HTTP", 2, 0)} and bodies == {b"HTTP/2"} and codes == {200}
    assert len(root.connections) == 21 and len(set(map(id, root.connections))) == 1


def test_largeBodiesBothWays() -> None:
    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        response = await agent.request(b"GET", f"{base}/big".encode())
        assert response.length == len(BIG)
        body = await readBody(response)
        coop = Cooperator(scheduler=lambda f: reactor.callLater(0, f))
        upload = FileBodyProducer(io.BytesIO(BIG), cooperator=coop)
        posted = await agent.request(b"POST", f"{base}/echo".encode(), bodyProducer=upload)
        echoed = await readBody(posted)
        await pool.closeCachedConnections()
        return body, echoed

    body, echoed = run(main, Root())
    assert body == BIG
    assert echoed == b"%d %s" % (len(BIG), hashlib.sha256(BIG).hexdigest().encode())


class Pausing(Protocol):
    """Pauses its transport after the first piece of the body; resumes when told."""

    def __init__(self) -> None:
        self.received = 0
        self.done: Deferred[Any] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        if not self.received:
            self.transport.pauseProducing()
        self.received += len(data)

    def connectionLost(self, reason: Any) -> None:
        self.done.callback(reason.type)


def test_pausedBodyHoldsTheServerBack() -> None:
    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        response = await agent.request(b"GET", f"{base}/big".encode())
        reader = Pausing()
        response.deliverBody(reader)
        # Other requests on the connection still go through while this body is paused.
        other = await agent.request(b"GET", f"{base}/conn".encode())
        assert await readBody(other) == b"HTTP/2"
        held = reader.received
        reader.transport.resumeProducing()
        reason = await reader.done
        await pool.closeCachedConnections()
        return held, reader.received, reason

    held, total, reason = run(main, Root())
    # Unacknowledged, the stream's window (1 MiB) bounds what arrives.
    assert 0 < held <= 1 << 20
    assert total == len(BIG)
    assert reason.__name__ == "ResponseDone"


def test_streamResetFailsOnlyThatRequest() -> None:
    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        ok = agent.request(b"GET", f"{base}/conn".encode())
        with pytest.raises(ResponseNeverReceived) as info:
            await agent.request(b"GET", f"{base}/reset".encode())
        response = await ok
        assert await readBody(response) == b"HTTP/2"
        await pool.closeCachedConnections()
        return info.value.reasons[0].value

    error = run(main, Root())
    assert isinstance(error, StreamResetError) and error.errorCode == 2  # INTERNAL_ERROR


def test_goAwayFinishesInFlightRequests() -> None:
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        first = await agent.request(b"GET", f"{base}/conn".encode())
        await readBody(first)
        pending = agent.request(b"GET", f"{base}/later".encode())
        await root.later.arrived
        drained = drainHTTP2(site, reactor)
        # The in-flight request still gets its answer after the server's GOAWAY.
        root.later.pending[0].callback(b"late answer")
        response = await pending
        body = await readBody(response)
        await drained
        # The next request opens a new connection.
        after = await agent.request(b"GET", f"{base}/conn".encode())
        await readBody(after)
        await pool.closeCachedConnections()
        return body

    assert run(main, root) == b"late answer"
    assert len(root.connections) == 2 and root.connections[0] is not root.connections[1]


def test_cancelResetsTheStreamNotTheConnection() -> None:
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        pending = agent.request(b"GET", f"{base}/later".encode())
        await root.later.arrived
        pending.cancel()
        with pytest.raises(ResponseNeverReceived):
            await pending
        response = await agent.request(b"GET", f"{base}/conn".encode())
        body = await readBody(response)
        await pool.closeCachedConnections()
        return body

    assert run(main, root) == b"HTTP/2"


def test_serverWithoutHTTP2FallsBackToHTTP11() -> None:
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        responses = await defer.gatherResults(
            [agent.request(b"GET", f"{base}/conn".encode()) for _ in range(4)]
        )
        bodies = await defer.gatherResults([readBody(r) for r in responses])
        await pool.closeCachedConnections()
        return {r.version for r in responses}, set(bodies)

    versions, bodies = run(main, root, http2=False)
    assert versions == {(b"HTTP", 1, 1)} and bodies == {b"HTTP/1.1"}
    # HTTP/1.1: at most maxPersistentPerHost connections, one request at a time each.
    assert 1 <= len(set(map(id, root.connections))) <= 2


def test_poolWithHTTP2OffSpeaksHTTP11() -> None:
    """``HTTPConnectionPool.http2 = False`` keeps HTTP/1.1 although both sides have HTTP/2."""

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        pool.http2 = False
        response = await agentFor(pool).request(b"GET", f"{base}/conn".encode())
        body = await readBody(response)
        await pool.closeCachedConnections()
        return response.version, body

    assert run(main, Root()) == ((b"HTTP", 1, 1), b"HTTP/1.1")


def test_nonPersistentAgentSpeaksHTTP2Too() -> None:
    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        response = await agentFor().request(b"GET", f"{base}/conn".encode())
        return response.version, await readBody(response)

    assert run(main, Root()) == ((b"HTTP", 2, 0), b"HTTP/2")


def test_httpClientGetsItForFree() -> None:
    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        client = HTTPClient(agentFor(HTTPConnectionPool(reactor)))
        response = await client.get(f"{base}/conn")
        return await response.content()

    assert run(main, Root()) == b"HTTP/2"


def test_responseFailsWhenTheConnectionDrops() -> None:
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        pending = agent.request(b"GET", f"{base}/later".encode())
        await root.later.arrived
        for protocols in pool._active.values():
            for protocol in protocols:
                protocol.transport.abortConnection()
        with pytest.raises(ResponseNeverReceived):
            await pending
        return True

    assert run(main, root)


def test_withoutH2NothingIsOffered() -> None:
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['h2'] = None\n"
        "from glisten.web.client import Agent, HTTPConnectionPool\n"
        "from glisten.internet.testing import MemoryReactor\n"
        "reactor = MemoryReactor()\n"
        "agent = Agent(reactor, pool=HTTPConnectionPool(reactor))\n"
        "assert not agent._endpointFactory.offerHTTP2\n"
        "assert not agent._pool._negotiates((b'https', b'h', 443))\n"
        "assert 'glisten.web._http2client' not in sys.modules\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert out.stdout.strip() == b"ok", out.stderr


def test_aCustomPolicyGetsHTTP11() -> None:
    """A policy of the application's own offers no ALPN (it is not asked to): the server
    answers HTTP/1.1 although it could speak HTTP/2."""

    class Policy:
        def __init__(self) -> None:
            self._inner = BrowserLikePolicyForHTTPS(Certificate.loadPEM(_CERTIFICATE.dumpPEM()))

        def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
            return self._inner.creatorForNetloc(hostname, port)

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        agent = Agent(reactor, contextFactory=Policy(), pool=HTTPConnectionPool(reactor))  # type: ignore[arg-type]
        response = await agent.request(b"GET", f"{base}/conn".encode())
        return response.version, await readBody(response)

    assert run(main, Root()) == ((b"HTTP", 1, 1), b"HTTP/1.1")


def test_moreRequestsThanTheServersStreamLimit() -> None:
    """150 requests at once against a server allowing 100 streams: none is refused; the
    rest wait for a stream or go on a second connection (maxPersistentPerHost 2)."""
    root = Root()

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        pool = HTTPConnectionPool(reactor)
        agent = agentFor(pool)
        uri = f"{base}/conn".encode()
        responses = await defer.gatherResults([agent.request(b"GET", uri) for _ in range(150)])
        bodies = await defer.gatherResults([readBody(r) for r in responses])
        await pool.closeCachedConnections()
        return set(bodies)

    assert run(main, root) == {b"HTTP/2"}
    assert len(root.connections) == 150 and len(set(map(id, root.connections))) <= 2


def test_hostnameCachingPolicyOffersH2Too() -> None:
    from glisten.web.client import HostnameCachingHTTPSPolicy

    async def main(reactor: Any, agentFor: Any, base: str, site: Any) -> Any:
        inner = BrowserLikePolicyForHTTPS(Certificate.loadPEM(_CERTIFICATE.dumpPEM()))
        policy = HostnameCachingHTTPSPolicy(inner)
        agent = Agent(reactor, contextFactory=policy, pool=HTTPConnectionPool(reactor))
        versions = []
        for _ in range(2):
            response = await agent.request(b"GET", f"{base}/conn".encode())
            versions.append((response.version, await readBody(response)))
        return versions, len(policy._cache)

    versions, cached = run(main, Root())
    assert versions == [((b"HTTP", 2, 0), b"HTTP/2")] * 2 and cached == 1
