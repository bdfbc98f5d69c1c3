"""SMTP: glisten-mail against Twisted Mail (and aiosmtpd for the server).

Cases:

- server: messages accepted per second over 20 connections, 10 KB messages, each written to
  a file and fsynced (file and folder) before the 250. glisten uses its maildir writer;
  Twisted and aiosmtpd get an ``IMessage``/handler doing the same system calls. The load
  comes from a separate process (stdlib asyncio, one message per transaction, no
  pipelining), the same for every server.
- the same without fsync (the protocol's own cost), and as messages per CPU-second of the
  server process (steadier when other work shares the machine);
- client: messages sent per second by ``SMTPClient`` subclasses over 20 connections (each
  sends messages back to back), to a minimal sink server in a separate process; and per
  CPU-second of the client (the sink, a Python process too, often sets the pace on a busy
  machine, hiding what the client costs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from _harness import Case, main

CONNECTIONS = 20
SECONDS = 3.0
MESSAGE = b"Subject: benchmark\r\n\r\n" + (b"x" * 76 + b"\r\n") * 130  # ~10 KB

LOAD = r"""
import asyncio, sys, time
port, seconds, conns = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
body = sys.stdin.buffer.read()
async def reply(r):
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("closed")
        if line[3:4] != b"-":
            return int(line[:3])
async def one(deadline, counts):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    await reply(r)
    w.write(b"EHLO load\r\n"); await reply(r)
    while time.monotonic() < deadline:
        w.write(b"MAIL FROM:<a@load.test>\r\n"); assert await reply(r) == 250
        w.write(b"RCPT TO:<sink@example.com>\r\n"); assert await reply(r) == 250
        w.write(b"DATA\r\n"); assert await reply(r) == 354
        w.write(body + b".\r\n"); assert await reply(r) == 250
        counts[0] += 1
    w.write(b"QUIT\r\n"); await reply(r); w.close()
async def main():
    counts = [0]
    start = time.monotonic()
    await asyncio.gather(*(one(start + seconds, counts) for _ in range(conns)))
    print(counts[0] / (time.monotonic() - start), counts[0])
asyncio.run(main())
"""

SINK = r"""
import asyncio, sys
class Sink(asyncio.Protocol):
    def connection_made(self, t):
        self.t = t; self.data = False; self.buf = b""
        t.write(b"220 sink\r\n")
    def data_received(self, d):
        buf = self.buf + d
        out = []
        while True:
            if self.data:
                i = buf.find(b"\r\n.\r\n")
                if i < 0:
                    buf = buf[-4:]
                    break
                buf = buf[i + 5:]; self.data = False; out.append(b"250 ok\r\n")
                continue
            i = buf.find(b"\r\n")
            if i < 0:
                break
            line, buf = buf[:i], buf[i + 2:]
            verb = line[:4].upper()
            if verb == b"EHLO":
                out.append(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.data = True; buf = b"\r\n" + buf; out.append(b"354 go\r\n")
            elif verb == b"QUIT":
                out.append(b"221 bye\r\n"); self.t.write(b"".join(out)); self.t.close(); return
            else:
                out.append(b"250 ok\r\n")
        self.buf = buf
        if out:
            self.t.write(b"".join(out))
async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def _load(port: int, result: dict[str, float]) -> None:
    cpu = time.process_time()
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, str(port), str(SECONDS), str(CONNECTIONS)],
        input=MESSAGE,
        capture_output=True,
        check=True,
    )
    # The server runs in this process: its CPU time while the load ran.
    cpu = time.process_time() - cpu
    rate, count = proc.stdout.decode().split()
    result["rate"] = float(rate)
    result["perCPU"] = int(count) / max(cpu, 1e-9)


