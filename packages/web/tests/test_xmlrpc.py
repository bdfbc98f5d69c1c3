"""glisten.web.xmlrpc: the XMLRPC resource with Python's xmlrpc.client as the peer, faults,
introspection, withRequest, Deferreds and coroutines, and hostile requests."""

from __future__ import annotations

import datetime
import xmlrpc.client
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.defer import Deferred, succeed
from glisten.web import xmlrpc as gxmlrpc
from glisten.web.xmlrpc import XMLRPC, Fault, addIntrospection, withRequest


class Math(XMLRPC):
    def xmlrpc_pow(self, base: int, exponent: int) -> int:
        """Raise base to exponent."""
        return int(base**exponent)

    xmlrpc_pow.signature = [["int", "int", "int"]]  # type: ignore[attr-defined]


class Example(XMLRPC):
    def xmlrpc_echo(self, *args: Any) -> Any:
        """Return all passed args."""
        return args

    def xmlrpc_add(self, a: int, b: int) -> int:
        return a + b

    def xmlrpc_later(self, value: str) -> Deferred[str]:
        return succeed(value.upper())

    async def xmlrpc_coro(self, value: int) -> int:
        return value * 2

    def xmlrpc_fault(self) -> None:
        raise Fault(123, "The fault procedure is faulty.")

    def xmlrpc_boom(self) -> None:
        raise RuntimeError("internal secret")

    def xmlrpc_unserializable(self) -> object:
        return object()

    def xmlrpc_nothing(self) -> None:
        return None

    @withRequest
    def xmlrpc_client(self, request: Any, suffix: str) -> str:
        return request.getHeader(b"user-agent").decode() + suffix

    def xmlrpc_when(self, when: Any) -> str:
        return type(when).__name__


def makeRoot(**kwargs: Any) -> Example:
    root = Example(**kwargs)
    root.putSubHandler("math", Math())
    addIntrospection(root)
    return root


def call(conn: Any, body: bytes, path: bytes = b"/") -> tuple[int, bytes]:
    response = conn.send(
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s"
        % (path, len(body), body)
    )
    head, _, rest = response.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def rpc(conn: Any, method: str, *params: Any) -> Any:
    status, body = call(conn, xmlrpc.client.dumps(params, method).encode())
    assert status == 200
    return xmlrpc.client.loads(body)[0][0]


def test_callsInMemory(connect: Callable[..., Any]) -> None:
    conn = connect(makeRoot())
    assert rpc(conn, "add", 2, 3) == 5
    assert rpc(conn, "echo", "a", [1, {"k": 2.5}]) == ["a", [1, {"k": 2.5}]]
    assert rpc(conn, "later", "x") == "X"
    assert rpc(conn, "coro", 21) == 42
    assert rpc(conn, "math.pow", 2, 10) == 1024


@pytest.mark.parametrize(
    ("method", "code", "text"),
    [
        ("fault", 123, "The fault procedure is faulty."),
        ("boom", XMLRPC.FAILURE, "error"),
        ("unserializable", XMLRPC.FAILURE, "Can't serialize output"),
        ("nothing", XMLRPC.FAILURE, "Can't serialize output"),
        ("missing", XMLRPC.NOT_FOUND, "procedure missing not found"),
        ("nosub.x", XMLRPC.NOT_FOUND, "no such subHandler nosub"),
    ],
)
def test_faults(method: str, code: int, text: str, connect: Callable[..., Any]) -> None:
    with pytest.raises(Fault) as info:
        rpc(connect(makeRoot()), method)
    assert info.value.faultCode == code and text in info.value.faultString
    assert "internal secret" not in info.value.faultString


def test_allowNone(connect: Callable[..., Any]) -> None:
    assert rpc(connect(makeRoot(allowNone=True)), "nothing") is None


