"""AMP pieces Twisted programs use: Box, keyword/dash argument names, errors as pairs,
ProtocolSwitchCommand, Descriptor, the interfaces."""

from __future__ import annotations

import os
from typing import Any

from zope.interface.verify import verifyClass, verifyObject

from glisten.internet.protocol import ClientFactory, Protocol
from glisten.internet.testing import connectedServerAndClient
from glisten.protocols import amp


class Print(amp.Command):
    arguments = [
        (b"print", amp.Unicode()),
        (b"dash-arg", amp.Integer()),
        (b"from", amp.Integer(optional=True)),
    ]
    response = [(b"class", amp.Unicode())]


class Base(amp.Command):
    errors = [(KeyError, b"KEY")]


class Derived(Base):
    arguments = [(b"x", amp.Integer())]
    errors = [(ValueError, b"VALUE")]
    fatalErrors = {OSError: b"OS"}


class Echoer(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.write(b"echo:" + data)


class Collector(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.made = False
        self.lost: Any = None

    def connectionMade(self) -> None:
        self.made = True

    def dataReceived(self, data: bytes) -> None:
        self.data += data

    def connectionLost(self, reason: Any = None) -> None:
        self.lost = reason


class Switch(amp.ProtocolSwitchCommand):
    arguments = [(b"name", amp.Unicode())]
    errors = {KeyError: b"REFUSED"}


class Server(amp.AMP):
    @Print.responder
    def doPrint(self, Print: str, dash_arg: int, From: int | None) -> dict[str, Any]:
        return {"Class": f"{Print}/{dash_arg}/{From}"}

    @Derived.responder
    def derived(self, x: int) -> dict[str, Any]:
        if x == 1:
            raise KeyError("k")
        raise ValueError("v")

    @Switch.responder
    def switch(self, name: str) -> Any:
        if name == "no":
            raise KeyError("refused")
        self.switchedTo = Echoer()
        return self.switchedTo


def _pair() -> tuple[Server, amp.AMP, Any]:
    client, server, pump = connectedServerAndClient(Server, amp.AMP)
    return server, client, pump


def test_box_alias_and_interfaces() -> None:
    assert amp.Box is amp.AmpBox
    verifyClass(amp.IArgumentType, amp.Integer)
    verifyClass(amp.IBoxSender, amp.BinaryBoxProtocol)
    verifyClass(amp.IBoxReceiver, amp.BoxDispatcher)
    verifyClass(amp.IResponderLocator, amp.CommandLocator)
    verifyObject(amp.IArgumentType, amp.Descriptor())
    assert amp.utc.utcoffset(None).total_seconds() == 0


def test_keyword_and_dash_names() -> None:
    server, client, pump = _pair()
    out: list[Any] = []
    client.callRemote(Print, Print="hi", dash_arg=3).addBoth(out.append)
    pump.flush()
    assert out == [{"Class": "hi/3/None"}]
    box = Print.makeArguments({"Print": "x", "dash_arg": 1, "From": 2}, None)
    assert box == {b"print": b"x", b"dash-arg": b"1", b"from": b"2"}


def test_errors_as_pairs_are_dicts_and_inherited() -> None:
    assert Base.errors == {KeyError: b"KEY"}
    assert Derived.errors == {ValueError: b"VALUE"}
    assert Derived.allErrors == {KeyError: b"KEY", ValueError: b"VALUE", OSError: b"OS"}
    assert Derived.reverseErrors[b"KEY"] is KeyError
    server, client, pump = _pair()
    out: list[Any] = []
    client.callRemote(Derived, x=1).addBoth(out.append)
    client.callRemote(Derived, x=2).addBoth(out.append)
    pump.flush()
    assert out[0].check(KeyError) and out[1].check(ValueError)


def test_protocol_switch() -> None:
    server, client, pump = _pair()
    inner = Collector()

    class F(ClientFactory):
        lost: Any = None

        def buildProtocol(self, addr: Any) -> Any:
            return inner

        def clientConnectionLost(self, connector: Any, reason: Any) -> None:
            self.lost = reason

    factory = F()
    out: list[Any] = []
    client.callRemote(Switch, factory, name="go").addBoth(out.append)
    # While the switch is pending, AMP traffic is refused.
    refused: list[Any] = []
    client.callRemote(Print, Print="x", dash_arg=1).addBoth(refused.append)
    assert refused and refused[0].check(amp.ProtocolSwitched)
    pump.flush()
    assert out == [{}]
    assert inner.made and client.innerProtocol is inner
    inner.transport.write(b"raw bytes")
    pump.flush()
    assert inner.data == b"echo:raw bytes"
    assert isinstance(server.switchedTo, Echoer)
    # Boxes cannot be sent any more.
    later: list[Any] = []
    client.callRemote(Print, Print="x", dash_arg=1).addBoth(later.append)
    assert later[0].check(amp.ProtocolSwitched)


def test_protocol_switch_refused() -> None:
    server, client, pump = _pair()
    failed: list[Any] = []

    class F(ClientFactory):
        def buildProtocol(self, addr: Any) -> Any:
            raise AssertionError("not switched")

        def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
            failed.append(reason)

    out: list[Any] = []
    client.callRemote(Switch, F(), name="no").addBoth(out.append)
    pump.flush()
    assert out and out[0].check(KeyError) and failed
    # AMP works again.
    again: list[Any] = []
    client.callRemote(Print, Print="a", dash_arg=2).addBoth(again.append)
    pump.flush()
    assert again == [{"Class": "a/2/None"}]


def test_switch_data_in_same_chunk_goes_to_inner() -> None:
    """Bytes right behind the switch answer, in the same read, belong to the new protocol."""
    client = amp.AMP()
    from glisten.internet.testing import StringTransport

    client.makeConnection(StringTransport())
    inner = Collector()

    class F(ClientFactory):
        def buildProtocol(self, addr: Any) -> Any:
            return inner

    d = client.callRemote(Switch, F(), name="go")
    sent = client.transport.value()
    from glisten.protocols._ampcodec import AmpBoxDecoder

    tag = AmpBoxDecoder().feed(sent)[0][b"_ask"]
    answer = amp.AmpBox({b"_answer": tag}).serialize()
    client.dataReceived(answer + b"\x00\x05after the switch")
    out: list[Any] = []
    d.addBoth(out.append)
    assert out == [{}]
    assert inner.data == b"\x00\x05after the switch"


class Passer(amp.Command):
    arguments = [(b"fd", amp.Descriptor())]
    response = [(b"content", amp.String())]


class FDServer(amp.AMP):
    @Passer.responder
    def passed(self, fd: int) -> dict[str, Any]:
        with os.fdopen(fd, "rb") as f:
            return {"content": f.read()}


def test_descriptor_over_unix_socket(reactor: Any, wait: Any, tmp_path: Any) -> None:
    from glisten.internet.defer import Deferred
    from glisten.internet.protocol import Factory

    path = str(tmp_path / "amp.sock")
    data = tmp_path / "data.txt"
    data.write_bytes(b"passed through a descriptor")

    async def scenario() -> Any:
        port = reactor.listenUNIX(path, Factory.forProtocol(FDServer))
        from glisten.internet.protocol import ClientCreator

        client = await ClientCreator(reactor, amp.AMP).connectUNIX(path)
        fd = os.open(str(data), os.O_RDONLY)
        try:
            result = await client.callRemote(Passer, fd=fd)
        finally:
            os.close(fd)
        client.transport.loseConnection()
        await port.stopListening()
        return result

    result = wait(lambda: Deferred.fromCoroutine(scenario()))
    assert result == {"content": b"passed through a descriptor"}
