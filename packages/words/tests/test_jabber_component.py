"""XEP-0114 components: the connecting side, the router's authenticator, routing, and the
``glisten xmpp-router`` plugin."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from glisten.internet.error import ConnectionDone
from glisten.internet.testing import MemoryReactor, MemoryReactorClock, StringTransport
from glisten.python.failure import Failure
from glisten.words import xmpproutertap
from glisten.words.protocols.jabber import component, jstrports, xmlstream
from glisten.words.xish import domish

HEADER = (
    b"<stream:stream xmlns='jabber:component:accept' "
    b"xmlns:stream='http://etherx.jabber.org/streams' to='%s'>"
)


def test_component_connects_with_handshake() -> None:
    factory = component.componentFactory("comp.example.com", "secret")
    events: list[Any] = []
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, lambda xs: events.append("authd"))
    xs = factory.buildProtocol(None)
    transport = StringTransport()
    xs.makeConnection(transport)
    header = transport.value()
    assert b"xmlns='jabber:component:accept'" in header and b"to='comp.example.com'" in header
    assert b"version" not in header
    transport.clear()
    xs.dataReceived(
        b"<stream:stream xmlns='jabber:component:accept' "
        b"xmlns:stream='http://etherx.jabber.org/streams' from='comp.example.com' id='3BF96D32'>"
    )
    digest = xmlstream.hashPassword("3BF96D32", "secret")
    assert transport.value() == b"<handshake>%s</handshake>" % digest.encode()
    xs.dataReceived(b"<handshake/>")
    assert events == ["authd"]
    assert xs.thisEntity.host == "comp.example.com"


class Part(component.Service):
    def __init__(self) -> None:
        self.events: list[str] = []

    def transportConnected(self, xs: Any) -> None:
        self.events.append("transport")

    def componentConnected(self, xs: Any) -> None:
        self.events.append("connected")
        self.send("<presence/>")

    def componentDisconnected(self) -> None:
        self.events.append("disconnected")


def serve(reactor: Any) -> tuple[Any, StringTransport]:
    """Accept the manager's latest connection attempt as a server would."""
    host, port, factory, *_ = reactor.tcpClients[-1]
    xs = factory.buildProtocol(None)
    transport = StringTransport()
    xs.makeConnection(transport)
    xs.dataReceived(
        b"<stream:stream xmlns='jabber:component:accept' "
        b"xmlns:stream='http://etherx.jabber.org/streams' from='comp.example.com' id='1'>"
    )
    return xs, transport


def test_service_manager_runs_its_services() -> None:
    reactor = MemoryReactorClock()
    manager = component.buildServiceManager(
        "comp.example.com", "secret", "tcp:127.0.0.1:5347", reactor=reactor
    )
    part = Part()
    part.setServiceParent(manager)
    manager.send("<message to='x@example.com'/>")  # before the connection: queued
    manager.startService()
    assert reactor.tcpClients[0][:2] == ("127.0.0.1", 5347)
    xs, transport = serve(reactor)
    assert part.events == ["transport"]
    assert transport.value().endswith(b"</handshake>")  # nothing else before the handshake
    transport.clear()
    xs.dataReceived(b"<handshake/>")
    assert part.events == ["transport", "connected"]
    assert transport.value() == b"<message to='x@example.com'/><presence/>"
    assert manager.xmlstream is xs
    xs.connectionLost(Failure(ConnectionDone()))
    assert part.events[-1] == "disconnected" and manager.xmlstream is None
    # The factory reconnects; stopping the manager stops that.
    connector = reactor.connectors[-1]
    attempts = connector.connectionAttempts
    manager.getFactory().clientConnectionLost(connector, Failure(ConnectionDone()))
    reactor.advance(120)
    assert connector.connectionAttempts == attempts + 1
    manager.stopService()
    manager.getFactory().clientConnectionLost(connector, Failure(ConnectionDone()))
    reactor.advance(120)
    assert connector.connectionAttempts == attempts + 1
    assert not reactor.getDelayedCalls()


@pytest.mark.parametrize(
    "strport, expected",
    [
        ("tcp:[::1]:5347", ("connectTCP", "::1")),
        ("unix:/run/router.sock", ("connectUNIX", "/run/router.sock")),
    ],
)
def test_service_manager_addresses(strport: str, expected: tuple[str, str]) -> None:
    reactor = MemoryReactor()
    component.buildServiceManager("c.example.com", "s", strport, reactor=reactor).startService()
    if expected[0] == "connectTCP":
        assert reactor.tcpClients[0][0] == expected[1]
    else:
        assert reactor.unixClients[0][0] == expected[1]


@pytest.mark.parametrize(
    "strport", ["tcp:5347", "tcp:host:port", "tcp:h:0", "tcp:h:70000", "ssl:h:1", "unix:", "5347"]
)
def test_service_manager_bad_addresses(strport: str) -> None:
    with pytest.raises(ValueError):
        component.buildServiceManager("c.example.com", "s", strport)


def test_jstrports() -> None:
    factory = object()
    assert jstrports.parse("tcp:example.com:5347", factory) == (
        "TCP",
        (("example.com", 5347, factory), {}),
    )
    assert jstrports.parse("unix:/run/x", factory) == ("UNIX", (("/run/x", factory), {}))
    service = jstrports.client("tcp:127.0.0.1:5347", factory)
    assert service.args == ("127.0.0.1", 5347, factory)  # type: ignore[attr-defined]


def test_hash_password() -> None:
    # XEP-0114 example 3.
    expected = "b09ea9b3b7f586be8a08d0a3dd7466f110aeb136"  # sha1(b"3BF96D32secret")
    assert xmlstream.hashPassword("3BF96D32", "secret") == expected
    with pytest.raises(TypeError):
        xmlstream.hashPassword(b"x", "y")  # type: ignore[arg-type]


