"""The ``glisten --workers`` supervisor and the shared-socket contract, without processes:
sockets bound for real on loopback, workers as fakes driven by a fake clock."""

from __future__ import annotations

import json
import os
import signal
import socket
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glisten.application import _workers
from glisten.application._workers import (
    FIRST_BACKOFF,
    KILL_MARGIN,
    MAX_BACKOFF,
    Supervisor,
    WorkersError,
    bindShared,
    enterWorker,
    parseWorkerCount,
)
from glisten.application.runner import _workerObserver
from glisten.internet import _inherited
from glisten.internet.endpoints import serverFromString
from glisten.internet.error import ProcessDone, ProcessTerminated
from glisten.internet.protocol import Factory
from glisten.internet.testing import MemoryReactorClock
from glisten.logger import LogLevel
from glisten.python.failure import Failure


@pytest.fixture(autouse=True)
def _noInheritedSockets() -> Iterator[None]:
    _inherited.forgetInherited()
    yield
    _inherited.forgetInherited()


# -- --workers ---------------------------------------------------------------------------------


def test_worker_count() -> None:
    assert parseWorkerCount("3") == 3
    assert parseWorkerCount("auto", cpuCount=lambda: 6) == 6
    assert parseWorkerCount("auto", cpuCount=lambda: None) == 1
    for bad in ("0", "-1", "many", ""):
        with pytest.raises(ValueError, match="--workers"):
            parseWorkerCount(bad)


# -- binding once, adopting in the workers -------------------------------------------------------


def test_bind_shared_tcp_and_unix(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    binder = bindShared(
        ["tcp:0:interface=127.0.0.1", f"unix:{path}", r"haproxy:tcp6:0:interface=\:\:1"]
    )
    try:
        keys = set(binder.sockets)
        assert keys == {("tcp", "127.0.0.1", 0), ("unix", path), ("tcp", "::1", 0)}
        tcp = binder.sockets[("tcp", "127.0.0.1", 0)]
        assert tcp.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        # Listening: a client connects before any worker exists (it waits in the queue).
        with socket.create_connection(tcp.getsockname()[:2], timeout=5):
            pass
        table = binder.table()
        assert {tuple(e["key"]) for e in table} == keys
        assert all(e["fd"] == binder.sockets[tuple(e["key"])].fileno() for e in table)
    finally:
        binder.close()
    assert not os.path.exists(path)


def test_bind_shared_failures() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WorkersError, match=f"cannot listen on tcp:{port}.*address already"):
            bindShared(["tcp:0:interface=127.0.0.1", f"tcp:{port}:interface=127.0.0.1"])
    with pytest.raises(WorkersError, match="stdio"):
        bindShared(["stdio:"])
    with pytest.raises(WorkersError, match="unknown endpoint type"):
        bindShared(["nonsense:1"])
    # systemd's sockets are passed on, not bound.
    assert bindShared(["systemd:domain=INET:index=0"]).sockets == {}
    assert bindShared(["haproxy:systemd:domain=INET:name=web"]).sockets == {}


def test_reuse_port_only_reserves() -> None:
    binder = bindShared(["tcp:0:interface=127.0.0.1"], reusePort=True)
    try:
        held = binder.sockets[("tcp", "127.0.0.1", 0)]
        assert held.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        # Not listening: the kernel must not queue connections where nobody accepts.
        assert not held.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        mine = _inherited.BindingReactor(reusePort=True)
        mine.bindTCP(("tcp", "127.0.0.1", 0), held.getsockname()[1], 50)
        own = mine.sockets[("tcp", "127.0.0.1", 0)]
        assert own.getsockname() == held.getsockname()
        assert own.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
        mine.close()
    finally:
        binder.close()


