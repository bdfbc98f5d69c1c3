"""glisten.web.xmlrpc.Proxy: calls to Python's SimpleXMLRPCServer and to glisten's XMLRPC
resource over real loopback sockets, faults, Basic credentials, HTTPS verification, and
responses that are refused (too large, entities, not XML-RPC, wrong status)."""

from __future__ import annotations

import datetime
import threading
import xmlrpc.client
from collections.abc import Iterator
from typing import Any
from xmlrpc.server import SimpleXMLRPCRequestHandler, SimpleXMLRPCServer

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet import defer
from glisten.internet.protocol import Factory, Protocol
from glisten.web import server
from glisten.web.xmlrpc import XMLRPC, Fault, Proxy, addIntrospection, parseResponse, withRequest

from .test_client import run, scripted


class Example(XMLRPC):
    def xmlrpc_add(self, a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    def xmlrpc_echo(self, *args: Any) -> Any:
        return args

    async def xmlrpc_later(self, value: str) -> str:
        return value.upper()

    def xmlrpc_fault(self) -> None:
        raise Fault(123, "The fault procedure is faulty.")

    def xmlrpc_nothing(self) -> None:
        return None

    def xmlrpc_when(self) -> datetime.datetime:
        return datetime.datetime(2026, 12, 6, 11, 30, 0)

    @withRequest
    def xmlrpc_header(self, request: Any, name: str) -> str:
        value = request.getHeader(name.encode())
        return "" if value is None else value.decode()


class Math(XMLRPC):
    def xmlrpc_pow(self, base: int, exponent: int) -> int:
        return int(base**exponent)


def site() -> server.Site:
    root = Example(allowNone=True)
    root.putSubHandler("math", Math())
    addIntrospection(root)
    return server.Site(root)


def url(port: int, userinfo: str = "") -> str:
    return f"http://{userinfo}127.0.0.1:{port}/"


def test_callsGlistensResource() -> None:
    factory = site()

    async def main(reactor: Any, port: int) -> dict[str, Any]:
        factory.reactor = reactor
        proxy = Proxy(url(port).encode(), reactor=reactor)
        results: dict[str, Any] = {
            "add": await proxy.callRemote("add", 40, 2),
            "echo": await proxy.callRemote("echo", "héllo <&>", [1, 2.5], {"a": True}),
            "later": await proxy.callRemote("later", "x"),
            "pow": await proxy.callRemote("math.pow", 2, 10),
            "methods": await proxy.callRemote("system.listMethods"),
            "help": await proxy.callRemote("system.methodHelp", "add"),
            "agent": await proxy.callRemote("header", "user-agent"),
            "type": await proxy.callRemote("header", "content-type"),
            "nothing": await proxy.callRemote("nothing"),
            "when": await proxy.callRemote("when"),
            "datetime": await Proxy(url(port), useDateTime=True, reactor=reactor).callRemote(
                "when"
            ),
        }
        for name in ("fault", "missing"):
            with pytest.raises(Fault) as info:
                await proxy.callRemote(name)
            results[name] = (info.value.faultCode, info.value.faultString)
        return results

    results = run(main, factory)
    assert results["add"] == 42
    assert results["echo"] == ["héllo <&>", [1, 2.5], {"a": True}]
    assert results["later"] == "X" and results["pow"] == 1024
    assert "math.pow" in results["methods"] and results["help"] == "Add two numbers."
    assert results["agent"] == "glisten XML-RPC"
    assert results["type"].startswith("text/xml")
    assert results["nothing"] is None
    assert isinstance(results["when"], xmlrpc.client.DateTime)
    assert results["datetime"] == datetime.datetime(2026, 12, 6, 11, 30, 0)
    assert results["fault"] == (123, "The fault procedure is faulty.")
    assert results["missing"] == (XMLRPC.NOT_FOUND, "procedure missing not found")


def test_basicCredentials() -> None:
    factory = site()

    async def main(reactor: Any, port: int) -> list[str]:
        factory.reactor = reactor
        fromURL = Proxy(url(port, "alice:s%3Acret@"), reactor=reactor)
        overridden = Proxy(url(port, "alice:x@"), user="bob", password="pw", reactor=reactor)
        none = Proxy(url(port), reactor=reactor)
        return [await p.callRemote("header", "authorization") for p in (fromURL, overridden, none)]

    fromURL, overridden, none = run(main, factory)
    assert fromURL == "Basic " + _b64("alice:s%3Acret")
    assert overridden == "Basic " + _b64("bob:pw")
    assert none == ""


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_attributesAsTwisted() -> None:
    proxy = Proxy(b"https://u:p@example.com:8443/RPC2?x=1")
    assert (proxy.host, proxy.port, proxy.path, proxy.secure) == (
        b"example.com",
        8443,
        b"/RPC2",
        True,
    )
    assert (proxy.user, proxy.password) == (b"u", b"p")
    plain = Proxy(b"http://example.com")
    assert (plain.path, plain.port, plain.secure, plain.user) == (b"/", None, False, None)


class _QuietHandler(SimpleXMLRPCRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pythonServer() -> Iterator[int]:
    """Python's own XML-RPC server, in a thread; yields its port."""
    srv = SimpleXMLRPCServer(
        ("127.0.0.1", 0), requestHandler=_QuietHandler, logRequests=False, allow_none=True
    )
    srv.register_introspection_functions()
    srv.register_function(lambda a, b: a + b, "add")
    srv.register_function(lambda *args: list(args), "echo")
    srv.register_function(lambda: 1 / 0, "divide")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(10)


def test_callsPythonsServer(pythonServer: int) -> None:
    async def main(reactor: Any, port: int) -> dict[str, Any]:
        proxy = Proxy(url(pythonServer), allowNone=True, reactor=reactor)
        results: dict[str, Any] = {
            "add": await proxy.callRemote("add", 2, 3),
            "echo": await proxy.callRemote(
                "echo", None, b"\x00\xff", xmlrpc.client.Binary(b"bin"), "é"
            ),
            "methods": await proxy.callRemote("system.listMethods"),
        }
        with pytest.raises(Fault) as info:
            await proxy.callRemote("divide")
        results["fault"] = info.value.faultString
        # The standard library's server answers 404 elsewhere than /RPC2 and /.
        with pytest.raises(ValueError) as bad:
            await Proxy(url(pythonServer) + "elsewhere", reactor=reactor).callRemote("add", 1, 1)
        results["status"] = bad.value.args
        # None is refused before anything is sent when allowNone is off.
        with pytest.raises(TypeError):
            await Proxy(url(pythonServer), reactor=reactor).callRemote("echo", None)
        return results

    results = run(main)
    assert results["add"] == 5
    echoed = results["echo"]
    assert echoed[0] is None and echoed[3] == "é"
    assert echoed[1].data == b"\x00\xff" and echoed[2].data == b"bin"
    assert "add" in results["methods"]
    assert "ZeroDivisionError" in results["fault"]
    assert results["status"] == (b"404", b"Not Found")


def _reply(body: bytes, status: bytes = b"200 OK") -> bytes:
    return b"HTTP/1.1 %s\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s" % (
        status,
        len(body),
        body,
    )


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "lollollol">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    b"<methodResponse><params><param><value><string>&b;</string></value></param>"
    b"</params></methodResponse>"
)
DEEP = (
    b"<methodResponse><params><param>"
    + b"<value><array><data>" * 100
    + b"</data></array></value>" * 100
    + b"</param></params></methodResponse>"
)


@pytest.mark.parametrize(
    "body",
    [
        LAUGHS,
        DEEP,
        b"not xml",
        b"<methodResponse><params></params></methodResponse>",
        b"<methodCall><methodName>x</methodName><params/></methodCall>",
        b"<methodResponse><params><param><value><int>x</int></value></param>"
        b"</params></methodResponse>",
    ],
)
def test_hostileResponsesAreRefused(body: bytes) -> None:
    async def main(reactor: Any, port: int) -> str:
        with pytest.raises(xmlrpc.client.ResponseError) as info:
            await Proxy(url(port), reactor=reactor).callRemote("x")
        return str(info.value)

    message = run(main, scripted([[_reply(body)]], []))
    assert "lol" not in message and "methodCall" not in message


def test_responseSizeLimit() -> None:
    big = xmlrpc.client.dumps(("x" * 5000,), methodresponse=True).encode()
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(
        b"%x\r\n%s\r\n" % (len(big[i : i + 100]), big[i : i + 100]) for i in range(0, len(big), 100)
    )

    async def main(reactor: Any, port: int) -> list[str]:
        messages = []
        for _ in range(2):
            proxy = Proxy(url(port), reactor=reactor)
            proxy.maxResponseSize = 1000
            with pytest.raises(xmlrpc.client.ResponseError) as info:
                await proxy.callRemote("x")
            messages.append(info.value.args[0])
        proxy = Proxy(url(port), reactor=reactor)
        messages.append(await proxy.callRemote("x"))
        return messages

    # Too large by its Content-Length, too large as it streams in, and within the default.
    messages = run(main, scripted([[_reply(big)], [chunked], [_reply(big)]], []))
    assert messages[:2] == ["XML-RPC response too large"] * 2
    assert messages[2] == "x" * 5000


class _Silent(Protocol):
    """Reads the request and never answers; tells the test when it arrived and when the
    client hung up."""

    def __init__(self, arrived: defer.Deferred[None], lost: defer.Deferred[None]) -> None:
        self.arrived, self.lost = arrived, lost

    def dataReceived(self, data: bytes) -> None:
        if not self.arrived.called:
            self.arrived.callback(None)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.callback(None)


def test_cancelDropsTheConnection() -> None:
    arrived: defer.Deferred[None] = defer.Deferred()
    lost: defer.Deferred[None] = defer.Deferred()
    factory = Factory.forProtocol(lambda: _Silent(arrived, lost))

    async def main(reactor: Any, port: int) -> bool:
        d = Proxy(url(port), reactor=reactor).callRemote("x")
        await arrived
        d.cancel()
        with pytest.raises(defer.CancelledError):
            await d
        await lost
        return True

    assert run(main, factory)


def test_httpsVerifiesTheServer() -> None:
    from glisten.internet.ssl import Certificate, KeyPair
    from glisten.web.client import BrowserLikePolicyForHTTPS

    certificate = KeyPair.generate(size=2048).selfSignedCert(1, commonName="localhost")
    factory = site()

    async def main(reactor: Any, _: int) -> tuple[int, str]:
        factory.reactor = reactor
        tls = reactor.listenSSL(0, factory, certificate.options(), interface="127.0.0.1")
        address = f"https://localhost:{tls.getHost().port}/"
        trusted = BrowserLikePolicyForHTTPS(Certificate.loadPEM(certificate.dumpPEM()))
        result = await Proxy(address, reactor=reactor, contextFactory=trusted).callRemote(
            "add", 1, 2
        )
        # Without the test authority, the platform's do not vouch for the server.
        with pytest.raises(Exception) as info:
            await Proxy(address, reactor=reactor).callRemote("add", 1, 2)
        await tls.stopListening()
        return result, repr(info.value)

    result, error = run(main, factory)
    assert result == 3
    assert "certificate verify failed" in error


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda value, cut: xmlrpc.client.dumps(
                (value,), methodresponse=True, allow_none=True
            ).encode()[:cut],
            st.recursive(
                st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.text(),
                lambda inner: st.lists(inner, max_size=3),
                max_leaves=8,
            ),
            st.integers(0, 400),
        ),
    )
)
def test_parseResponseFuzz(data: bytes) -> None:
    try:
        parseResponse(data, 64)
    except (xmlrpc.client.ResponseError, Fault):
        pass