class Connected:
    """A component connected to a router through a memory transport."""

    def __init__(self, factory: component.XMPPComponentServerFactory, domain: str) -> None:
        self.xs = factory.buildProtocol(None)
        self.transport = StringTransport()
        self.errors: list[Failure] = []
        self.xs.makeConnection(self.transport)
        self.xs.dataReceived(HEADER % domain.encode())
        header = self.transport.value()
        assert b"id='" in header
        self.sid = header.split(b"id='")[1].split(b"'")[0].decode()
        self.transport.clear()

    def handshake(self, secret: str = "s3cret") -> bytes:
        digest = xmlstream.hashPassword(self.sid, secret)
        self.xs.dataReceived(b"<handshake>%s</handshake>" % digest.encode())
        return self.take()

    def take(self) -> bytes:
        value = self.transport.value()
        self.transport.clear()
        return value


@pytest.fixture
def router() -> tuple[component.Router, component.XMPPComponentServerFactory]:
    r = component.Router()
    return r, component.XMPPComponentServerFactory(r, "s3cret")


def test_router_authenticates_and_routes(router: Any) -> None:
    r, factory = router
    a = Connected(factory, "a.example")
    b = Connected(factory, "b.example")
    assert a.sid != b.sid
    assert a.handshake() == b"<handshake/>"
    assert b.handshake() == b"<handshake/>"
    assert set(r.routes) == {"a.example", "b.example"}
    a.xs.dataReceived(b"<message from='bot@a.example' to='x@b.example/r'><body>hi</body></message>")
    assert b.take() == (
        b"<message from='bot@a.example' to='x@b.example/r'><body>hi</body></message>"
    )
    # No route: bounced to the sender.
    a.xs.dataReceived(b"<iq type='get' id='1' from='a.example' to='c.example'><q xmlns='u'/></iq>")
    bounced = domish.parseText(a.take())
    assert bounced["type"] == "error" and bounced["to"] == "a.example"
    assert bounced.error.firstChildElement().name == "remote-server-not-found"
    # Errors are never bounced.
    a.xs.dataReceived(b"<iq type='error' id='2' from='a.example' to='c.example'/>")
    assert a.take() == b""
    # Disconnecting drops the route.
    a.xs.connectionLost(Failure(Exception("gone")))
    assert set(r.routes) == {"b.example"}


def test_default_route(router: Any) -> None:
    r, factory = router
    a = Connected(factory, "a.example")
    a.handshake()
    hub = Connected(factory, "hub.example")
    hub.handshake()
    r.addRoute(None, hub.xs)
    a.xs.dataReceived(b"<message from='a.example' to='z@elsewhere.example'/>")
    assert b"elsewhere.example" in hub.take()


def test_wrong_secret_is_refused(router: Any) -> None:
    r, factory = router
    a = Connected(factory, "a.example")
    sent = a.handshake("wrong")
    assert sent.startswith(b"<stream:error><not-authorized")
    assert a.transport.disconnecting and r.routes == {}


def test_first_element_must_be_the_handshake(router: Any) -> None:
    r, factory = router
    a = Connected(factory, "a.example")
    a.xs.dataReceived(b"<message to='x@b.example'/>")
    assert a.take().startswith(b"<stream:error><not-authorized")


def test_spoofed_sender_is_refused(router: Any) -> None:
    r, factory = router
    a = Connected(factory, "a.example")
    b = Connected(factory, "b.example")
    a.handshake()
    b.handshake()
    a.xs.dataReceived(b"<message from='admin@b.example' to='x@b.example'/>")
    assert b.take() == b""
    assert a.take().startswith(b"<stream:error><invalid-from")
    assert a.transport.disconnecting


def test_second_component_for_a_domain_is_refused(router: Any) -> None:
    r, factory = router
    first = Connected(factory, "a.example")
    first.handshake()
    second = Connected(factory, "a.example")
    assert second.handshake().startswith(b"<handshake/><stream:error><conflict")
    assert r.routes["a.example"] is first.xs


@pytest.mark.parametrize(
    ("header", "condition"),
    [
        (
            b"<stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='a.example'>",
            b"<invalid-namespace",
        ),
        (
            b"<stream:stream xmlns='jabber:component:accept' "
            b"xmlns:stream='http://etherx.jabber.org/streams'>",
            b"<improper-addressing",
        ),
    ],
)
def test_bad_stream_headers(router: Any, header: bytes, condition: bytes) -> None:
    r, factory = router
    xs = factory.buildProtocol(None)
    transport = StringTransport()
    xs.makeConnection(transport)
    xs.dataReceived(header)
    assert condition in transport.value()
    assert transport.disconnecting


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    xmpproutertap.serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def test_router_plugin(tmp_path: Path) -> None:
    secretFile = tmp_path / "secret"
    secretFile.write_text("from-a-file\n")
    reactor = MemoryReactor()
    service = xmpproutertap.makeService(
        parse("--secret-file", str(secretFile), "--port", "tcp:0:interface=127.0.0.1"), reactor
    )
    service.startService()
    try:
        (port,) = reactor.tcpServers
        assert port[0] == 0 and port[3] == "127.0.0.1"
        assert port[1].secret == "from-a-file"
    finally:
        service.stopService()


def test_router_plugin_requires_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret is required"):
        xmpproutertap.makeService(parse(), MemoryReactor())
    with pytest.raises(ValueError, match="cannot read"):
        xmpproutertap.makeService(parse("--secret-file", str(tmp_path / "nope")), MemoryReactor())
    assert parse().port == "tcp:5347:interface=127.0.0.1"
