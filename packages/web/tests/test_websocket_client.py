"""The WebSocket client: the codec in the client role, then WebSocketClientEndpoint against
glisten's own WebSocketResource and against a wsproto server (a peer nobody here wrote), on
loopback sockets of a real reactor."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

from glisten.internet import defer
from glisten.web import _ws, server
from glisten.web.resource import Resource
from glisten.web.websocket import (
    ConnectionRejected,
    WebSocketClientEndpoint,
    WebSocketClientFactory,
    WebSocketProtocol,
    WebSocketResource,
    WebSocketServerFactory,
)

# -- the codec, client side --------------------------------------------------------------------


def serverFrame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    return _ws.encodeFrame(opcode, payload, fin)


both = pytest.mark.parametrize("oneByte", [False, True], ids=["whole", "bytewise"])


@both
def test_clientDecodesFragmentedServerMessages(oneByte: bool) -> None:
    data = (
        serverFrame(_ws.Opcode.TEXT, "héllo ".encode(), fin=False)
        + serverFrame(_ws.Opcode.PING, b"p")
        + serverFrame(_ws.Opcode.CONTINUATION, b"world")
        + serverFrame(_ws.Opcode.BINARY, b"\x00\x01")
    )
    decoder = _ws.FrameDecoder(client=True)
    events: list[Any] = []
    pieces = [data[i : i + 1] for i in range(len(data))] if oneByte else [data]
    for piece in pieces:
        events.extend(decoder.receiveData(piece))
    assert events == [_ws.Ping(b"p"), _ws.Message("héllo world"), _ws.Message(b"\x00\x01")]


def test_clientRefusesMaskedFrames() -> None:
    masked = _ws.encodeFrame(_ws.Opcode.TEXT, b"x", mask=b"abcd")
    (event,) = _ws.FrameDecoder(client=True).receiveData(masked)
    assert isinstance(event, _ws.WebSocketError) and event.code == _ws.CloseCode.PROTOCOL_ERROR
    # ... and a server decodes what a client masks.
    assert _ws.FrameDecoder().receiveData(masked) == [_ws.Message("x")]


def test_clientConnectionMasksEveryFrame() -> None:
    connection = _ws.WebSocketConnection(client=True)
    frames = [connection.sendText("hi"), connection.sendBytes(b"yo"), connection.ping(b"1")]
    server = _ws.FrameDecoder()
    events = [e for frame in frames for e in server.receiveData(frame)]
    assert events == [_ws.Message("hi"), _ws.Message(b"yo"), _ws.Ping(b"1")]
    assert frames[0][2:6] != frames[1][2:6]  # a fresh key per frame
    # A server's ping is answered with a masked pong; its close is echoed, masked.
    connection.receiveData(serverFrame(_ws.Opcode.PING, b"q"))
    connection.receiveData(_ws.encodeClose(1000, "bye"))
    replies = server.receiveData(connection.bytesToSend())
    assert replies == [_ws.Pong(b"q"), _ws.Close(1000, "")]
    assert connection.state is _ws.CloseState.CLOSED


def test_messageLimit() -> None:
    decoder = _ws.FrameDecoder(maxMessageSize=10, client=True)
    events = decoder.receiveData(
        serverFrame(_ws.Opcode.TEXT, b"123456", fin=False)
        + serverFrame(_ws.Opcode.CONTINUATION, b"789012")
    )
    assert isinstance(events[-1], _ws.WebSocketError)
    assert events[-1].code == _ws.CloseCode.MESSAGE_TOO_BIG


def test_handshakeCheck() -> None:
    key = _ws.clientKey(b"0123456789abcdef")
    good = {
        b"upgrade": [b"websocket"],
        b"connection": [b"Upgrade"],
        b"sec-websocket-accept": [_ws.acceptKey(key)],
    }
    assert _ws.checkServerHandshake(101, good, key, []) == (None, None)
    assert _ws.checkServerHandshake(
        101, {**good, b"sec-websocket-protocol": [b"chat"]}, key, ["chat"]
    ) == ("chat", None)
    for status, headers in [
        (200, good),
        (101, {**good, b"sec-websocket-accept": [b"wrong"]}),
        (101, {**good, b"upgrade": [b"h2c"]}),
        (101, {**good, b"connection": [b"keep-alive"]}),
        (101, {**good, b"sec-websocket-protocol": [b"other"]}),
        (101, {**good, b"sec-websocket-extensions": [b"permessage-deflate"]}),
    ]:
        subprotocol, problem = _ws.checkServerHandshake(status, headers, key, ["chat"])
        assert subprotocol is None and problem


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_clientDecoderRandomBytes(data: bytes) -> None:
    for event in _ws.FrameDecoder(maxMessageSize=1000, client=True).receiveData(data):
        assert isinstance(event, (_ws.Message, _ws.Ping, _ws.Pong, _ws.Close, _ws.WebSocketError))


# -- against real servers ----------------------------------------------------------------------


def runReactor(main: Any, listen: Any = None) -> Any:
    from glisten.internet.epollreactor import EPollReactor

    reactor = EPollReactor()
    result: dict[str, Any] = {}
    port = listen(reactor) if listen is not None else None

    async def go() -> None:
        try:
            result["value"] = await main(reactor, port)
        except BaseException as e:
            result["error"] = e

    reactor.callWhenRunning(
        lambda: defer.ensureDeferred(go()).addBoth(lambda _: reactor.callLater(0, reactor.stop))
    )
    guard = reactor.callLater(30, reactor.stop)  # against a hang, not a wait
    reactor.run(installSignalHandlers=False)
    if guard.active():
        guard.cancel()
    if "error" in result:
        raise result["error"]
    return result["value"]


class Recorder(WebSocketProtocol):
    """Sends what it is told to on connect, records what arrives, closes on ``"bye"``."""

    toSend: list[str | bytes] = []

    def negotiationFinished(self) -> None:
        self.received: list[Any] = []
        self.closed: defer.Deferred[int | None] = defer.Deferred()
        for item in self.toSend:
            if isinstance(item, str):
                self.transport.sendTextMessage(item)
            else:
                self.transport.sendBytesMessage(item)
        self.transport.ping(b"are you there")

    def textMessageReceived(self, data: str) -> None:
        self.received.append(data)
        if data == "bye":
            self.transport.loseConnection()

    def bytesMessageReceived(self, data: bytes) -> None:
        self.received.append(data)

    def pongReceived(self, payload: bytes) -> None:
        self.received.append(("pong", payload))

    def connectionLost(self, reason: Any) -> None:
        self.closed.callback(self.transport.closeCode)


class Echo(WebSocketProtocol):
    def textMessageReceived(self, data: str) -> None:
        self.transport.sendTextMessage(data)

    def bytesMessageReceived(self, data: bytes) -> None:
        self.transport.sendBytesMessage(data)


def test_againstGlistenServer() -> None:
    factory = WebSocketServerFactory.forProtocol(Echo)
    factory.subprotocols = ("chat.v2", "chat.v1")
    root = Resource()
    root.putChild(b"ws", WebSocketResource(factory))

    class Client(Recorder):
        toSend = ["hello", b"\x00\xff" * 5000, "bye"]

    async def main(reactor: Any, port: Any) -> None:
        url = f"ws://127.0.0.1:{port.getHost().port}/ws"
        endpoint = WebSocketClientEndpoint.new(reactor, url, subprotocols=["chat.v1"])
        protocol = await endpoint.connect(WebSocketClientFactory.forProtocol(Client))
        assert isinstance(protocol, Client)
        assert protocol.transport.subprotocol == "chat.v1"
        code = await protocol.closed
        assert code == 1000
        # The server answers in the order it read: the messages, then the ping.
        assert protocol.received == [
            "hello",
            b"\x00\xff" * 5000,
            "bye",
            ("pong", b"are you there"),
        ]
        with pytest.raises(ConnectionRejected) as info:
            await WebSocketClientEndpoint.new(
                reactor, f"ws://127.0.0.1:{port.getHost().port}/nothing"
            ).connect(WebSocketClientFactory.forProtocol(Client))
        assert info.value.response.code == 404

    runReactor(main, lambda r: r.listenTCP(0, server.Site(root, reactor=r), interface="127.0.0.1"))


def wsprotoServer(script: Any) -> tuple[int, threading.Thread, list[Any]]:
    """A wsproto server in a thread: accepts one connection and runs ``script(conn, send)``
    for each event; what it saw is returned in the list."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[Any] = []

    def serve() -> None:
        sock, _ = listener.accept()
        listener.close()
        ws = WSConnection(ConnectionType.SERVER)
        with sock, contextlib.suppress(ConnectionResetError):
            while data := sock.recv(65536):
                ws.receive_data(data)
                for event in ws.events():
                    seen.append(event)
                    out = script(event, ws)
                    if out:
                        sock.sendall(out)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return port, thread, seen


