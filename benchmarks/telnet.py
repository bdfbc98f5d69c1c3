"""Telnet and terminal input speed, glisten against Twisted.

Each operation feeds one stream to fresh protocols: 64 KiB of Telnet text (CR LF lines, some
escaped IAC bytes and option negotiations) in 1024- or 64-byte chunks; 8 KiB of keystrokes
(letters, arrows, function keys) to ``insults.ServerProtocol`` in 16-byte chunks; and the same
keystrokes typed into ``recvline.HistoricRecvLine`` (line editing and its screen output).
"""

from __future__ import annotations

from typing import Any

from _harness import Case, main


def _telnetStream() -> bytes:
    parts = []
    for i in range(1700):
        parts.append(b"line %d of text, with a few words in it\r\n" % i)
        if i % 50 == 0:
            parts.append(b"\xff\xff\xff\xfb\x1f\xff\xfd\x01")  # escaped IAC, WILL NAWS, DO ECHO
    stream = b"".join(parts)
    return stream[: 64 * 1024]


def _keyStream() -> bytes:
    keys = b"abcdefgh\x1b[D\x1b[Cxyz\x7f\x1b[A\x1b[B\x1bOP\x1b[15~1+1\r"
    return (keys * (8192 // len(keys) + 1))[:8192].rsplit(b"\x1b", 1)[0]


def _chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class _Transport:
    disconnecting = False

    def write(self, data: bytes) -> None:
        pass

    def writeSequence(self, data: Any) -> None:
        pass

    def loseConnection(self) -> None:
        pass

    def getPeer(self) -> None:
        return None

    def getHost(self) -> None:
        return None


def _modules(impl: str) -> Any:
    if impl == "glisten":
        from glisten.conch import recvline, telnet
        from glisten.conch.insults import insults
    else:
        from twisted.conch import recvline, telnet  # type: ignore[no-redef]
        from twisted.conch.insults import insults  # type: ignore[no-redef]
    return telnet, insults, recvline


def _telnetCase(chunkSize: int) -> Any:
    def run(impl: str, n: int) -> None:
        telnet, _, _ = _modules(impl)
        chunks = _chunked(_telnetStream(), chunkSize)
        got = [0]

        class Sink(telnet.TelnetProtocol):  # type: ignore[misc, name-defined]
            def dataReceived(self, data: bytes) -> None:
                got[0] += len(data)

        for _ in range(n):
            proto = telnet.TelnetTransport(Sink)
            proto.makeConnection(_Transport())
            received = proto.dataReceived
            for chunk in chunks:
                received(chunk)
        assert got[0] > 60000 * n, got

    return run


def _keysCase(run: str) -> Any:
    def measure(impl: str, n: int) -> None:
        _, insults, recvline = _modules(impl)
        chunks = _chunked(_keyStream(), 16)
        count = [0]

        class Keys(insults.TerminalProtocol):  # type: ignore[misc, name-defined]
            def keystrokeReceived(self, keyID: bytes, modifier: Any) -> None:
                count[0] += 1

        class Lines(recvline.HistoricRecvLine):  # type: ignore[misc, name-defined]
            def lineReceived(self, line: bytes) -> None:
                count[0] += 1

        factory = Keys if run == "keys" else Lines
        for _ in range(n):
            proto = insults.ServerProtocol(factory)
            proto.makeConnection(_Transport())
            received = proto.dataReceived
            for chunk in chunks:
                received(chunk)
        assert count[0] > 0

    return measure


CASES = [
    Case("Telnet text, 1024-byte chunks", _telnetCase(1024)),
    Case("Telnet text, 64-byte chunks", _telnetCase(64)),
    Case("insults keystrokes, 16-byte chunks", _keysCase("keys")),
    Case("HistoricRecvLine typing, 16-byte chunks", _keysCase("lines")),
]

if __name__ == "__main__":
    main(CASES)
