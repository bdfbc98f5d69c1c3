"""The server on a real reactor and loopback sockets, with Python's http.client as the peer,
plus the slowloris case."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable
from typing import Any

from glisten.web import server
from glisten.web.resource import Resource

Serve = Callable[..., Any]


class Echo(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"GET " + request.uri

    def render_POST(self, request: Any) -> bytes:
        return b"POST " + request.content.read()


def test_httpClientKeepAlive(serveReal: Serve) -> None:
    def client(port: int) -> list[tuple[int, bytes]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        out = []
        for i in range(3):
            conn.request("GET", f"/x?{i}")
            r = conn.getresponse()
            out.append((r.status, r.read()))
        conn.request("POST", "/", body=b"payload")
        r = conn.getresponse()
        out.append((r.status, r.read()))
        # A chunked upload: http.client sends an iterable body chunked.
        conn.request("POST", "/", body=iter([b"ab", b"cd"]), encode_chunked=True)
        r = conn.getresponse()
        out.append((r.status, r.read()))
        conn.close()
        return out

    assert serveReal(Echo(), client) == [
        (200, b"GET /x?0"),
        (200, b"GET /x?1"),
        (200, b"GET /x?2"),
        (200, b"POST payload"),
        (200, b"POST abcd"),
    ]


def test_pipelinedOverSocket(serveReal: Serve) -> None:
    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"".join(b"GET /%d HTTP/1.1\r\nHost: h\r\n\r\n" % i for i in range(20)))
            s.sendall(b"GET /last HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            return data

    data = serveReal(Echo(), client)
    bodies = [
        part.split(b"\r\n\r\n", 1)[1][: len(b"GET /last")]
        for part in data.split(b"HTTP/1.1 200 OK")[1:]
    ]
    assert [b.rstrip(b"H") for b in bodies][:3] == [b"GET /0", b"GET /1", b"GET /2"]
    positions = [data.index(b"GET /%d" % i + (b"H" if i < 10 else b"")) for i in range(20)]
    assert positions == sorted(positions)
    assert data.endswith(b"GET /last")


def test_slowlorisDoesNotBlockOthers(realReactor: Any, serveReal: Serve) -> None:
    """500 connections that never finish their request head do not keep a normal client
    from being served, and they are closed once the header timeout passes."""
    site = server.Site(Echo(), reactor=realReactor)

    class Channel(site.protocol):  # type: ignore[name-defined,misc]
        headerTimeout = 0.5

    site.protocol = Channel

    def client(port: int) -> tuple[int, bytes, int]:
        slow = []
        for _ in range(500):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\nX-Slow: ")
            slow.append(s)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/normal")
        r = conn.getresponse()
        status, body = r.status, r.read()
        conn.close()
        # Every slow connection is answered 408 and closed by the server (recv returns the
        # 408 and then EOF; the socket timeout would raise instead if it hung).
        closed = 0
        for s in slow:
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            closed += data.startswith(b"HTTP/1.1 408 ")
            s.close()
        return status, body, closed

    assert serveReal(site, client) == (200, b"GET /normal", 500)


def test_slowBodyGets408(realReactor: Any, serveReal: Serve) -> None:
    """Over a real socket and clock: a body that falls below the minimum rate is answered 408
    and closed once the window passes (long before the 60 s body timeout); a fast body on
    another connection is served."""
    site = server.Site(Echo(), reactor=realReactor)
    site.minBodyRate = 1000
    site.bodyRateWindow = 0.3

    def client(port: int) -> tuple[bytes, int, bytes]:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
            slow.sendall(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nabc")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/", body=b"y" * 50000)
            r = conn.getresponse()
            status, body = r.status, r.read()
            conn.close()
            data = b""
            while chunk := slow.recv(4096):  # EOF, or the socket's timeout raises
                data += chunk
        return data, status, body

    data, status, body = serveReal(site, client)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert (status, body) == (200, b"POST " + b"y" * 50000)