def test_againstWsproto() -> None:
    def script(event: Any, ws: WSConnection) -> bytes:
        if isinstance(event, Request):
            out = ws.send(AcceptConnection(subprotocol="v1"))
            # A fragmented text message and a server ping, right after the handshake.
            out += ws.send(TextMessage("frag", message_finished=False))
            out += ws.send(TextMessage("mented", message_finished=True))
            return out + ws.send(Ping(b"srv"))
        if isinstance(event, Message):
            reply: Any = TextMessage if isinstance(event, TextMessage) else BytesMessage
            return ws.send(reply(event.data))
        if isinstance(event, Ping):
            return ws.send(event.response())
        if isinstance(event, CloseConnection):
            return ws.send(event.response())
        return b""

    port, thread, seen = wsprotoServer(script)

    class Client(Recorder):
        toSend = ["over wsproto", b"bin", "bye"]

    async def main(reactor: Any, _: Any) -> Any:
        endpoint = WebSocketClientEndpoint.new(
            reactor, f"ws://127.0.0.1:{port}/path?q=1", subprotocols=["v1", "v2"]
        )
        protocol = await endpoint.connect(WebSocketClientFactory.forProtocol(Client))
        assert protocol.transport.subprotocol == "v1"
        return protocol, await protocol.closed

    protocol, code = runReactor(main)
    thread.join(10)
    assert code == 1000
    assert protocol.received[0] == "fragmented"
    assert "over wsproto" in protocol.received and b"bin" in protocol.received
    assert ("pong", b"are you there") in protocol.received
    request = seen[0]
    assert isinstance(request, Request) and request.target == "/path?q=1"
    assert isinstance(seen[-1], CloseConnection) and seen[-1].code == 1000
    # The server's ping was answered (wsproto records the pong).
    assert any(type(e).__name__ == "Pong" and e.payload == b"srv" for e in seen)


