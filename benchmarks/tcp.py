"""TCP transports: glisten's epoll reactor against Twisted's epoll reactor and plain asyncio.

Run with ``hatch run python benchmarks/tcp.py`` (optionally with words selecting cases).

Every case measures itself (the harness runs each implementation in its own subprocess):

- ping-pong: an echo server and clients in one process, each client sending 32 bytes and
  waiting for them to come back before sending again; round trips per second over all clients,
  with 1 and with 100 connections.
- bulk: one connection streams ``BULK_BYTES`` to a server that discards them, the sender
  driven by flow control (a streaming producer; asyncio's pause/resume_writing); bytes/s.
- idle memory: a helper process opens 10,000 connections to a server that keeps them open
  doing nothing; the server process's resident memory growth divided by 10,000 (bytes per
  connection, so lower is better: the printed ratio is asyncio's or Twisted's figure over
  glisten's, to keep "above 1 means glisten is better").
"""

from __future__ import annotations

import gc
import resource
import subprocess
import sys
import time
from typing import Any

from _harness import Case, main

PINGPONG_SECONDS = 1.5
BULK_BYTES = 1 << 30  # 1 GiB
CHUNK = 1 << 16
IDLE_CONNECTIONS = 10_000
MESSAGE = b"x" * 32


def _modules(impl: str) -> tuple[Any, Any]:
    """Return (reactor, protocol module) for glisten or Twisted, both on epoll.

    ``glisten-asyncio`` is glisten's reactor running on a standard asyncio event loop.
    """
    if impl == "glisten-asyncio":
        from glisten.internet import protocol
        from glisten.internet.asyncioreactor import AsyncioSelectorReactor

        return AsyncioSelectorReactor(), protocol
    if impl == "glisten":
        from glisten.internet import protocol
        from glisten.internet.epollreactor import EPollReactor

        return EPollReactor(), protocol
    from twisted.internet import epollreactor

    epollreactor.install()
    from twisted.internet import (
        protocol,  # type: ignore[no-redef]
        reactor,
    )

    return reactor, protocol


# --------------------------------------------------------------------------- ping-pong


def _pingpongFramework(impl: str, connections: int) -> float:
    reactor, protocol = _modules(impl)
    state = {"count": 0, "stopAt": 0.0, "start": 0.0, "ready": 0, "stopping": False}

    class Echo(protocol.Protocol):
        def dataReceived(self, data: bytes) -> None:
            self.transport.write(data)

    class Pinger(protocol.Protocol):
        def connectionMade(self) -> None:
            state["ready"] += 1
            if state["ready"] == connections:
                state["start"] = time.perf_counter()
                state["stopAt"] = state["start"] + PINGPONG_SECONDS
                for p in pingers:
                    p.transport.write(MESSAGE)

        def dataReceived(self, data: bytes) -> None:
            state["count"] += 1
            if state["count"] & 255 == 0 and time.perf_counter() >= state["stopAt"]:
                if not state["stopping"]:
                    state["stopping"] = True
                    state["elapsed"] = time.perf_counter() - state["start"]
                    reactor.stop()
                return
            self.transport.write(data)

    pingers: list[Pinger] = []

    class PingFactory(protocol.ClientFactory):
        noisy = False

        def buildProtocol(self, addr: Any) -> Pinger:
            p = Pinger()
            p.factory = self
            pingers.append(p)
            return p

    serverFactory = protocol.Factory()
    serverFactory.protocol = Echo
    serverFactory.noisy = False
    port = reactor.listenTCP(0, serverFactory, backlog=connections + 10, interface="127.0.0.1")
    for _ in range(connections):
        reactor.connectTCP("127.0.0.1", port.getHost().port, PingFactory())
    reactor.run(installSignalHandlers=False)
    return state["count"] / state["elapsed"]


def _pingpongAsyncio(connections: int) -> float:
    import asyncio

    state = {"count": 0, "stopAt": 0.0, "start": 0.0, "elapsed": 0.0}

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Pinger(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def data_received(self, data: bytes) -> None:
                state["count"] += 1
                if state["count"] & 255 == 0 and time.perf_counter() >= state["stopAt"]:
                    if not done.done():
                        state["elapsed"] = time.perf_counter() - state["start"]
                        done.set_result(None)
                    return
                self.transport.write(data)

        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=connections + 10)
        portNumber = server.sockets[0].getsockname()[1]
        pingers = [
            (await loop.create_connection(Pinger, "127.0.0.1", portNumber))[1]
            for _ in range(connections)
        ]
        state["start"] = time.perf_counter()
        state["stopAt"] = state["start"] + PINGPONG_SECONDS
        for p in pingers:
            p.transport.write(MESSAGE)
        await done
        server.close()

    asyncio.run(run())
    return state["count"] / state["elapsed"]


def pingpong1(impl: str, n: int) -> float:
    return _pingpongAsyncio(1) if impl == "asyncio" else _pingpongFramework(impl, 1)


def pingpong100(impl: str, n: int) -> float:
    return _pingpongAsyncio(100) if impl == "asyncio" else _pingpongFramework(impl, 100)


# --------------------------------------------------------------------------- bulk