def test_worker_adopts_declared_endpoints(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")
    binder = bindShared(["tcp:0:interface=127.0.0.1", f"unix:{path}"])
    try:
        environ = {_inherited.SHARED_SOCKETS_ENV: _inherited.encodeTable(binder.table())}
        _inherited.adoptFromEnvironment(environ)
        reactor = MemoryReactorClock()
        factory = Factory()
        serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(factory)
        serverFromString(reactor, f"haproxy:unix:{path}").listen(factory)
        # Not declared: binds as usual.
        serverFromString(reactor, "tcp:0:interface=127.0.0.2").listen(factory)
        tcpFd = binder.sockets[("tcp", "127.0.0.1", 0)].fileno()
        unixFd = binder.sockets[("unix", path)].fileno()
        adopted = [(fd, family) for fd, family, _ in reactor.adoptedPorts]
        assert adopted == [(tcpFd, socket.AF_INET), (unixFd, socket.AF_UNIX)]
        assert reactor.adoptedPorts[0][2] is factory
        assert reactor.adoptedPorts[1][2] is not factory  # the PROXY-header wrapper
        assert [s[0] for s in reactor.tcpServers] == [0]
    finally:
        binder.close()


class _PortsReactor(MemoryReactorClock):
    """Keeps the ports it adopts, with the attribute a real port has."""

    def __init__(self) -> None:
        super().__init__()
        self.ports: list[Any] = []

    def adoptStreamPort(self, fileDescriptor: int, addressFamily: Any, factory: Any) -> Any:
        super().adoptStreamPort(fileDescriptor, addressFamily, factory)
        port = types.SimpleNamespace(acceptsPerRead=None)
        self.ports.append(port)
        return port


def test_shared_socket_accepts_one_connection_per_wake_up() -> None:
    # Otherwise the worker that wakes first takes a whole burst of connections.
    shared = bindShared(["tcp:0:interface=127.0.0.1"])
    own = _inherited.BindingReactor(reusePort=True)
    own.bindTCP(("tcp", "127.0.0.2", 0), 0, 50)
    try:
        table = shared.table() + own.table()
        assert [e["shared"] for e in table] == [True, False]
        _inherited.adoptFromEnvironment({_inherited.SHARED_SOCKETS_ENV: json.dumps(table)})
        reactor = _PortsReactor()
        serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(Factory())
        serverFromString(reactor, "tcp:0:interface=127.0.0.2").listen(Factory())
        assert [p.acceptsPerRead for p in reactor.ports] == [1, None]
    finally:
        shared.close()
        own.close()


def test_worker_adopts_tls_endpoint(tmp_path: Path, issueCertificate: Any) -> None:
    from glisten.protocols.tls import TLSMemoryBIOFactory

    issued, _, _ = issueCertificate("localhost", ["localhost"], ca=True)
    key, cert = issued.writeTo(tmp_path, "localhost")
    description = f"ssl:0:interface=127.0.0.1:privateKey={key}:certKey={cert}"
    binder = bindShared([description])
    try:
        _inherited.adoptFromEnvironment(
            {_inherited.SHARED_SOCKETS_ENV: _inherited.encodeTable(binder.table())}
        )
        reactor = MemoryReactorClock()
        serverFromString(reactor, description).listen(Factory())
        assert isinstance(reactor.adoptedPorts[0][2], TLSMemoryBIOFactory)
    finally:
        binder.close()


def test_malformed_table() -> None:
    for raw in ("{", "[1]", '[{"key": ["udp", 1], "fd": 3, "family": 2}]'):
        with pytest.raises(ValueError, match=_inherited.SHARED_SOCKETS_ENV):
            _inherited.adoptFromEnvironment({_inherited.SHARED_SOCKETS_ENV: raw})


def test_enter_worker() -> None:
    assert enterWorker({}) is None
    with socket.socket() as sock:
        os.set_inheritable(sock.fileno(), True)
        entry = {"key": ["tcp", "", 80], "fd": sock.fileno(), "family": int(sock.family)}
        readEnd, writeEnd = os.pipe()
        os.set_inheritable(readEnd, True)
        environ = {
            _workers.WORKER_ID_ENV: "3",
            _inherited.SHARED_SOCKETS_ENV: json.dumps([entry]),
            _workers.LIFELINE_ENV: str(readEnd),
            "LISTEN_FDS": "1",
            "LISTEN_PID": "1",
        }
        assert enterWorker(environ) == _workers.WorkerEnvironment(3, readEnd)
        # Taken out, so that a program the worker runs does not believe it is one.
        assert set(environ) == {"LISTEN_FDS", "LISTEN_PID"}
        assert environ["LISTEN_PID"] == str(os.getpid())
        assert not os.get_inheritable(sock.fileno())
        assert not os.get_inheritable(readEnd)
        os.close(readEnd)
        os.close(writeEnd)
    with pytest.raises(WorkersError, match="bad worker environment"):
        enterWorker({_workers.WORKER_ID_ENV: "x"})


def test_worker_stops_when_the_supervisor_is_gone() -> None:
    from glisten.internet.selectreactor import SelectReactor

    reactor = SelectReactor()
    readEnd, writeEnd = os.pipe()
    _workers.watchSupervisor(reactor, readEnd)
    reactor.callWhenRunning(os.close, writeEnd)  # the supervisor dies
    timeout = reactor.callLater(30, reactor.stop)
    reactor.run(installSignalHandlers=False)
    assert timeout.active(), "stopped by the closed pipe, not the timeout"
    timeout.cancel()


def test_worker_log_lines_carry_the_id() -> None:
    seen: list[dict[str, Any]] = []
    observer = _workerObserver(seen.append, 2)
    event = {"log_namespace": "glisten.web", "log_level": LogLevel.info, "log_format": "hi"}
    observer(event)
    observer({**event, "log_system": "custom"})
    assert seen[0]["log_worker"] == 2
    assert seen[0]["log_system"] == "worker 2 glisten.web#info"
    assert seen[1]["log_system"] == "worker 2 custom"
    assert "log_worker" not in event


# -- the supervisor, with fake processes ---------------------------------------------------------


class _FakeProcess:
    def __init__(self, pid: int, protocol: Any) -> None:
        self.pid = pid
        self.protocol = protocol
        self.signals: list[int] = []

    def signalProcess(self, signum: int) -> None:
        self.signals.append(signum)

    def exit(self, code: int | None = 0, sig: int | None = None) -> None:
        if code == 0 and sig is None:
            reason: Failure = Failure(ProcessDone(0))
        else:
            reason = Failure(ProcessTerminated(code, sig))
        self.protocol.processEnded(reason)


class _FakePort:
    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.listening = True

    def stopListening(self) -> None:
        self.listening = False


class _Reactor(MemoryReactorClock):
    def __init__(self) -> None:
        super().__init__()
        self.processes: list[_FakeProcess] = []
        self.spawned: list[dict[str, Any]] = []
        self.notifyPorts: dict[str, _FakePort] = {}

    def spawnProcess(self, protocol: Any, executable: str, args: Any, env: Any, childFDs: Any):  # type: ignore[no-untyped-def]
        process = _FakeProcess(1000 + len(self.processes), protocol)
        self.processes.append(process)
        self.spawned.append({"args": list(args), "env": dict(env), "childFDs": dict(childFDs)})
        protocol.makeConnection(process)
        return process

    def listenUNIXDatagram(self, path: str, protocol: Any) -> _FakePort:
        port = self.notifyPorts[path] = _FakePort(protocol)
        return port


def _ready(reactor: _Reactor, index: int) -> None:
    env = reactor.spawned[index]["env"]
    reactor.notifyPorts[env["NOTIFY_SOCKET"]].protocol.datagramReceived(
        b"READY=1\nSTATUS=serving", None
    )


@pytest.fixture
def binder() -> Iterator[_inherited.BindingReactor]:
    b = bindShared(["tcp:0:interface=127.0.0.1"])
    yield b
    b.close()


def _supervisor(
    binder: _inherited.BindingReactor, count: int = 2
) -> tuple[Supervisor, _Reactor, list[str]]:
    reactor = _Reactor()
    told: list[str] = []
    supervisor = Supervisor(
        reactor, count, ["python", "-m", "x"], {"PATH": "/bin"}, binder, 10.0, told.append
    )
    return supervisor, reactor, told


def test_start_ready_and_what_the_workers_get(binder: _inherited.BindingReactor) -> None:
    supervisor, reactor, told = _supervisor(binder)
    ready: list[object] = []
    supervisor.startService()
    supervisor.whenReady().addCallback(ready.append)
    assert len(reactor.processes) == 2
    first = reactor.spawned[0]
    fd = binder.sockets[("tcp", "127.0.0.1", 0)].fileno()
    assert first["args"] == ["python", "-m", "x"]
    assert first["env"][_workers.WORKER_ID_ENV] == "1"
    assert reactor.spawned[1]["env"][_workers.WORKER_ID_ENV] == "2"
    assert json.loads(first["env"][_inherited.SHARED_SOCKETS_ENV])[0]["fd"] == fd
    assert first["childFDs"][fd] == fd
    lifeline = int(first["env"][_workers.LIFELINE_ENV])
    assert first["childFDs"][lifeline] == "w"
    _ready(reactor, 0)
    assert not ready and "READY=1" not in "".join(told)
    _ready(reactor, 1)
    assert ready == [None]
    assert told[-1] == "READY=1\nSTATUS=2 workers running"
    supervisor.stopService()
    for p in reactor.processes:
        p.exit()


def test_a_worker_failing_at_start_fails_the_supervisor(
    binder: _inherited.BindingReactor,
) -> None:
    supervisor, reactor, told = _supervisor(binder)
    failures: list[Failure] = []
    supervisor.startService()
    supervisor.whenReady().addErrback(failures.append)
    reactor.processes[0].exit(1)
    assert failures and "failed to start" in failures[0].getErrorMessage()
    assert supervisor.exitStatus == 1
    # The other one is told to go, and no restart is planned.
    assert reactor.processes[1].signals == [signal.SIGTERM]
    assert reactor.getDelayedCalls() and all(
        c.getTime() == 10.0 + KILL_MARGIN for c in reactor.getDelayedCalls()
    )
    reactor.processes[1].exit(0)
    assert reactor.getDelayedCalls() == []


def test_restart_with_back_off(binder: _inherited.BindingReactor) -> None:
    supervisor, reactor, told = _supervisor(binder, count=1)
    supervisor.startService()
    _ready(reactor, 0)
    delays = []
    for n in range(8):
        reactor.processes[-1].exit(None, signal.SIGKILL)
        (call,) = reactor.getDelayedCalls()
        delays.append(call.getTime() - reactor.seconds())
        reactor.advance(delays[-1])
        assert len(reactor.processes) == n + 2
        assert reactor.spawned[-1]["env"][_workers.WORKER_ID_ENV] == "1"
    assert delays[:4] == [FIRST_BACKOFF, FIRST_BACKOFF * 2, FIRST_BACKOFF * 4, FIRST_BACKOFF * 8]
    assert max(delays) == MAX_BACKOFF
    # One that stayed up long enough starts the pauses over.
    _ready(reactor, len(reactor.processes) - 1)
    reactor.advance(_workers.STABLE_AFTER)
    reactor.processes[-1].exit(3)
    (call,) = reactor.getDelayedCalls()
    assert call.getTime() - reactor.seconds() == FIRST_BACKOFF
    assert told[-1] == "STATUS=0 workers running"


def test_reload_starts_new_workers_before_old_ones_drain(
    binder: _inherited.BindingReactor,
) -> None:
    supervisor, reactor, told = _supervisor(binder)
    supervisor.startService()
    _ready(reactor, 0)
    _ready(reactor, 1)
    old = list(reactor.processes)
    supervisor.reload()
    assert told[-1] == "RELOADING=1"
    assert len(reactor.processes) == 4
    _ready(reactor, 2)
    assert all(p.signals == [] for p in old)
    _ready(reactor, 3)
    assert [p.signals for p in old] == [[signal.SIGTERM], [signal.SIGTERM]]
    assert told[-1] == "READY=1\nSTATUS=2 workers running"
    for p in old:
        p.exit(0)
    # Retired workers are not restarted.
    assert reactor.getDelayedCalls() == []
    assert len(supervisor.workers) == 2


def test_failed_reload_keeps_the_old_workers(binder: _inherited.BindingReactor) -> None:
    supervisor, reactor, told = _supervisor(binder)
    supervisor.startService()
    _ready(reactor, 0)
    _ready(reactor, 1)
    supervisor.reload()
    _ready(reactor, 2)
    reactor.processes[3].exit(1)
    assert reactor.processes[0].signals == [] and reactor.processes[1].signals == []
    assert reactor.processes[2].signals == [signal.SIGTERM]
    assert told[-1] == "READY=1\nSTATUS=2 workers running"
    reactor.processes[2].exit(0)
    # An old worker that dies now is restarted as before.
    reactor.processes[0].exit(None, signal.SIGSEGV)
    (call,) = reactor.getDelayedCalls()
    reactor.advance(call.getTime())
    assert len(reactor.processes) == 5
    assert reactor.spawned[-1]["env"][_workers.WORKER_ID_ENV] == "1"


def test_stop_drains_and_kills_the_stragglers(binder: _inherited.BindingReactor) -> None:
    supervisor, reactor, told = _supervisor(binder)
    supervisor.startService()
    _ready(reactor, 0)
    _ready(reactor, 1)
    stopped: list[object] = []
    supervisor.stopService().addCallback(stopped.append)
    assert "STOPPING=1" in told
    assert [p.signals for p in reactor.processes] == [[signal.SIGTERM]] * 2
    reactor.processes[0].exit(0)
    reactor.advance(10.0 + KILL_MARGIN)
    assert reactor.processes[1].signals == [signal.SIGTERM, signal.SIGKILL]
    assert not stopped
    reactor.processes[1].exit(None, signal.SIGKILL)
    assert len(stopped) == 1
    assert binder.sockets == {}
    assert reactor.getDelayedCalls() == []


def test_datagram_descriptions() -> None:
    assert _inherited.parseDatagramDescription("udp:53") == (53, "")
    assert _inherited.parseDatagramDescription(r"udp:53:interface=\:\:1") == (53, "::1")
    for bad in ("udp:", "udp:x", "udp:70000", "tcp:53", "udp:53:backlog=5"):
        with pytest.raises(ValueError):
            _inherited.parseDatagramDescription(bad)


def test_udp_port_shared_next_to_tcp() -> None:
    # Port 0: UDP takes the port TCP was given (a DNS server's pair), keyed by that port,
    # which the worker asks for once it has adopted TCP.
    binder = bindShared(["tcp:0:interface=127.0.0.1", "udp:0:interface=127.0.0.1"])
    try:
        port = binder.sockets[("tcp", "127.0.0.1", 0)].getsockname()[1]
        udp = binder.sockets[("udp", "127.0.0.1", port)]
        assert udp.type == socket.SOCK_DGRAM and udp.getsockname()[1] == port
        _inherited.adoptFromEnvironment(
            {_inherited.SHARED_SOCKETS_ENV: _inherited.encodeTable(binder.table())}
        )
        from glisten.internet.endpoints import inheritingReactor

        reactor = MemoryReactorClock()
        adopting = inheritingReactor(reactor)
        adopting.listenTCP(0, Factory(), interface="127.0.0.1")
        adopting.listenUDP(port, object(), interface="127.0.0.1")
        adopting.listenUDP(port + 1, object(), interface="127.0.0.1")
        assert [fd for fd, *_ in reactor.adoptedDatagramPorts] == [udp.fileno()]
        assert [p[0] for p in reactor.udpServers] == [port + 1]
        # Outside a worker, the reactor itself.
        _inherited.forgetInherited()
        assert inheritingReactor(reactor) is reactor
    finally:
        binder.close()
    with pytest.raises(WorkersError, match="not a datagram port"):
        bindShared(["udp:x"])
