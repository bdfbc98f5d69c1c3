"""The client writes a message's text and its end in one piece: a separate small ``.CRLF``
write meets Nagle's algorithm and the peer's delayed ACK, and every message then waits tens
of milliseconds for nothing (the 1.1x-Twisted client benchmark)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from glisten.internet.testing import StringTransport
from glisten.mail import smtp


class Recording(StringTransport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)


@pytest.mark.parametrize(
    "makeFile",
    [
        lambda text: io.BytesIO(text),
        lambda text: io.BufferedReader(io.BytesIO(text)),
        lambda text: io.StringIO(text.decode()),
    ],
)
def test_textAndEndInOneWrite(makeFile: Any) -> None:
    text = b"Subject: one write\n\n.dot\n" + b"x" * 5000 + b"\n"
    sent: list[int] = []

    class Client(smtp.ESMTPClient):
        def getMailFrom(self) -> Any:
            return None if sent else "a@b.example"

        def getMailTo(self) -> Any:
            return ["c@d.example"]

        def getMailData(self) -> Any:
            return makeFile(text)

        def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
            sent.append(code)

    client = Client(None, None, b"client.example")
    transport = Recording()
    client.makeConnection(transport)
    client.dataReceived(b"220 hi\r\n")
    client.dataReceived(b"250-hi\r\n250 PIPELINING\r\n")
    client.dataReceived(b"250 ok\r\n250 ok\r\n354 go\r\n")
    [data] = transport.writes[-1:]
    expected = b"Subject: one write\r\n\r\n..dot\r\n" + b"x" * 5000 + b"\r\n.\r\n"
    assert data == expected
    client.dataReceived(b"250 taken\r\n")
    assert sent == [250] and transport.writes[-1] == b"QUIT\r\n"
    client.setTimeout(None)
