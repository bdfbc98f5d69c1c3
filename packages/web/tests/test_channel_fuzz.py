"""The whole server (channel, site, resources) fed byte at a time and fed garbage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.web import server
from glisten.web.resource import Resource

Conn = Any


class Echo(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"GET " + request.uri

    def render_POST(self, request: Any) -> bytes:
        return b"POST " + request.content.read()


REQUESTS = (
    b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    b"GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
)


def test_byteAtATime(connect: Callable[..., Conn]) -> None:
    whole = connect(Echo())
    whole.channel.dataReceived(REQUESTS)
    expected = whole.transport.value()
    conn = connect(Echo())
    for i in range(len(REQUESTS)):
        conn.channel.dataReceived(REQUESTS[i : i + 1])
    got = conn.transport.value()
    strip = [line for line in got.split(b"\r\n") if not line.startswith(b"Date:")]
    assert strip == [line for line in expected.split(b"\r\n") if not line.startswith(b"Date:")]
    for body in (b"GET /a", b"POST hello", b"POST abc", b"GET /d"):
        assert body in got
    assert conn.transport.disconnecting


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.binary(max_size=60), st.sampled_from([REQUESTS[:40], b"\r\n", b"0\r\n\r\n"])),
        max_size=6,
    )
)
def test_garbageNeverRaises(pieces: list[bytes]) -> None:
    """Whatever arrives, the channel answers or closes; nothing raises out of dataReceived."""
    site = server.Site(Echo(), reactor=Clock())
    channel = site.buildProtocol(None)
    transport = StringTransport()
    channel.makeConnection(transport)
    for piece in pieces:
        channel.dataReceived(piece)
    out = transport.value()
    if out:
        assert out.startswith(b"HTTP/1.1 ")
