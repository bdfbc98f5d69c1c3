"""XEP-0114 components: a glisten component on Prosody's component port, talking to a slixmpp
client; a slixmpp component and a glisten component on ``glisten xmpp-router``, run as the
command runs it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.words.protocols.jabber import component, xmlstream
from glisten.words.xish import domish, xpath

from .conftest import (
    PROSODY_COMPONENT_SECRET,
    Prosody,
    ReactorThread,
    SlixClient,
    freePort,
    runGlisten,
    stopGlisten,
    stopSlixmpp,
    waitUntil,
)

pytestmark = pytest.mark.interop


class GlistenComponent:
    """A glisten component that echoes messages, driven from the test thread."""

    def __init__(self, rt: ReactorThread, domain: str, secret: str, port: int) -> None:
        self.rt = rt
        self.domain = domain
        self.xs: Any = None
        self.messages: list[domish.Element] = []
        self.ended = False
        factory = component.componentFactory(domain, secret)
        factory.maxRetries = 0

        def connected(xs: Any) -> None:
            xs.reactor = rt.reactor

        def ended(reason: Any) -> None:
            self.ended = True

        factory.addBootstrap(xmlstream.STREAM_CONNECTED_EVENT, connected)
        factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, self.authenticated)
        factory.addBootstrap(xmlstream.STREAM_END_EVENT, ended)
        rt.call(rt.reactor.connectTCP, "127.0.0.1", port, factory)
        waitUntil(lambda: self.xs or self.ended, what=f"{domain} to authenticate")
        assert self.xs is not None, f"{domain} was refused"

    def authenticated(self, xs: Any) -> None:
        xs.addObserver("/message", self.onMessage)
        self.xs = xs

    def onMessage(self, message: domish.Element) -> None:
        self.messages.append(message)
        if str(message.body or "").startswith("echo?"):
            reply = domish.Element((None, "message"))
            reply["from"] = message["to"]
            reply["to"] = message["from"]
            reply["type"] = message.getAttribute("type", "normal")
            reply.addElement("body", content="echo!")
            self.xs.send(reply)

    def send(self, to: str, body: str, sender: str) -> None:
        message = domish.Element((None, "message"))
        message["from"], message["to"] = sender, to
        message.addElement("body", content=body)
        self.rt.call(self.xs.send, message)

    def ask(self, to: str, namespace: str) -> Any:
        answers: list[Any] = []

        def send() -> None:
            iq = xmlstream.IQ(self.xs, "get")
            iq["from"] = self.domain
            iq.addElement((namespace, "query"))
            iq.timeout = 10
            iq.send(to).addBoth(answers.append)

        self.rt.call(send)
        waitUntil(lambda: answers, what=f"an answer from {to}")
        return answers[0]


def test_glisten_component_on_prosody(
    prosody: Prosody, reactorThread: ReactorThread, slix: SlixClient
) -> None:
    comp = GlistenComponent(
        reactorThread, "component.localhost", PROSODY_COMPONENT_SECRET, prosody.componentPort
    )
    slix.sendMessage("echo@component.localhost", "echo? from slix")
    waitUntil(lambda: ("echo@component.localhost", "echo!") in slix.messages, what="the echo")
    assert str(comp.messages[0]["from"]) == "bob@localhost/slix"
    answer = comp.ask("bob@localhost/slix", "jabber:iq:version")
    assert isinstance(answer, domish.Element), answer
    assert xpath.queryForString("/iq/query/name", answer) == "slix-peer"


class EchoService(component.Service):
    """Twisted's way to write a component: a Service under a ServiceManager."""

    def __init__(self) -> None:
        self.connected = 0

    def componentConnected(self, xs: Any) -> None:
        self.connected += 1
        xs.addObserver("/message/body", self.onMessage)

    def onMessage(self, message: domish.Element) -> None:
        reply = domish.Element((None, "message"))
        reply["from"], reply["to"] = message["to"], message["from"]
        reply["type"] = message.getAttribute("type", "normal")
        reply.addElement("body", content=f"service echo: {message.body}")
        self.send(reply)


def test_service_manager_component_on_prosody(
    prosody: Prosody, reactorThread: ReactorThread, slix: SlixClient
) -> None:
    rt = reactorThread
    manager = component.buildServiceManager(
        "component.localhost",
        PROSODY_COMPONENT_SECRET,
        f"tcp:127.0.0.1:{prosody.componentPort}",
        reactor=rt.reactor,
    )
    echo = EchoService()
    echo.setServiceParent(manager)
    rt.call(manager.startService)
    try:
        waitUntil(lambda: echo.connected, what="the component to connect")
        slix.sendMessage("someone@component.localhost", "hi")
        waitUntil(
            lambda: ("someone@component.localhost", "service echo: hi") in slix.messages,
            what="the service's echo",
        )
    finally:
        stopped: list[Any] = []
        rt.call(lambda: stopped.append(manager.stopService()))
        waitUntil(lambda: stopped, what="the manager to stop")


