"""Service trees: order of start and stop, naming, Application, the network services."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from glisten.application import internet, service, strports
from glisten.application.plugins import app as appPlugin
from glisten.application.plugins import echo as echoPlugin
from glisten.application.plugins import parseDestination
from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.error import CannotListenError
from glisten.internet.protocol import Factory, Protocol
from glisten.internet.task import Clock
from glisten.internet.testing import MemoryReactor
from glisten.logger import capturedLogs, formatEvent


class Recording(service.Service):
    def __init__(self, name: str, log: list[str], stopWith: Any = None) -> None:
        self.name = name
        self.log = log
        self.stopWith = stopWith

    def privilegedStartService(self) -> None:
        self.log.append(f"priv {self.name}")

    def startService(self) -> None:
        service.Service.startService(self)
        self.log.append(f"start {self.name}")

    def stopService(self) -> Any:
        service.Service.stopService(self)
        self.log.append(f"stop {self.name}")
        return self.stopWith


def test_start_in_order_stop_in_reverse_waiting_for_each() -> None:
    log: list[str] = []
    slow: Deferred[None] = Deferred()
    parent = service.MultiService()
    Recording("a", log).setServiceParent(parent)
    Recording("b", log).setServiceParent(parent)
    Recording("c", log, stopWith=slow).setServiceParent(parent)
    parent.privilegedStartService()
    parent.startService()
    assert log == ["priv a", "priv b", "priv c", "start a", "start b", "start c"]
    assert parent.running
    log.clear()
    done: list[Any] = []
    parent.stopService().addBoth(done.append)
    assert log == ["stop c"]  # b waits for c's Deferred
    assert not done
    slow.callback(None)
    assert log == ["stop c", "stop b", "stop a"]
    assert done == [None]
    assert not parent.running


def test_failing_stop_is_logged_and_the_rest_still_stop() -> None:
    log: list[str] = []
    parent = service.MultiService()
    Recording("a", log).setServiceParent(parent)
    Recording("b", log, stopWith=fail(RuntimeError("stuck"))).setServiceParent(parent)
    parent.startService()
    with capturedLogs() as events:
        done: list[Any] = []
        parent.stopService().addBoth(done.append)
    assert done == [None]
    assert log[-2:] == ["stop b", "stop a"]
    assert any("Error stopping service" in formatEvent(e) for e in events)


def test_names_parents_and_late_addition() -> None:
    log: list[str] = []
    parent = service.MultiService()
    a = Recording("a", log)
    a.setServiceParent(parent)
    assert parent.getServiceNamed("a") is a
    with pytest.raises(RuntimeError):
        Recording("a", log).setServiceParent(parent)
    with pytest.raises(RuntimeError):
        a.setName("x")
    parent.startService()
    late = Recording("late", log)
    late.setServiceParent(parent)
    assert log[-2:] == ["priv late", "start late"]
    other = service.MultiService()
    late.setServiceParent(other)  # moving stops it in the old, running parent
    assert log[-1] == "stop late"
    assert list(parent) == [a] and late.parent is other
    assert a.disownServiceParent() is None
    assert a.parent is None and list(parent) == []
    with pytest.raises(KeyError):
        parent.getServiceNamed("a")


def test_application() -> None:
    application = service.Application("demo", uid=1, gid=2)
    assert service.IService(application) is application
    assert service.IServiceCollection(application) is application
    assert service.IProcess(application).uid == 1
    assert application.name == "demo" and application.processName == "demo"
    child = service.Service()
    child.setServiceParent(application)
    assert list(application) == [child]


class FakeEndpoint:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.factories: list[Any] = []

    def listen(self, factory: Any) -> Any:
        self.factories.append(factory)
        return self.result

    def connect(self, factory: Any) -> Any:
        self.factories.append(factory)
        d = self.result()
        return d


class FakePort:
    def __init__(self) -> None:
        self.stopped = False

    def stopListening(self) -> Any:
        self.stopped = True
        return succeed(None)


def test_stream_server_endpoint_service() -> None:
    port = FakePort()
    endpoint = FakeEndpoint(succeed(port))
    factory = Factory.forProtocol(Protocol)
    svc = internet.StreamServerEndpointService(endpoint, factory)
    svc.privilegedStartService()
    svc.startService()
    assert endpoint.factories == [factory]
    done: list[Any] = []
    svc.stopService().addBoth(done.append)
    assert port.stopped and done == [None] and not svc.running


def test_stream_server_endpoint_service_errors() -> None:
    svc = internet.StreamServerEndpointService(
        FakeEndpoint(fail(CannotListenError("", 80, OSError("in use")))), Factory()
    )
    with capturedLogs() as events:
        svc.startService()
    assert any("Error listening" in formatEvent(e) for e in events)
    strict = internet.StreamServerEndpointService(
        FakeEndpoint(fail(CannotListenError("", 80, OSError("in use")))), Factory()
    )
    strict._raiseSynchronously = True
    with pytest.raises(CannotListenError):
        strict.privilegedStartService()
    pending: Deferred[Any] = Deferred()
    waiting = internet.StreamServerEndpointService(FakeEndpoint(pending), Factory())
    waiting.startService()
    done: list[Any] = []
    waiting.stopService().addBoth(done.append)
    assert done == [None]  # cancelling the pending listen is a clean stop


def test_strports_service() -> None:
    reactor = MemoryReactor()
    svc = strports.service("tcp:8123:interface=127.0.0.1", Factory(), reactor=reactor)
    svc.startService()
    assert reactor.tcpServers[0][0] == 8123
    with pytest.raises(ValueError, match="field 'port'"):
        strports.service("tcp:nope", Factory(), reactor=reactor)


def test_timer_service() -> None:
    clock = Clock()
    calls: list[int] = []
    timer = internet.TimerService(2, calls.append, 7)
    timer.clock = clock
    timer.startService()
    assert calls == [7]
    clock.advance(2)
    clock.advance(2)
    assert calls == [7, 7, 7]
    done: list[Any] = []
    timer.stopService().addBoth(done.append)
    clock.advance(10)
    assert calls == [7, 7, 7] and done == [None] and not timer.running


def test_timer_service_failure_is_logged() -> None:
    clock = Clock()

    def broken() -> None:
        raise ValueError("tick failed")

    timer = internet.TimerService(1, broken)
    timer.clock = clock
    with capturedLogs() as events:
        timer.startService()
    assert any("tick failed" in str(e.get("log_failure")) for e in events)
    done: list[Any] = []
    timer.stopService().addBoth(done.append)
    assert done == [None]


def test_old_style_tcp_server() -> None:
    reactor = MemoryReactor()
    svc = internet.TCPServer(8080, Factory(), reactor=reactor)
    svc.privilegedStartService()
    svc.startService()
    assert reactor.tcpServers[0][0] == 8080


def test_backoff_policy() -> None:
    policy = internet.backoffPolicy(initialDelay=1, maxDelay=10, factor=2, jitter=lambda: 0.5)
    assert [policy(n) for n in range(6)] == [1.5, 2.5, 4.5, 8.5, 10.5, 10.5]
    assert policy(10_000) == 10.5
    jittered = internet.backoffPolicy()
    values = {jittered(3) for _ in range(5)}
    assert all(1.5**3 <= v < 1.5**3 + 1 for v in values)


def test_parse_destination() -> None:
    assert parseDestination("example.com:80") == ("example.com", 80)
    assert parseDestination("[::1]:8080") == ("::1", 8080)
    for bad in ["example.com", ":80", "host:0", "host:99999", "[::1]80", "[nope]:1", "a:b:c"]:
        with pytest.raises(ValueError, match="--dest"):
            parseDestination(bad)


def test_app_plugin(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(
        "from glisten.application import service\n"
        "application = service.Application('demo')\n"
        "service.Service().setServiceParent(application)\n"
    )
    svc = appPlugin.makeService(argparse.Namespace(file=str(good)))
    assert svc.name == "demo"
    missing = tmp_path / "none.py"
    with pytest.raises(ValueError, match="no such file"):
        appPlugin.makeService(argparse.Namespace(file=str(missing)))
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="defines no 'application'"):
        appPlugin.makeService(argparse.Namespace(file=str(empty)))
    wrong = tmp_path / "wrong.py"
    wrong.write_text("application = 3\n")
    with pytest.raises(ValueError, match="not a service"):
        appPlugin.makeService(argparse.Namespace(file=str(wrong)))


def test_echo_plugin_options() -> None:
    parser = argparse.ArgumentParser()
    echoPlugin.addArguments(parser)
    options = parser.parse_args(["--listen", "tcp:0:interface=127.0.0.1", "--listen", "tcp:0"])
    assert options.listen == ["tcp:0:interface=127.0.0.1", "tcp:0"]
    assert service.IServiceMaker.providedBy(echoPlugin)


def test_startApplication_stops_on_shutdown() -> None:
    from glisten.application.app import startApplication

    log: list[str] = []
    application = service.Application("demo")
    Recording("a", log).setServiceParent(application)
    reactor = MemoryReactor()
    startApplication(application, False, reactor=reactor)
    assert log == ["priv a", "start a"]
    reactor.fireSystemEvent("shutdown")
    assert log[-1] == "stop a"


def test_old_style_udp_server_and_tcp_client() -> None:
    from glisten.internet.protocol import ClientFactory, DatagramProtocol

    reactor = MemoryReactor()
    udp = internet.UDPServer(5353, DatagramProtocol(), reactor=reactor)
    udp.startService()
    assert reactor.udpServers[0][0] == 5353
    client = internet.TCPClient("127.0.0.1", 25, ClientFactory(), reactor=reactor)
    client.startService()
    assert reactor.tcpClients[0][:2] == ("127.0.0.1", 25)
    client.stopService()
    assert reactor.connectors[0].disconnected