def _bulkFramework(impl: str) -> float:
    reactor, protocol = _modules(impl)
    chunk = b"b" * CHUNK
    state = {"received": 0, "start": 0.0, "elapsed": 0.0}

    class Sink(protocol.Protocol):
        def dataReceived(self, data: bytes) -> None:
            state["received"] += len(data)
            if state["received"] >= BULK_BYTES:
                state["elapsed"] = time.perf_counter() - state["start"]
                reactor.stop()

    class Sender(protocol.Protocol):
        sent = 0
        paused = False

        def connectionMade(self) -> None:
            self.transport.registerProducer(self, True)
            state["start"] = time.perf_counter()
            self.resumeProducing()

        def pauseProducing(self) -> None:
            self.paused = True

        def resumeProducing(self) -> None:
            self.paused = False
            write = self.transport.write
            while not self.paused and self.sent < BULK_BYTES:
                write(chunk)
                self.sent += CHUNK

        def stopProducing(self) -> None:
            self.paused = True

    sinkFactory = protocol.Factory()
    sinkFactory.protocol = Sink
    sinkFactory.noisy = False
    senderFactory = protocol.ClientFactory()
    senderFactory.protocol = Sender
    senderFactory.noisy = False
    port = reactor.listenTCP(0, sinkFactory, interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, senderFactory)
    reactor.run(installSignalHandlers=False)
    return state["received"] / state["elapsed"]


def _bulkAsyncio() -> float:
    import asyncio

    chunk = b"b" * CHUNK
    state = {"received": 0, "start": 0.0, "elapsed": 0.0}

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Sink(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                state["received"] += len(data)
                if state["received"] >= BULK_BYTES and not done.done():
                    state["elapsed"] = time.perf_counter() - state["start"]
                    done.set_result(None)

        class Sender(asyncio.Protocol):
            sent = 0
            paused = False

            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                state["start"] = time.perf_counter()
                self.resume_writing()

            def pause_writing(self) -> None:
                self.paused = True

            def resume_writing(self) -> None:
                self.paused = False
                write = self.transport.write
                while not self.paused and self.sent < BULK_BYTES:
                    write(chunk)
                    self.sent += CHUNK

        server = await loop.create_server(Sink, "127.0.0.1", 0)
        portNumber = server.sockets[0].getsockname()[1]
        await loop.create_connection(Sender, "127.0.0.1", portNumber)
        await done
        server.close()

    asyncio.run(run())
    return state["received"] / state["elapsed"]


def pingpong100OnAsyncioLoop(impl: str, n: int) -> float:
    if impl == "asyncio":
        return _pingpongAsyncio(100)
    return _pingpongFramework("glisten-asyncio", 100)


def bulk(impl: str, n: int) -> float:
    return _bulkAsyncio() if impl == "asyncio" else _bulkFramework(impl)


# --------------------------------------------------------------------------- idle memory

_HOLDER = """
import resource, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    held.append(s)
print("connected", flush=True)
sys.stdin.read()
"""


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def _raiseFdLimit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < IDLE_CONNECTIONS + 100:
        raise RuntimeError(f"RLIMIT_NOFILE hard limit {hard} is below {IDLE_CONNECTIONS + 100}")


def _holdConnections(portNumber: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(portNumber), str(IDLE_CONNECTIONS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _idleFramework(impl: str) -> float:
    _raiseFdLimit()
    reactor, protocol = _modules(impl)
    accepted: list[Any] = []
    result: dict[str, float] = {}

    class Idle(protocol.Protocol):
        def connectionMade(self) -> None:
            accepted.append(self)
            if len(accepted) == IDLE_CONNECTIONS:
                reactor.callLater(0.2, measure)

    def measure() -> None:
        gc.collect()
        result["perConnection"] = (_rss() - result["base"]) / IDLE_CONNECTIONS
        reactor.stop()

    factory = protocol.Factory()
    factory.protocol = Idle
    factory.noisy = False
    port = reactor.listenTCP(0, factory, backlog=1024, interface="127.0.0.1")
    gc.collect()
    result["base"] = _rss()
    holder = _holdConnections(port.getHost().port)
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        holder.kill()
        holder.wait()
    return result["perConnection"]


def _idleAsyncio() -> float:
    import asyncio

    _raiseFdLimit()
    accepted: list[Any] = []
    result: dict[str, float] = {}

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Idle(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                accepted.append(self)
                if len(accepted) == IDLE_CONNECTIONS and not done.done():
                    done.set_result(None)

        server = await loop.create_server(Idle, "127.0.0.1", 0, backlog=1024)
        portNumber = server.sockets[0].getsockname()[1]
        gc.collect()
        result["base"] = _rss()
        holder = _holdConnections(portNumber)
        try:
            await done
            await asyncio.sleep(0.2)
            gc.collect()
            result["perConnection"] = (_rss() - result["base"]) / IDLE_CONNECTIONS
        finally:
            holder.kill()
            holder.wait()
        server.close()

    asyncio.run(run())
    return result["perConnection"]


def idleMemory(impl: str, n: int) -> float:
    """Connections per MiB of server memory (so that higher is better, like the others)."""
    perConnection = _idleAsyncio() if impl == "asyncio" else _idleFramework(impl)
    sys.stderr.write(f"{impl}: {perConnection:.0f} bytes per idle connection\n")
    return (1 << 20) / perConnection


if __name__ == "__main__":
    impls = ("glisten", "twisted", "asyncio")
    main(
        [
            Case("ping-pong, 1 connection", pingpong1, impls, selfTimed=True, unit=" rt/s"),
            Case("ping-pong, 100 connections", pingpong100, impls, selfTimed=True, unit=" rt/s"),
            Case(
                "ping-pong, 100 connections, glisten's asyncio reactor",
                pingpong100OnAsyncioLoop,
                ("glisten", "asyncio"),
                selfTimed=True,
                unit=" rt/s",
            ),
            Case("bulk 1 GiB, 1 connection", bulk, impls, selfTimed=True, unit=" B/s"),
            Case(
                "idle connections per MiB (10,000 open)",
                idleMemory,
                impls,
                selfTimed=True,
                unit=" conn/MiB",
            ),
        ]
    )