def test_wrong_component_secret_is_refused_by_prosody(
    prosody: Prosody, reactorThread: ReactorThread
) -> None:
    with pytest.raises(AssertionError, match="was refused"):
        GlistenComponent(reactorThread, "component.localhost", "wrong", prosody.componentPort)


class SlixComponent:
    """A slixmpp component that echoes messages, in its own thread and event loop."""

    def __init__(self, domain: str, secret: str, port: int) -> None:
        import slixmpp

        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.messages: list[tuple[str, str]] = []
        asyncio.set_event_loop(self.loop)
        xmpp = slixmpp.ComponentXMPP(domain, secret, "127.0.0.1", port)
        xmpp.register_plugin("xep_0030")
        xmpp.add_event_handler("session_start", lambda event: self.ready.set())
        xmpp.add_event_handler("message", self._message)
        self.xmpp = xmpp
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.xmpp.connect()
        self.loop.run_forever()

    def _message(self, msg: Any) -> None:
        self.messages.append((str(msg["from"]), str(msg["body"])))
        if str(msg["body"]).startswith("echo?"):
            msg.reply("echo!").send()

    def stop(self) -> None:
        stopSlixmpp(self)


@pytest.fixture
def router(routerProcess: tuple[int, int]) -> int:
    return routerProcess[0]


@pytest.fixture
def routerProcess(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """``glisten xmpp-router`` run as the command runs; yields (port, pid)."""
    port = freePort()
    secret = tmp_path / "secret"
    secret.write_text("router-secret\n")
    proc = runGlisten(
        tmp_path, port, "xmpp-router",
        "--port", f"tcp:{port}:interface=127.0.0.1", "--secret-file", str(secret),
    )  # fmt: skip
    yield port, proc.pid
    stopGlisten(proc)


def test_slixmpp_component_through_glisten_router(
    router: int, reactorThread: ReactorThread
) -> None:
    peer = SlixComponent("slix.example", "router-secret", router)
    try:
        assert peer.ready.wait(20), "slixmpp's component did not authenticate"
        comp = GlistenComponent(reactorThread, "glisten.example", "router-secret", router)
        comp.send("echo@slix.example", "echo? through the router", "bot@glisten.example")
        waitUntil(lambda: comp.messages, what="the echo through the router")
        echo = comp.messages[0]
        assert (echo["from"], echo["to"], str(echo.body)) == (
            "echo@slix.example",
            "bot@glisten.example",
            "echo!",
        )
        assert peer.messages == [("bot@glisten.example", "echo? through the router")]
        answer = comp.ask("slix.example", "http://jabber.org/protocol/disco#info")
        assert isinstance(answer, domish.Element), answer
        assert answer["type"] == "result"
    finally:
        peer.stop()


def test_router_refuses_a_wrong_secret(router: int, reactorThread: ReactorThread) -> None:
    with pytest.raises(AssertionError, match="was refused"):
        GlistenComponent(reactorThread, "glisten.example", "wrong", router)


COMPONENT_HEADER = (
    b"<stream:stream xmlns='jabber:component:accept' "
    b"xmlns:stream='http://etherx.jabber.org/streams' to='bad.example'>"
)
HOSTILE = {
    "billion laughs": (
        b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 "
        b"'&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>" + COMPONENT_HEADER + b"&lol2;",
        b"restricted-xml",
    ),
    "external entity": (
        b"<!DOCTYPE s [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>" + COMPONENT_HEADER,
        b"restricted-xml",
    ),
    "deep nesting": (COMPONENT_HEADER + b"<a>" * 100_000, b"policy-violation"),
    "invalid UTF-8": (COMPONENT_HEADER + b"<handshake>\xff\xfe</handshake>", b"not-well-formed"),
    "10 MB stanza": (COMPONENT_HEADER + b"<handshake>" + b"x" * 10_000_000, b"policy-violation"),
}


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def sendHostile(port: int, data: bytes) -> bytes:
    """Send ``data`` (as much as the peer reads before closing); :return: all it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        try:
            for i in range(0, len(data), 65536):
                s.sendall(data[i : i + 65536])
        except OSError:
            pass  # the router closed the connection early, as it should
        received = b""
        try:
            while chunk := s.recv(65536):
                received += chunk
        except OSError:
            pass
    return received


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_router_answers_hostile_input_with_a_stream_error(
    routerProcess: tuple[int, int], name: str
) -> None:
    port, pid = routerProcess
    data, condition = HOSTILE[name]
    before = rss(pid)
    answer = sendHostile(port, data)
    assert b"<stream:error><" + condition in answer
    assert answer.endswith(b"</stream:stream>")
    assert b"passwd" not in answer and b"lol" not in answer
    assert rss(pid) - before < 32 * 1024 * 1024
