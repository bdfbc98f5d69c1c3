"""serverFromString / clientFromString: every type, and the errors they give."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet import endpoints
from glisten.internet.endpoints import (
    AdoptedStreamServerEndpoint,
    HostnameEndpoint,
    SSL4ServerEndpoint,
    StandardIOEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    TCP6ClientEndpoint,
    TCP6ServerEndpoint,
    UNIXClientEndpoint,
    UNIXServerEndpoint,
    clientFromString,
    quoteStringArgument,
    serverFromString,
)
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.testing import MemoryReactor


def listenWith(reactor: MemoryReactor, description: str) -> Any:
    endpoint = serverFromString(reactor, description)
    results: list[Any] = []
    endpoint.listen(Factory.forProtocol(Protocol)).addBoth(results.append)
    return endpoint, results[0]


def test_tcp_server() -> None:
    reactor = MemoryReactor()
    endpoint, _ = listenWith(reactor, "tcp:8080:interface=127.0.0.1:backlog=7")
    assert isinstance(endpoint, TCP4ServerEndpoint)
    port, _, backlog, interface = reactor.tcpServers[0]
    assert (port, backlog, interface) == (8080, 7, "127.0.0.1")
    listenWith(reactor, "TCP:port=0")
    assert reactor.tcpServers[1][0] == 0 and reactor.tcpServers[1][3] == ""
    listenWith(reactor, "tcp:81:127.0.0.2")
    assert reactor.tcpServers[2][3] == "127.0.0.2"


def test_tcp6_server() -> None:
    reactor = MemoryReactor()
    endpoint, _ = listenWith(reactor, "tcp6:8080")
    assert isinstance(endpoint, TCP6ServerEndpoint)
    assert reactor.tcpServers[0][3] == "::"
    listenWith(reactor, r"tcp6:8081:interface=\:\:1")
    assert reactor.tcpServers[1][3] == "::1"


def test_unix_server() -> None:
    reactor = MemoryReactor()
    endpoint, _ = listenWith(reactor, "unix:/tmp/x.sock:mode=660:lockfile=1:backlog=3")
    assert isinstance(endpoint, UNIXServerEndpoint)
    address, _, backlog, mode, wantPID = reactor.unixServers[0]
    assert (address, backlog, mode, bool(wantPID)) == ("/tmp/x.sock", 3, 0o660, True)
    listenWith(reactor, r"unix:address=/tmp/a\:b.sock")
    assert reactor.unixServers[1][0] == "/tmp/a:b.sock"
    assert reactor.unixServers[1][3] == 0o666


def test_ssl_server(tmp_path: Path, makeCertificate: Any) -> None:
    keyPath, certPath = makeCertificate(tmp_path)
    reactor = MemoryReactor()
    endpoint, _ = listenWith(
        reactor,
        f"ssl:8443:privateKey={keyPath}:certKey={certPath}:extraCertChain={certPath}"
        ":interface=127.0.0.1",
    )
    assert isinstance(endpoint, SSL4ServerEndpoint)
    port, _, options, _, interface = reactor.sslServers[0]
    assert (port, interface) == (8443, "127.0.0.1")
    assert options.getContext() is not None
    combined = tmp_path / "server.pem"
    combined.write_bytes(keyPath.read_bytes() + certPath.read_bytes())
    listenWith(reactor, f"ssl:8444:privateKey={combined}")
    assert reactor.sslServers[1][0] == 8444


def test_ssl_server_errors_name_the_field(tmp_path: Path, makeCertificate: Any) -> None:
    keyPath, certPath = makeCertificate(tmp_path)
    otherKey, _ = makeCertificate(tmp_path, "other")
    reactor = MemoryReactor()
    cases = {
        f"ssl:8443:privateKey={tmp_path}/missing.pem": "'privateKey'",
        f"ssl:8443:privateKey={certPath}": "'privateKey'",
        f"ssl:8443:privateKey={keyPath}": "'certKey'",
        f"ssl:8443:privateKey={otherKey}:certKey={certPath}": "'privateKey'",
        f"ssl:8443:privateKey={keyPath}:certKey={certPath}:dhParameters={certPath}": (
            "'dhParameters'"
        ),
        f"ssl:8443:privateKey={keyPath}:certKey={certPath}:extraCertChain={keyPath}": (
            "'extraCertChain'"
        ),
    }
    for description, field in cases.items():
        with pytest.raises(ValueError, match=field):
            serverFromString(reactor, description)


def test_stdio_server() -> None:
    assert isinstance(serverFromString(MemoryReactor(), "stdio:"), StandardIOEndpoint)


def passSocket(monkeypatch: pytest.MonkeyPatch, sock: socket.socket, names: str) -> int:
    """Make ``sock`` look like the one socket systemd passed.

    systemd passes fd 3 onwards; in a test process fd 3 is taken, so a duplicate of the
    socket stands in and the parser's start descriptor points at it.
    """
    fd = os.dup(sock.fileno())
    monkeypatch.setattr("glisten.internet._systemd.SD_LISTEN_FDS_START", fd)
    monkeypatch.setenv("LISTEN_PID", str(os.getpid()))
    monkeypatch.setenv("LISTEN_FDS", "1")
    monkeypatch.setenv("LISTEN_FDNAMES", names)
    return fd


def test_systemd_server(monkeypatch: pytest.MonkeyPatch) -> None:
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    fd = passSocket(monkeypatch, listening, "web")
    reactor = MemoryReactor()
    try:
        endpoint = serverFromString(reactor, "systemd:domain=INET:index=0")
        assert isinstance(endpoint, AdoptedStreamServerEndpoint)
        assert (endpoint.fileno, endpoint.addressFamily) == (fd, socket.AF_INET)
        byName = serverFromString(reactor, "systemd:domain=inet:name=web")
        assert byName.fileno == fd
        with pytest.raises(ValueError, match="'index'.*no socket number 1"):
            serverFromString(reactor, "systemd:domain=INET:index=1")
        with pytest.raises(ValueError, match="'name'.*no socket named 'api'"):
            serverFromString(reactor, "systemd:domain=INET:name=api")
        with pytest.raises(ValueError, match="not of domain INET6"):
            serverFromString(reactor, "systemd:domain=INET6:index=0")
        with pytest.raises(ValueError, match="'domain'"):
            serverFromString(reactor, "systemd:domain=IPX:index=0")
        with pytest.raises(ValueError, match="exactly one"):
            serverFromString(reactor, "systemd:domain=INET")
        with pytest.raises(ValueError, match="exactly one"):
            serverFromString(reactor, "systemd:domain=INET:index=0:name=web")
        monkeypatch.setenv("LISTEN_PID", str(os.getpid() + 1))
        with pytest.raises(ValueError, match="0 passed"):
            serverFromString(reactor, "systemd:domain=INET:index=0")
    finally:
        os.close(fd)
        listening.close()


def test_systemd_rejects_non_listening_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    unbound = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fd = passSocket(monkeypatch, unbound, "")
    try:
        with pytest.raises(ValueError, match="not listening"):
            serverFromString(MemoryReactor(), "systemd:domain=INET:index=0")
    finally:
        os.close(fd)
        unbound.close()


def test_haproxy_wraps_any_server() -> None:
    from glisten.internet._haproxywrapper import HAProxyWrappingFactory

    reactor = MemoryReactor()
    endpoint, port = listenWith(reactor, "haproxy:tcp:8080:interface=127.0.0.1")
    assert reactor.tcpServers[0][0] == 8080
    assert isinstance(reactor.tcpServers[0][1], HAProxyWrappingFactory)
    listenWith(reactor, "haproxy:unix:/tmp/p.sock")
    assert isinstance(reactor.unixServers[0][1], HAProxyWrappingFactory)
    with pytest.raises(ValueError, match="haproxy endpoint"):
        serverFromString(reactor, "haproxy:")
    with pytest.raises(ValueError, match="tcp endpoint: field 'port'"):
        serverFromString(reactor, "haproxy:tcp:http")


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("", "empty"),
        ("tcp", "missing field 'port'"),
        ("tcp:", "missing field 'port'"),
        ("tcp:http", "field 'port'"),
        ("tcp:-1", "field 'port'"),
        ("tcp:70000", "field 'port'.*out of range"),
        ("tcp:80:backlog=lots", "field 'backlog'"),
        ("tcp:80:backlog=0", "field 'backlog'"),
        ("tcp:80:color=red", "unknown field 'color'"),
        ("tcp:80:backlog=1:backlog=2", "'backlog' given twice"),
        ("tcp:80:1.2.3.4:5:6", "too many positional fields"),
        ("tcp:80:interface=1.2.3.4:1.2.3.5", "given twice"),
        ("unix:", "missing field 'address'"),
        ("unix:/x:mode=999", "field 'mode'"),
        ("unix:/x:lockfile=maybe", "field 'lockfile'"),
        ("frob:80", "unknown endpoint type 'frob'"),
        ("8080", "did you mean tcp:8080"),
        ("tcp:80\\", "lone backslash"),
        ("port=80", "must start with its type"),
        ("stdio:x", "too many positional"),
        ("ssl:", "missing field 'port'"),
        ("systemd:index=0", "missing field 'domain'"),
    ],
)
def test_bad_server_descriptions(description: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        serverFromString(MemoryReactor(), description)


def test_non_string_description() -> None:
    with pytest.raises(TypeError):
        serverFromString(MemoryReactor(), b"tcp:80")  # type: ignore[arg-type]


def test_tcp_clients() -> None:
    reactor = MemoryReactor()
    e4 = clientFromString(reactor, "tcp:127.0.0.1:80:timeout=5:bindAddress=127.0.0.2")
    assert isinstance(e4, TCP4ClientEndpoint)
    e4.connect(Factory.forProtocol(Protocol))
    assert reactor.tcpClients[0][:2] == ("127.0.0.1", 80)
    assert reactor.tcpClients[0][3:] == (5.0, ("127.0.0.2", 0))
    e6 = clientFromString(reactor, r"tcp:host=\:\:1:port=80")
    assert isinstance(e6, TCP6ClientEndpoint)
    named = clientFromString(reactor, "tcp:example.com:443")
    assert isinstance(named, HostnameEndpoint)
    idn = clientFromString(reactor, "tcp:bücher.example:443")
    assert isinstance(idn, HostnameEndpoint)
    assert idn._hostStr == "xn--bcher-kva.example"


def test_unix_client() -> None:
    reactor = MemoryReactor()
    endpoint = clientFromString(reactor, "unix:/run/x.sock:timeout=2:checkPID=1")
    assert isinstance(endpoint, UNIXClientEndpoint)
    endpoint.connect(Factory.forProtocol(Protocol))
    assert reactor.unixClients[0][0] == "/run/x.sock"
    assert reactor.unixClients[0][2:] == (2.0, 1)


def test_tls_clients_verify(tmp_path: Path, makeCertificate: Any) -> None:
    _, certPath = makeCertificate(tmp_path)
    roots = tmp_path / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes(certPath.read_bytes())
    reactor = MemoryReactor()
    tls = clientFromString(reactor, f"tls:localhost:443:trustRoots={roots}")
    assert isinstance(tls, endpoints._WrapperEndpoint)
    ssl = clientFromString(reactor, f"ssl:localhost:443:caCertsDir={roots}")
    assert isinstance(ssl, endpoints._WrapperEndpoint)
    nested = clientFromString(
        reactor, f"tls:localhost:443:endpoint={quoteStringArgument('tcp:127.0.0.1:8443')}"
    )
    assert isinstance(nested._wrappedEndpoint, TCP4ClientEndpoint)
    with pytest.raises(ValueError, match="'trustRoots'"):
        clientFromString(reactor, f"tls:localhost:443:trustRoots={tmp_path}/none")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="'trustRoots'.*no PEM"):
        clientFromString(reactor, f"tls:localhost:443:trustRoots={empty}")
    with pytest.raises(ValueError, match="'privateKey'.*needs 'certificate'"):
        clientFromString(reactor, f"tls:localhost:443:privateKey={certPath}")
    with pytest.raises(ValueError, match="'endpoint'"):
        clientFromString(reactor, "tls:localhost:443:endpoint=tcp")


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("tcp:example.com", "missing field 'port'"),
        ("tcp:example.com:0", "field 'port'"),
        ("tcp:example.com:80:timeout=soon", "field 'timeout'"),
        ("tcp:example.com:80:timeout=-1", "field 'timeout'"),
        ("tcp:example.com:80:bindAddress=nowhere", "field 'bindAddress'"),
        ("tcp::80", "missing field 'host'"),
        ("unix:", "missing field 'path'"),
        ("tls:example.com", "missing field 'port'"),
        ("gopher:x:70", "unknown endpoint type 'gopher'"),
    ],
)
def test_bad_client_descriptions(description: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clientFromString(MemoryReactor(), description)


def test_quoting_round_trip() -> None:
    weird = r"/tmp/a:b\c=d"
    reactor = MemoryReactor()
    listenWith(reactor, f"unix:{quoteStringArgument(weird)}")
    assert reactor.unixServers[0][0] == weird


def test_plugin_endpoint_types(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib import metadata

    class Parser:
        prefix = "memory"

        def parseStreamServer(self, reactor: Any, *args: str, **kwargs: str) -> Any:
            return ("server", args, kwargs)

        def parseStreamClient(self, reactor: Any, *args: str, **kwargs: str) -> Any:
            return ("client", args, kwargs)

    parser = Parser()

    class EP:
        name = "memory"

        def load(self) -> Any:
            return parser

    def fakeEntryPoints(group: str) -> list[Any]:
        return [EP()] if group == "glisten.endpoints" else []

    monkeypatch.setattr(metadata, "entry_points", fakeEntryPoints)
    reactor = MemoryReactor()
    assert serverFromString(reactor, "memory:a:b=c") == ("server", ("a",), {"b": "c"})
    assert clientFromString(reactor, "memory:x") == ("client", ("x",), {})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["tcp", "tcp6", "unix", "ssl", "tls", "stdio", "haproxy", "systemd", "x", "80"]
        )
        | st.text(alphabet=":=\\ab0129.-/[]", max_size=12),
        max_size=6,
    ).map(":".join)
)
def test_random_descriptions_only_raise_ValueError(description: str) -> None:
    reactor = MemoryReactor()
    for parse in (serverFromString, clientFromString):
        try:
            parse(reactor, description)
        except ValueError:
            pass


def test_nested_haproxy_is_refused() -> None:
    with pytest.raises(ValueError, match="another haproxy"):
        serverFromString(MemoryReactor(), "haproxy:haproxy:tcp:80")


def test_stringBacklogDefaultsToTheSystemMaximum() -> None:
    reactor = MemoryReactor()
    listenWith(reactor, "tcp:8080")
    listenWith(reactor, "tcp6:8080")
    listenWith(reactor, "unix:/tmp/y.sock")
    assert [server[2] for server in reactor.tcpServers] == [socket.SOMAXCONN] * 2
    assert reactor.unixServers[0][2] == socket.SOMAXCONN
    # The classes keep Twisted's default.
    assert TCP4ServerEndpoint(reactor, 0)._backlog == 50


def test_connectBurstIsQueuedNotDropped(reactor: Any) -> None:
    """300 connections arriving while the server accepts none all complete their handshake:
    with a backlog of 50 the 52nd would wait for SYN retransmits (seconds each)."""
    _, port = listenWith(reactor, "tcp:0:interface=127.0.0.1")  # listening happens at once
    number = port.getHost().port
    clients = []
    try:
        for _ in range(300):
            s = socket.socket()
            s.settimeout(0.5)
            s.connect(("127.0.0.1", number))  # the reactor is not running: nobody accepts
            clients.append(s)
        assert len(clients) == 300
    finally:
        for s in clients:
            s.close()
        port.stopListening()