def test_bodyReaderWholeAndByteAtATime() -> None:
    from glisten.internet.testing import StringTransport
    from glisten.python.failure import Failure
    from glisten.web._newclient import ResponseDone
    from glisten.web.xmlrpc import _BodyReader

    data = xmlrpc.client.dumps(([1, "two", {"three": 3.0}],), methodresponse=True).encode()
    for pieces in ([data], [data[i : i + 1] for i in range(len(data))]):
        got: defer.Deferred[bytes] = defer.Deferred()
        reader = _BodyReader(len(data), got)
        reader.makeConnection(StringTransport())
        for piece in pieces:
            reader.dataReceived(piece)
        reader.connectionLost(Failure(ResponseDone()))
        assert parseResponse(got.result, 64) == [1, "two", {"three": 3.0}]
    # One byte over the limit: the body stops there and the call fails.
    tooMuch: defer.Deferred[bytes] = defer.Deferred()
    transport = StringTransport()
    reader = _BodyReader(len(data) - 1, tooMuch)
    reader.makeConnection(transport)
    for i in range(len(data)):
        reader.dataReceived(data[i : i + 1])
    assert transport.producerState == "stopped"
    failures: list[Any] = []
    tooMuch.addErrback(failures.append)
    assert failures[0].check(xmlrpc.client.ResponseError)
