"""HTTP/2 over real TLS sockets: ALPN chooses ``h2`` (or ``http/1.1``) on a Site listening
with glisten's ``CertificateOptions``, the path ``glisten web --listen ssl:...`` takes."""

from __future__ import annotations

import socket
import ssl as stdlibSSL
from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.events

from glisten.internet import ssl
from glisten.internet.epollreactor import EPollReactor
from glisten.web import server

from ..conftest import runServer
from ._h2peer import Hello


def _serveTLS(site: server.Site, client: Callable[[int], Any]) -> Any:
    """Serve ``site`` over TLS (a throw-away certificate) and run ``client(port)``."""
    reactor = EPollReactor()
    site.reactor = reactor
    options = ssl.KeyPair.generate().selfSignedCert(1, CN="localhost").options()
    return runServer(site, reactor, client, tls=options)


def _connect(port: int, protocols: list[str]) -> stdlibSSL.SSLSocket:
    context = stdlibSSL.create_default_context()
    # The test's own throw-away certificate: this client checks ALPN, not identity.
    context.check_hostname = False
    context.verify_mode = stdlibSSL.CERT_NONE
    context.set_alpn_protocols(protocols)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="localhost")


def _h2get(port: int) -> tuple[str | None, bytes]:
    with _connect(port, ["h2", "http/1.1"]) as sock:
        client = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        client.initiate_connection()
        client.send_headers(
            1,
            [(b":method", b"GET"), (b":path", b"/"), (b":scheme", b"https"), (b":authority", b"l")],
            end_stream=True,
        )
        sock.sendall(client.data_to_send())
        body = b""
        while True:
            data = sock.recv(65536)
            if not data:
                raise AssertionError("closed before the response ended")
            for event in client.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    body += event.data or b""
                elif isinstance(event, h2.events.StreamEnded):
                    return sock.selected_alpn_protocol(), body
            sock.sendall(client.data_to_send())


def _http11get(port: int) -> tuple[str | None, bytes]:
    with _connect(port, ["http/1.1"]) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return sock.selected_alpn_protocol(), data


def test_alpnChoosesH2() -> None:
    site = server.Site(Hello())
    assert _serveTLS(site, _h2get) == ("h2", b"hello HTTP/2")


def test_alpnFallsBackToHTTP11() -> None:
    protocol, data = _serveTLS(server.Site(Hello()), _http11get)
    assert protocol == "http/1.1"
    assert data.startswith(b"HTTP/1.1 200 OK") and data.endswith(b"hello HTTP/1.1")


def test_http2OffOffersOnlyHTTP11() -> None:
    site = server.Site(Hello())
    site.http2 = False
    protocol, data = _serveTLS(site, _http11get)
    assert protocol == "http/1.1" and data.endswith(b"hello HTTP/1.1")