def test_useDateTime(connect: Callable[..., Any]) -> None:
    when = xmlrpc.client.DateTime(datetime.datetime(2020, 1, 2, 3, 4, 5))
    assert rpc(connect(makeRoot()), "when", when) == "DateTime"
    assert rpc(connect(makeRoot(useDateTime=True)), "when", when) == "datetime"


def test_introspection(connect: Callable[..., Any]) -> None:
    conn = connect(makeRoot())
    methods = rpc(conn, "system.listMethods")
    assert "add" in methods and "math.pow" in methods and "system.methodHelp" in methods
    assert rpc(conn, "system.methodHelp", "echo") == "Return all passed args."
    assert rpc(conn, "system.methodHelp", "math.pow") == "Raise base to exponent."
    assert rpc(conn, "system.methodSignature", "math.pow") == [["int", "int", "int"]]
    assert rpc(conn, "system.methodSignature", "add") == ""


def test_getIsNotAllowed(connect: Callable[..., Any]) -> None:
    response = connect(makeRoot()).send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 405")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<methodCall><methodName>echo</methodName><params><param><value>&lol2;</value></param></params>
</methodCall>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<methodCall><methodName>echo</methodName><params><param><value>&e;</value></param></params>
</methodCall>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL,
        b"not xml at all",
        b"<methodCall><params/></methodCall>",
        b"<methodCall><methodName>echo</methodName><params><param><value><int>x</int>"
        b"</value></param></params></methodCall>",
        b"<methodCall><methodName>echo</methodName><params><param>"
        + b"<value><array><data>" * 100
        + b"</data></array></value>" * 100
        + b"</param></params></methodCall>",
    ],
)
def test_hostileRequestsGetAFault(body: bytes, connect: Callable[..., Any]) -> None:
    status, response = call(connect(makeRoot()), body)
    assert status == 200
    with pytest.raises(Fault) as info:
        xmlrpc.client.loads(response)
    assert info.value.faultCode == XMLRPC.FAILURE
    assert b"root:" not in response and b"lollol" not in response


def test_sizeLimit(connect: Callable[..., Any]) -> None:
    root = makeRoot()
    root.maxRequestSize = 100
    body = xmlrpc.client.dumps(("x" * 200,), "echo").encode()
    status, response = call(connect(root), body)
    with pytest.raises(Fault, match="too large"):
        xmlrpc.client.loads(response)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parseRequestFuzz(data: bytes) -> None:
    try:
        gxmlrpc.parseRequest(data, 64)
    except gxmlrpc._RequestError:
        pass


def test_xmlrpcClientOverSocket(serveReal: Callable[..., Any]) -> None:
    def client(port: int) -> dict[str, Any]:
        proxy = xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}/", allow_none=True)
        results: dict[str, Any] = {
            "add": proxy.add(40, 2),
            "echo": proxy.echo("héllo", b"\x00\xff", [1, 2], {"a": True}),
            "pow": proxy.math.pow(3, 3),
            "client": proxy.client("!"),
            "methods": proxy.system.listMethods(),
        }
        try:
            proxy.fault()
        except xmlrpc.client.Fault as fault:
            results["fault"] = (fault.faultCode, fault.faultString)
        multi = xmlrpc.client.MultiCall(proxy)
        multi.add(1, 1)
        multi.coro(5)
        results["multi"] = "no multicall"
        try:
            results["multi"] = list(multi())
        except xmlrpc.client.Fault as fault:
            results["multi"] = fault.faultCode
        return results

    results = serveReal(makeRoot(), client)
    assert results["add"] == 42
    assert results["echo"][0] == "héllo" and results["echo"][1].data == b"\x00\xff"
    assert results["echo"][2:] == [[1, 2], {"a": True}]
    assert results["pow"] == 27
    assert results["client"].startswith("Python-xmlrpc/") and results["client"].endswith("!")
    assert "system.methodSignature" in results["methods"]
    assert results["fault"] == (123, "The fault procedure is faulty.")
    # system.multicall is not offered: the client gets a not-found fault.
    assert results["multi"] == XMLRPC.NOT_FOUND
