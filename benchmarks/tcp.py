"""TCP transports: glisten's epoll reactor against Twisted's epoll reactor and plain asyncio.

Run with ``hatch run python benchmarks/tcp.py`` (optionally with words selecting cases).

Every case measures itself (the harness runs each implementation in its own subprocess), and
the three implementations do the same work in the same shape: server and clients in one
process and one event loop, a Protocol whose receive callback writes back (no futures or
coroutines per message), TCP_NODELAY on every connection (asyncio's default; set explicitly
for glisten and Twisted), the same 64 KiB write-buffer high-water mark (every one's default),
and each implementation's own read size (Twisted 64 KiB; asyncio 256 KiB; glisten 64 KiB,
doubling up to 1 MiB while reads come back full).

- ping-pong: an echo server and clients, each client sending 32 bytes and sending them again
  when they come back; round trips per second over all clients (echoed bytes received by the
  clients up to the moment the clock stops, divided by 32), with 1 and with 100 connections.
- bulk: one connection streams ``BULK_BYTES`` to a server that discards them, the sender
  driven by flow control (a streaming producer; asyncio's pause/resume_writing); bytes/s as
  counted by the receiving side.
- idle memory: a helper process opens ``WARM_CONNECTIONS`` connections (so that one-time costs
  of the first accepts stay out of the figure), then 10,000 more to a server that keeps them
  open doing nothing; the server process's resident memory growth over those 10,000 divided by
  10,000, printed as connections per MiB so that higher is better like the other cases.

The harness primes glibc's allocator in every worker process alike (see ``_harness``): without
it asyncio's 256 KiB reads cost an mmap/mremap/munmap each in a fresh process
(python/cpython#85451), a third of its round trips and throughput.
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
WARM_CONNECTIONS = 100
MESSAGE = b"x" * 32


def _modules(impl: str) -> tuple[Any, Any]:
    """Return (reactor, protocol module) for glisten or Twisted, both on epoll.

    ``glisten-asyncio`` is glisten's reactor running on a standard asyncio event loop,
    ``glisten-uvloop`` the same on a uvloop loop.
    """
    if impl in ("glisten-asyncio", "glisten-uvloop"):
        from glisten.internet import protocol
        from glisten.internet.asyncioreactor import AsyncioSelectorReactor

        if impl == "glisten-uvloop":
            import uvloop

            return AsyncioSelectorReactor(uvloop.new_event_loop()), protocol
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


def _pingpongResult(state: dict[str, Any]) -> float:
    """Round trips per second, after checking that the bytes really went both ways."""
    received = state["frozenReceived"]
    if received % len(MESSAGE) or received > state["echoed"]:
        raise RuntimeError(f"clients got {received} bytes but the server echoed {state['echoed']}")
    return received / len(MESSAGE) / state["elapsed"]


def _newPingpongState() -> dict[str, Any]:
    return {"received": 0, "echoed": 0, "calls": 0, "start": 0.0, "stopAt": 0.0, "ready": 0}


def _pingpongFramework(impl: str, connections: int) -> float:
    reactor, protocol = _modules(impl)
    state = _newPingpongState()

    class Echo(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)

        def dataReceived(self, data: bytes) -> None:
            state["echoed"] += len(data)
            self.transport.write(data)

    class Pinger(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)
            state["ready"] += 1
            if state["ready"] == connections:
                state["start"] = time.perf_counter()
                state["stopAt"] = state["start"] + PINGPONG_SECONDS
                for p in pingers:
                    p.transport.write(MESSAGE)

        def dataReceived(self, data: bytes) -> None:
            state["received"] += len(data)
            state["calls"] += 1
            if state["calls"] & 255 == 0 and time.perf_counter() >= state["stopAt"]:
                if "elapsed" not in state:
                    state["elapsed"] = time.perf_counter() - state["start"]
                    state["frozenReceived"] = state["received"]
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
    return _pingpongResult(state)


def _pingpongAsyncio(connections: int) -> float:
    import asyncio

    state = _newPingpongState()

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            state["echoed"] += len(data)
            self.transport.write(data)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Pinger(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                state["ready"] += 1
                if state["ready"] == connections:
                    state["start"] = time.perf_counter()
                    state["stopAt"] = state["start"] + PINGPONG_SECONDS
                    for p in pingers:
                        p.transport.write(MESSAGE)

            def data_received(self, data: bytes) -> None:
                state["received"] += len(data)
                state["calls"] += 1
                if state["calls"] & 255 == 0 and time.perf_counter() >= state["stopAt"]:
                    if "elapsed" not in state:
                        state["elapsed"] = time.perf_counter() - state["start"]
                        state["frozenReceived"] = state["received"]
                        done.set_result(None)
                    return
                self.transport.write(data)

        pingers: list[Pinger] = []

        def buildPinger() -> Pinger:
            p = Pinger()
            pingers.append(p)
            return p

        # asyncio turns TCP_NODELAY on by itself for every TCP transport.
        server = await loop.create_server(Echo, "127.0.0.1", 0, backlog=connections + 10)
        portNumber = server.sockets[0].getsockname()[1]
        # Connect concurrently and start when the last one is made, as connectTCP does above.
        await asyncio.gather(
            *(
                loop.create_connection(buildPinger, "127.0.0.1", portNumber)
                for _ in range(connections)
            )
        )
        await done
        server.close()

    asyncio.run(run())
    return _pingpongResult(state)


def pingpong1(impl: str, n: int) -> float:
    return _pingpongAsyncio(1) if impl == "asyncio" else _pingpongFramework(impl, 1)


def pingpong100(impl: str, n: int) -> float:
    return _pingpongAsyncio(100) if impl == "asyncio" else _pingpongFramework(impl, 100)


# --------------------------------------------------------------------------- bulk


def _bulkResult(state: dict[str, Any], sent: int) -> float:
    """Bytes per second, after checking that the receiver got exactly what was sent."""
    if state["received"] != BULK_BYTES or sent != BULK_BYTES:
        raise RuntimeError(f"sent {sent} bytes, received {state['received']} of {BULK_BYTES}")
    return state["received"] / state["elapsed"]


def _bulkFramework(impl: str) -> float:
    reactor, protocol = _modules(impl)
    chunk = b"b" * CHUNK
    state = {"received": 0, "start": 0.0, "elapsed": 0.0}

    class Sink(protocol.Protocol):
        def connectionMade(self) -> None:
            self.transport.setTcpNoDelay(True)

        def dataReceived(self, data: bytes) -> None:
            state["received"] += len(data)
            if state["received"] >= BULK_BYTES:
                state["elapsed"] = time.perf_counter() - state["start"]
                reactor.stop()

    class Sender(protocol.Protocol):
        sent = 0
        paused = False

        def connectionMade(self) -> None:
            senders.append(self)
            self.transport.setTcpNoDelay(True)
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

    senders: list[Sender] = []
    sinkFactory = protocol.Factory()
    sinkFactory.protocol = Sink
    sinkFactory.noisy = False
    senderFactory = protocol.ClientFactory()
    senderFactory.protocol = Sender
    senderFactory.noisy = False
    port = reactor.listenTCP(0, sinkFactory, interface="127.0.0.1")
    reactor.connectTCP("127.0.0.1", port.getHost().port, senderFactory)
    reactor.run(installSignalHandlers=False)
    return _bulkResult(state, senders[0].sent)


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
                senders.append(self)
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

        # asyncio turns TCP_NODELAY on by itself for every TCP transport.
        server = await loop.create_server(Sink, "127.0.0.1", 0)
        portNumber = server.sockets[0].getsockname()[1]
        await loop.create_connection(Sender, "127.0.0.1", portNumber)
        await done
        server.close()

    senders: list[Any] = []
    asyncio.run(run())
    return _bulkResult(state, senders[0].sent)


def pingpong100OnAsyncioLoop(impl: str, n: int) -> float:
    if impl == "asyncio":
        return _pingpongAsyncio(100)
    return _pingpongFramework("glisten-asyncio", 100)


def pingpong100OnUvloop(impl: str, n: int) -> float:
    """glisten's asyncio reactor on a uvloop loop against plain asyncio Protocols on uvloop."""
    if impl == "asyncio":
        import asyncio

        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        return _pingpongAsyncio(100)
    return _pingpongFramework("glisten-uvloop", 100)


