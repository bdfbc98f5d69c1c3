"""``glisten --workers``, ``--reuse-port`` and ``--grace`` on the command line: what reaches
the supervisor, and the one-line refusals."""

from __future__ import annotations

import argparse
from typing import Any

import pytest
from zope.interface import implementer

from glisten.application import cli, runner
from glisten.application.service import IShareableServiceMaker

from .test_cli import FakeEntryPoint, Maker, runMain


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeEntryPoint]:
    found: dict[str, FakeEntryPoint] = {}
    monkeypatch.setattr(cli, "_pluginEntryPoints", lambda: found)
    return found


@implementer(IShareableServiceMaker)
class ShareableMaker(Maker):
    def listeningEndpoints(self, options: argparse.Namespace) -> list[str]:
        if options.name == "alone":
            raise ValueError("'alone' keeps its state in memory")
        return ["tcp:0:interface=127.0.0.1"]


def test_unshareable_plugin_refuses_workers(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    assert runMain(["--workers", "2", "greet", "--name", "ann"]) == 2
    assert capsys.readouterr().err == (
        "glisten: plugin 'greet' cannot run in several processes (--workers 2): "
        "it does not declare its listening endpoints as shareable\n"
    )


def test_one_worker_of_an_unshareable_plugin_is_this_process(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    calls: list[Any] = []
    monkeypatch.setattr(runner, "runService", lambda service, **kw: calls.append(service) or 0)
    assert runMain(["--workers", "1", "greet", "--name", "ann"]) == 0
    assert calls == ["the service"]
    assert runMain(["--workers", "1", "--reuse-port", "greet", "--name", "ann"]) == 2


def test_options_unfit_to_share(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", ShareableMaker())
    assert runMain(["greet", "--name", "alone", "--workers", "2"]) == 2
    assert capsys.readouterr().err == (
        "glisten greet: cannot run with --workers: 'alone' keeps its state in memory\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "none", "greet", "--name", "a"], "--workers takes a number or 'auto'"),
        (["--workers", "0", "greet", "--name", "a"], "--workers must be at least 1"),
        (["--reuse-port", "greet", "--name", "a"], "--reuse-port needs --workers"),
        (["--grace", "-1", "greet", "--name", "a"], "--grace must not be negative"),
    ],
)
def test_bad_worker_options(
    plugins: dict[str, FakeEntryPoint],
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", ShareableMaker())
    assert runMain(argv) == 2
    assert message in capsys.readouterr().err


def test_supervisor_gets_the_worker_command(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = ShareableMaker()
    plugins["greet"] = FakeEntryPoint("greet", maker)
    calls: list[tuple[Any, dict[str, Any]]] = []

    def runService(service: Any, **kw: Any) -> int:
        calls.append((service, kw))
        return 0

    monkeypatch.setattr(runner, "runService", runService)
    argv = ["--log-format", "json", "greet", "--name", "ann", "--workers", "3", "--grace", "5"]
    assert runMain([*argv, "--pidfile", "x.pid"]) == 0
    ((supervisor, kw),) = calls
    assert maker.options is None  # the supervisor never builds the service
    assert supervisor.count == 3 and supervisor.grace == 5.0
    assert supervisor.command[1:] == [
        "-m",
        "glisten.application.cli",
        "--log-level",
        "info",
        "--log-format",
        "json",
        "--grace",
        "5.0",
        "greet",
        "--name",
        "ann",
    ]
    assert kw["pidFile"] == "x.pid"
    assert kw["ready"] == supervisor.whenReady and kw["onHangup"] == supervisor.reload
    # The sockets were bound, then closed when the run ended.
    assert supervisor.binder.sockets == {}
