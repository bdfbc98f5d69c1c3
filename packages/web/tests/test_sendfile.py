"""Large static files over real sockets: sent with ``sendfile`` on plain TCP, read in chunks
where the connection cannot (the in-memory transport of the other tests), whole and in
ranges, and a file that shrinks while it is sent."""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from glisten.web.static import File

Serve = Callable[..., Any]
BODY = bytes(range(256)) * 8192  # 2 MiB


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "big.bin").write_bytes(BODY)
    return tmp_path


@pytest.fixture
def sendfileCalls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The byte counts ``os.sendfile`` sent, in order."""
    calls: list[int] = []
    real = os.sendfile

    def counting(out: int, in_: int, offset: int | None, count: int) -> int:
        sent = real(out, in_, offset, count)
        calls.append(sent)
        return sent

    monkeypatch.setattr(os, "sendfile", counting)
    return calls


def test_largeFileWithSendfile(serveReal: Serve, folder: Path, sendfileCalls: list[int]) -> None:
    def client(port: int) -> list[tuple[int, bytes]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        for _ in range(2):  # the connection stays usable after a sendfile body
            conn.request("GET", "/big.bin")
            r = conn.getresponse()
            out.append((r.status, r.read()))
        conn.close()
        return out

    assert serveReal(File(str(folder)), client) == [(200, BODY), (200, BODY)]
    assert sum(sendfileCalls) == 2 * len(BODY)


def test_rangesWithSendfile(serveReal: Serve, folder: Path, sendfileCalls: list[int]) -> None:
    def client(port: int) -> tuple[Any, ...]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/big.bin", headers={"Range": "bytes=100000-1199999"})
        single = conn.getresponse()
        singleBody = single.read()
        conn.request("GET", "/big.bin", headers={"Range": "bytes=0-9,1000000-1099999"})
        multi = conn.getresponse()
        multiBody = multi.read()
        conn.close()
        return single.status, singleBody, multi.status, multi.getheader("content-type"), multiBody

    status, body, mstatus, mtype, mbody = serveReal(File(str(folder)), client)
    assert (status, body) == (206, BODY[100000:1200000])
    assert mstatus == 206 and mtype.startswith("multipart/byteranges; boundary=")
    boundary = mtype.split("=", 1)[1].encode()
    parts = mbody.split(b"--" + boundary)
    assert parts[1].endswith(b"\r\n\r\n" + BODY[:10] + b"\r\n")
    assert parts[2].endswith(b"\r\n\r\n" + BODY[1000000:1100000] + b"\r\n")
    assert parts[3] == b"--\r\n"
    assert sum(sendfileCalls) == 1100000 + 10 + 100000


def test_shrinkingFileClosesTheConnection(serveReal: Serve, folder: Path) -> None:
    """The promised Content-Length cannot be kept: the client sees a short body and a closed
    connection, not a hang."""
    # Larger than loopback's socket buffers can hold, so most of it is still to be sent when
    # the client cuts the file.
    path = folder / "huge.bin"
    with open(path, "wb") as f:
        f.truncate(64 * 1024 * 1024)

    def client(port: int) -> tuple[int, int]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /huge.bin HTTP/1.1\r\nHost: h\r\n\r\n")
            data = s.recv(4096)
            # Cut the file while most of it is still to be sent.
            os.truncate(path, 1000)
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        return length, len(body)

    length, received = serveReal(File(str(folder)), client)
    assert length == 64 * 1024 * 1024 and received < length