def test_rejectedByWsproto() -> None:
    def script(event: Any, ws: WSConnection) -> bytes:
        if isinstance(event, Request):
            return ws.send(RejectConnection(status_code=403))
        return b""

    port, thread, _ = wsprotoServer(script)

    async def main(reactor: Any, _: Any) -> Any:
        endpoint = WebSocketClientEndpoint.new(reactor, f"ws://127.0.0.1:{port}/")
        with pytest.raises(ConnectionRejected) as info:
            await endpoint.connect(WebSocketClientFactory())
        return info.value.response.code

    assert runReactor(main) == 403
    thread.join(10)


def test_wssVerifiesTheServer() -> None:
    from glisten.internet.ssl import Certificate, KeyPair
    from glisten.web.client import BrowserLikePolicyForHTTPS

    certificate = KeyPair.generate(size=2048).selfSignedCert(1, commonName="localhost")
    certPEM = certificate.dumpPEM()
    root = Resource()
    root.putChild(b"ws", WebSocketResource(WebSocketServerFactory.forProtocol(Echo)))

    class Client(Recorder):
        toSend = ["secure", "bye"]

    def listen(reactor: Any) -> Any:
        options = certificate.options()
        site = server.Site(root, reactor=reactor)
        return reactor.listenSSL(0, site, options, interface="127.0.0.1")

    async def main(reactor: Any, port: Any) -> Any:
        url = f"wss://localhost:{port.getHost().port}/ws"
        policy = BrowserLikePolicyForHTTPS(Certificate.loadPEM(certPEM))
        endpoint = WebSocketClientEndpoint.new(reactor, url, policy)
        protocol = await endpoint.connect(WebSocketClientFactory.forProtocol(Client))
        code = await protocol.closed
        # Without the test authority, the platform's do not vouch for the server.
        with pytest.raises(Exception) as info:
            await WebSocketClientEndpoint.new(reactor, url).connect(WebSocketClientFactory())
        return protocol.received, code, repr(info.value)

    received, code, error = runReactor(main, listen)
    assert received[:2] == ["secure", "bye"] and code == 1000
    assert "certificate verify failed" in error