def bulk(impl: str, n: int) -> float:
    return _bulkAsyncio() if impl == "asyncio" else _bulkFramework(impl)


# --------------------------------------------------------------------------- idle memory

_HOLDER = """
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, warm, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
held = []
for n in (warm, count):
    for _ in range(n):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        held.append(s)
    sys.stdin.readline()  # the server has measured its baseline (or finished)
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
    needed = WARM_CONNECTIONS + IDLE_CONNECTIONS + 100
    if hard < needed:
        raise RuntimeError(f"RLIMIT_NOFILE hard limit {hard} is below {needed}")


class _IdleMeter:
    """The part of the idle-memory case that is the same for every implementation.

    A helper process opens ``WARM_CONNECTIONS`` connections; once the server has accepted them
    :meth:`accepted` takes the baseline and lets the helper open ``IDLE_CONNECTIONS`` more;
    once those are in (and 0.2 s later, see :meth:`measure`) the growth is divided by their
    number.
    """

    def __init__(self, portNumber: int) -> None:
        self.count = 0
        self.base = 0
        self.perConnection = 0.0
        self.holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _HOLDER,
                str(portNumber),
                str(WARM_CONNECTIONS),
                str(IDLE_CONNECTIONS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )

    def accepted(self) -> bool:
        """Count one accepted connection.

        :return: whether all idle connections are in (the caller then waits 0.2 s and calls
            :meth:`measure`).
        """
        self.count += 1
        if self.count == WARM_CONNECTIONS:
            gc.collect()
            self.base = _rss()
            self._tellHolder()
        return self.count == WARM_CONNECTIONS + IDLE_CONNECTIONS

    def measure(self) -> None:
        gc.collect()
        self.perConnection = (_rss() - self.base) / IDLE_CONNECTIONS

    def _tellHolder(self) -> None:
        assert self.holder.stdin is not None
        self.holder.stdin.write("go\n")
        self.holder.stdin.flush()

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()


def _idleFramework(impl: str) -> float:
    _raiseFdLimit()
    reactor, protocol = _modules(impl)
    accepted: list[Any] = []

    class Idle(protocol.Protocol):
        def connectionMade(self) -> None:
            accepted.append(self)
            if meter.accepted():
                reactor.callLater(0.2, measure)

    def measure() -> None:
        meter.measure()
        reactor.stop()

    factory = protocol.Factory()
    factory.protocol = Idle
    factory.noisy = False
    port = reactor.listenTCP(0, factory, backlog=1024, interface="127.0.0.1")
    meter = _IdleMeter(port.getHost().port)
    try:
        reactor.run(installSignalHandlers=False)
    finally:
        meter.close()
    if len(accepted) != WARM_CONNECTIONS + IDLE_CONNECTIONS:
        raise RuntimeError(f"only {len(accepted)} connections accepted")
    return meter.perConnection


def _idleAsyncio() -> float:
    import asyncio

    _raiseFdLimit()
    accepted: list[Any] = []
    meters: list[_IdleMeter] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        class Idle(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport
                accepted.append(self)
                if meter.accepted():
                    done.set_result(None)

        server = await loop.create_server(Idle, "127.0.0.1", 0, backlog=1024)
        meter = _IdleMeter(server.sockets[0].getsockname()[1])
        meters.append(meter)
        try:
            await done
            await asyncio.sleep(0.2)
            meter.measure()
        finally:
            meter.close()
        server.close()

    asyncio.run(run())
    if len(accepted) != WARM_CONNECTIONS + IDLE_CONNECTIONS:
        raise RuntimeError(f"only {len(accepted)} connections accepted")
    return meters[0].perConnection


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
            Case(
                "ping-pong, 100 connections, both on uvloop",
                pingpong100OnUvloop,
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