def _fsyncWrite(folder: str, data: bytes) -> None:
    name = f"{time.time_ns()}.{os.getpid()}.{threading.get_ident()}"
    tmp = os.path.join(folder, "tmp", name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, os.path.join(folder, "new", name))
    dfd = os.open(os.path.join(folder, "new"), os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _server(impl: str, fsync: bool, perCPU: bool = False) -> float:
    folder = tempfile.mkdtemp()
    for sub in ("tmp", "new", "cur"):
        os.mkdir(os.path.join(folder, sub))
    result: dict[str, float] = {}
    try:
        if impl == "asyncio":
            _aiosmtpdServer(folder, fsync, result)
            return result["perCPU" if perCPU else "rate"]
        if impl == "glisten":
            from zope.interface import implementer

            from glisten.internet.defer import succeed
            from glisten.internet.epollreactor import EPollReactor
            from glisten.mail import maildir, smtp

            reactor: Any = EPollReactor()
        else:
            from twisted.internet import epollreactor

            epollreactor.install()
            from twisted.internet import reactor  # type: ignore[no-redef]
            from twisted.internet.defer import succeed  # type: ignore[no-redef,assignment]
            from twisted.mail import smtp  # type: ignore[no-redef]
            from zope.interface import implementer

        @implementer(smtp.IMessage)
        class FileMessage:
            def __init__(self) -> None:
                self.lines: list[bytes] = []

            def lineReceived(self, line: bytes) -> None:
                self.lines.append(line)

            def eomReceived(self) -> Any:
                if fsync:
                    _fsyncWrite(folder, b"\n".join(self.lines) + b"\n")
                return succeed(None)

            def connectionLost(self) -> None:
                self.lines = []

        def newMessage() -> Any:
            if impl == "glisten" and fsync:
                name = maildir._generateMaildirName()
                return maildir.MaildirMessage(
                    "sink",
                    None,
                    os.path.join(folder, "tmp", name),
                    os.path.join(folder, "new", name),
                    reactor,
                )
            return FileMessage()

        @implementer(smtp.IMessageDelivery)
        class Delivery:
            def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
                return b"Received: from benchmark"

            def validateFrom(self, helo: Any, origin: Any) -> Any:
                return origin

            def validateTo(self, user: Any) -> Any:
                return newMessage

        class Factory(smtp.SMTPFactory):
            protocol = smtp.ESMTP

            def buildProtocol(self, addr: Any) -> Any:
                p = smtp.SMTPFactory.buildProtocol(self, addr)
                p.delivery = Delivery()
                return p

        port = reactor.listenTCP(0, Factory(), backlog=128, interface="127.0.0.1")

        def run() -> None:
            try:
                _load(port.getHost().port, result)
            finally:
                reactor.callFromThread(reactor.stop)

        reactor.callWhenRunning(threading.Thread(target=run, daemon=True).start)
        reactor.run(installSignalHandlers=False)
    finally:
        shutil.rmtree(folder)
    return result["perCPU" if perCPU else "rate"]


def _aiosmtpdServer(folder: str, fsync: bool, result: dict[str, float]) -> float:
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if fsync:
                _fsyncWrite(folder, b"Received: from benchmark\n" + envelope.content)
            return "250 OK"

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: SMTP(Handler(), hostname="bench"), "127.0.0.1", 0, backlog=128
        )
        port = server.sockets[0].getsockname()[1]
        await asyncio.to_thread(_load, port, result)
        server.close()

    asyncio.run(serve())
    return result["rate"]


def _client(impl: str, perCPU: bool = False) -> float:
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE)
    assert sink.stdout is not None
    port = int(sink.stdout.readline())
    try:
        if impl == "glisten":
            from glisten.internet.epollreactor import EPollReactor
            from glisten.internet.protocol import ClientFactory
            from glisten.mail import smtp

            reactor: Any = EPollReactor()
        else:
            from twisted.internet import epollreactor

            epollreactor.install()
            from twisted.internet import reactor  # type: ignore[no-redef]
            from twisted.internet.protocol import ClientFactory  # type: ignore[no-redef,assignment]
            from twisted.mail import smtp  # type: ignore[no-redef]
        import io

        state = {"sent": 0, "open": CONNECTIONS}
        deadline = time.monotonic() + SECONDS

        class Sender(smtp.ESMTPClient):
            def getMailFrom(self) -> Any:
                return "a@bench.test" if time.monotonic() < deadline else None

            def getMailTo(self) -> Any:
                return ["sink@example.com"]

            def getMailData(self) -> Any:
                return io.BytesIO(MESSAGE)

            def sentMail(self, code: int, resp: Any, numOk: int, addresses: Any, log: Any) -> None:
                state["sent"] += 1

            def connectionLost(self, reason: Any = None) -> None:
                state["open"] -= 1
                if not state["open"]:
                    reactor.stop()

        class Factory(ClientFactory):
            def buildProtocol(self, addr: Any) -> Any:
                p = Sender(None, None, b"bench.test")
                p.factory = self
                return p

        start = time.monotonic()
        cpu = time.process_time()
        for _ in range(CONNECTIONS):
            reactor.connectTCP("127.0.0.1", port, Factory())
        reactor.run(installSignalHandlers=False)
        if perCPU:
            return state["sent"] / max(time.process_time() - cpu, 1e-9)
        return state["sent"] / (time.monotonic() - start)
    finally:
        sink.kill()
        sink.wait()


def serverFsync(impl: str, n: int) -> float:
    return _server(impl, fsync=True)


def serverNoFsync(impl: str, n: int) -> float:
    return _server(impl, fsync=False)


def serverPerCPU(impl: str, n: int) -> float:
    return _server(impl, fsync=False, perCPU=True)


def client(impl: str, n: int) -> float:
    return _client(impl)


def clientPerCPU(impl: str, n: int) -> float:
    return _client(impl, perCPU=True)


if __name__ == "__main__":
    impls = ("glisten", "twisted", "asyncio")
    main(
        [
            Case(
                "server 10 KB, 20 conns, fsync (asyncio=aiosmtpd)",
                serverFsync,
                impls,
                selfTimed=True,
                unit=" msg/s",
            ),
            Case(
                "server 10 KB, 20 conns, no fsync (asyncio=aiosmtpd)",
                serverNoFsync,
                impls,
                selfTimed=True,
                unit=" msg/s",
            ),
            Case(
                "server 10 KB, 20 conns, no fsync, per server CPU-second",
                serverPerCPU,
                impls,
                selfTimed=True,
                unit=" msg/cpu-s",
            ),
            Case("client 10 KB, 20 conns", client, selfTimed=True, unit=" msg/s"),
            Case(
                "client 10 KB, 20 conns, per client CPU-second",
                clientPerCPU,
                selfTimed=True,
                unit=" msg/cpu-s",
            ),
        ]
    )
