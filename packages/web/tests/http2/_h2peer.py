"""An ``h2`` client talking to a Site over a memory transport, for the HTTP/2 tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import h2.config
import h2.connection
import h2.events
from zope.interface import alsoProvides

from glisten.internet.defer import Deferred
from glisten.internet.interfaces import ISSLTransport
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.web import server
from glisten.web.resource import Resource


class Peer:
    """One connection to ``site``: an ``h2`` client on one side, the site's channel on the
    other, joined by a StringTransport the test pumps."""

    def __init__(
        self,
        site: server.Site,
        clock: Clock,
        tls: bool = False,
        preface: bool = True,
        settings: dict[int, int] | None = None,
    ) -> None:
        self.site = site
        self.clock = clock
        self.transport = StringTransport()
        if tls:
            alsoProvides(self.transport, ISSLTransport)
            self.transport.negotiatedProtocol = b"h2"  # type: ignore[attr-defined]
        self.channel = site.buildProtocol(None)
        self.channel.makeConnection(self.transport)
        config = h2.config.H2Configuration(client_side=True, header_encoding=None)
        self.client = h2.connection.H2Connection(config)
        self.events: list[Any] = []
        if preface:
            self.client.initiate_connection()
            if settings:
                self.client.update_settings(settings)
            self.flush()

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)

    def send(self, data: bytes) -> None:
        """Raw bytes to the server, then read what it answers."""
        if data:
            self.channel.dataReceived(data)
        self.read()

    def flush(self) -> None:
        """What the client has to say, then read the answer (until both are quiet)."""
        for _ in range(100):
            data = self.client.data_to_send()
            if not data:
                out = self.transport.value()
                if not out:
                    return
            else:
                self.channel.dataReceived(data)
            self.read()

    def read(self) -> None:
        out = self.transport.value()
        self.transport.clear()
        if out:
            self.events.extend(self.client.receive_data(out))

    def request(
        self,
        path: bytes = b"/",
        method: bytes = b"GET",
        headers: Iterable[tuple[bytes, bytes]] = (),
        body: bytes | None = None,
        end: bool = True,
    ) -> int:
        streamId = self.client.get_next_available_stream_id()
        fields = [
            (b":method", method),
            (b":path", path),
            (b":scheme", b"https"),
            (b":authority", b"example.com"),
            *headers,
        ]
        self.client.send_headers(streamId, fields, end_stream=end and body is None)
        if body is not None:
            self.client.send_data(streamId, body, end_stream=end)
        self.flush()
        return streamId

    def response(self, streamId: int) -> tuple[int, dict[bytes, bytes], bytes, bool]:
        """Status, headers, body so far and whether the stream ended."""
        status = 0
        headers: dict[bytes, bytes] = {}
        body = b""
        ended = False
        for ev in self.events:
            if getattr(ev, "stream_id", None) != streamId:
                continue
            if isinstance(ev, h2.events.ResponseReceived):
                for name, value in ev.headers or ():
                    if name == b":status":
                        status = int(value)
                    else:
                        headers[bytes(name)] = bytes(value)
            elif isinstance(ev, h2.events.DataReceived):
                body += ev.data or b""
                self.client.acknowledge_received_data(ev.flow_controlled_length or 0, streamId)
            elif isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                ended = True
        return status, headers, body, ended

    def goaway(self) -> h2.events.ConnectionTerminated | None:
        for ev in self.events:
            if isinstance(ev, h2.events.ConnectionTerminated):
                return ev
        return None

    def resets(self) -> dict[int, int]:
        return {
            ev.stream_id: int(ev.error_code)
            for ev in self.events
            if isinstance(ev, h2.events.StreamReset)
        }


class Later(Resource):
    """Answers each GET with the Deferred it keeps in :attr:`pending`."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[Deferred[bytes]] = []

    def render_GET(self, request: Any) -> Deferred[bytes]:
        d: Deferred[bytes] = Deferred()
        self.pending.append(d)
        return d


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"hello " + request.clientproto

    def render_POST(self, request: Any) -> bytes:
        return b"got %d" % len(request.content.read())


def parseFrames(data: bytes) -> list[Any]:
    """Split server bytes into hyperframe frames (for what the h2 client cannot follow)."""
    from hyperframe.frame import Frame

    frames = []
    while len(data) >= 9:
        frame, length = Frame.parse_frame_header(memoryview(data[:9]))
        frame.parse_body(memoryview(data[9 : 9 + length]))
        frames.append(frame)
        data = data[9 + length :]
    assert not data, "a partial frame"
    return frames


class RawPeer:
    """Hand-made frames to a site's connection, for what a well-behaved client never sends.

    :ivar frames: Every frame the server sent so far.
    """

    def __init__(self, site: server.Site, clock: Clock, preface: bool = True) -> None:
        from hpack import Encoder

        self.clock = clock
        self.transport = StringTransport()
        self.channel = site.buildProtocol(None)
        self.channel.makeConnection(self.transport)
        self.encoder = Encoder()
        self.frames: list[Any] = []
        if preface:
            from hyperframe.frame import SettingsFrame

            self.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize())
            self.send(SettingsFrame(0, flags=["ACK"]).serialize())

    def send(self, *data: Any) -> list[Any]:
        """Frames (or bytes) to the server; returns the frames it answered with."""
        for item in data:
            raw = item if isinstance(item, bytes) else item.serialize()
            if not self.closed:
                self.channel.dataReceived(raw)
        out = self.transport.value()
        self.transport.clear()
        new = parseFrames(out)
        self.frames.extend(new)
        return new

    def headers(
        self,
        streamId: int,
        path: bytes = b"/",
        end: bool = True,
        extra: Iterable[tuple[bytes, bytes]] = (),
        method: bytes = b"GET",
        fields: list[tuple[bytes, bytes]] | None = None,
    ) -> Any:
        from hyperframe.frame import HeadersFrame

        if fields is None:
            fields = [
                (b":method", method),
                (b":scheme", b"http"),
                (b":path", path),
                (b":authority", b"example.com"),
                *extra,
            ]
        flags = ["END_HEADERS"] + (["END_STREAM"] if end else [])
        return HeadersFrame(streamId, self.encoder.encode(fields), flags=flags)

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)

    def goaway(self) -> Any:
        for frame in self.frames:
            if type(frame).__name__ == "GoAwayFrame":
                return frame
        return None

    def resetCode(self, streamId: int) -> int | None:
        for frame in self.frames:
            if type(frame).__name__ == "RstStreamFrame" and frame.stream_id == streamId:
                return int(frame.error_code)
        return None
