"""The ``glisten`` command line: global options, plugin lookup and its errors."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from glisten.application import _installhint, cli


class FakeEntryPoint:
    """Stands in for an installed distribution's ``glisten.plugins`` entry point."""

    def __init__(self, name: str, load: Any) -> None:
        self.name = name
        self._load = load

    def load(self) -> Any:
        if isinstance(self._load, BaseException):
            raise self._load
        return self._load


class Maker:
    tapname = "greet"
    description = "Greet people.\nA second line that --help leaves out."

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.options: argparse.Namespace | None = None

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--name", required=True)

    def makeService(self, options: argparse.Namespace) -> object:
        self.options = options
        if self.fail is not None:
            raise self.fail
        return "the service"


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeEntryPoint]:
    found: dict[str, FakeEntryPoint] = {}
    monkeypatch.setattr(cli, "_pluginEntryPoints", lambda: found)
    return found


def runMain(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    code = exc.value.code
    assert isinstance(code, int)
    return code


def test_helpListsPluginsOneLineEach(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    plugins["broken"] = FakeEntryPoint("broken", ImportError("no module named nowhere"))
    assert runMain(["--help"]) == 0
    out = capsys.readouterr().out
    assert "greet   Greet people.\n" in out
    assert "A second line" not in out
    assert "broken  (cannot be loaded: no module named nowhere)" in out


def test_missingProtocolPackageNamesIt(
    plugins: dict[str, FakeEntryPoint],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(_installhint, "_coreInstalledFrom", lambda: None)
    monkeypatch.chdir(tmp_path)
    assert runMain(["web", "--path", "."]) == 2
    err = capsys.readouterr().err
    assert err == 'glisten: no plugin "web"; it is in glisten-web: pip install glisten-web\n'


def _clone(tmp_path: Path) -> Path:
    for folder in ("core", "web", "names", "mail"):
        (tmp_path / "clone" / "packages" / folder).mkdir(parents=True)
        (tmp_path / "clone" / "packages" / folder / "pyproject.toml").write_text("")
    return tmp_path / "clone" / "packages"


def test_installHintFromAClone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Core installed from a clone's packages/core: the hint installs the sibling folder,
    since nothing is on an index yet (issue 12)."""
    packages = _clone(tmp_path)
    monkeypatch.setattr(_installhint, "_coreInstalledFrom", lambda: packages / "core")
    assert _installhint.installCommand("glisten-web") == f"pip install {packages / 'web'}"
    # glisten-mail needs glisten-names, which no index has either.
    assert (
        _installhint.installCommand("glisten-mail")
        == f"pip install {packages / 'names'} {packages / 'mail'}"
    )


def test_installHintFromWheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    core = dist / "glisten_core-0.1.0-py3-none-any.whl"
    core.write_text("")
    (dist / "glisten_web-0.1.0-py3-none-any.whl").write_text("")
    monkeypatch.setattr(_installhint, "_coreInstalledFrom", lambda: core)
    assert (
        _installhint.installCommand("glisten-web") == f"pip install --find-links {dist} glisten-web"
    )
    # No wheel of it there: the index is the only hope.
    assert _installhint.installCommand("glisten-conch", tmp_path) == "pip install glisten-conch"


def test_installHintFromTheCurrentFolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Core found by name in ``--find-links dist`` leaves no install record: the hint looks
    at the folder the user is in."""
    monkeypatch.setattr(_installhint, "_coreInstalledFrom", lambda: None)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "glisten_web-0.2.0-py3-none-any.whl").write_text("")
    assert (
        _installhint.installCommand("glisten-web", tmp_path)
        == "pip install --find-links dist glisten-web"
    )
    _clone(tmp_path)
    clone = tmp_path / "clone"
    assert _installhint.installCommand("glisten-web", clone) == "pip install ./packages/web"
    assert (
        _installhint.installCommand("glisten-mail", clone)
        == "pip install ./packages/names ./packages/mail"
    )
    assert _installhint.installCommand("glisten-web", tmp_path / "dist") == (
        "pip install glisten-web"
    )


def test_installHintReadsCoresInstallRecord() -> None:
    """In this (workspace) environment core is installed from packages/core of this tree."""
    root = Path(__file__).resolve().parents[4]
    source = _installhint._coreInstalledFrom()
    if source is None or source != root / "packages" / "core":
        pytest.skip("glisten-core is not installed from this tree")
    assert _installhint.installCommand("glisten-web") == f"pip install {root / 'packages' / 'web'}"


def test_globalOptionsAfterThePluginName(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    calls: list[dict[str, object]] = []
    from glisten.application import runner

    monkeypatch.setattr(runner, "runService", lambda service, **kw: calls.append(kw) or 0)
    argv = ["--log-level", "warn", "greet", "--name", "x", "--log-level", "debug", "--pidfile=p"]
    assert runMain(argv) == 0
    assert calls[0]["logLevel"] == "debug" and calls[0]["pidFile"] == "p"


def test_pluginKeepsItsOwnOptionOfAGlobalName(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    class OwnLogFile(Maker):
        def addArguments(self, parser: argparse.ArgumentParser) -> None:
            parser.add_argument("--log-file")

    maker = OwnLogFile()
    plugins["greet"] = FakeEntryPoint("greet", maker)
    calls: list[dict[str, object]] = []
    from glisten.application import runner

    monkeypatch.setattr(runner, "runService", lambda service, **kw: calls.append(kw) or 0)
    assert runMain(["greet", "--log-file", "mine"]) == 0
    assert maker.options is not None and maker.options.log_file == "mine"
    assert calls[-1]["logFile"] is None


def test_globalOptionAfterPluginMissingItsValue(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    assert runMain(["greet", "--name", "x", "--log-level"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glisten: ") and err.count("\n") == 1


def test_unknownPlugin(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    assert runMain(["nosuch"]) == 2
    assert capsys.readouterr().err == 'glisten: no plugin "nosuch"; installed plugins: greet\n'


@pytest.mark.parametrize(
    "argv",
    [["--bogus", "greet"], ["--reactor", "nope", "greet"], ["--log-format", "xml", "greet"]],
)
def test_badGlobalOptionIsOneLine(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    assert runMain(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("glisten: ")
    assert "Traceback" not in err


def test_badPluginOptionIsOneLine(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker())
    assert runMain(["greet", "--nmae", "x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glisten greet: ") and err.count("\n") == 1


def test_pluginFailingToStartGivesItsMessage(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", Maker(fail=ValueError("no such folder: /nope")))
    assert runMain(["greet", "--name", "x"]) == 1
    assert capsys.readouterr().err == "glisten greet: no such folder: /nope\n"


def test_pluginThatCannotBeImported(
    plugins: dict[str, FakeEntryPoint], capsys: pytest.CaptureFixture[str]
) -> None:
    plugins["greet"] = FakeEntryPoint("greet", ImportError("missing thing"))
    assert runMain(["greet"]) == 1
    assert "missing thing" in capsys.readouterr().err


def test_serviceHandedToRunnerWithGlobalOptions(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    maker = Maker()
    plugins["greet"] = FakeEntryPoint("greet", maker)
    calls: list[tuple[object, dict[str, object]]] = []

    def runService(service: object, **kw: object) -> int:
        calls.append((service, kw))
        return 0

    from glisten.application import reactors, runner

    installed: list[str] = []
    monkeypatch.setattr(runner, "runService", runService)
    monkeypatch.setattr(reactors, "installReactor", installed.append)
    argv = ["--reactor", "poll", "--log-format", "json", "greet", "--name", "ann"]
    assert runMain(argv) == 0
    assert maker.options is not None and maker.options.name == "ann"
    assert installed == ["poll"]
    assert calls == [
        (
            "the service",
            {
                "reactorName": "poll",
                "logLevel": "info",
                "logFile": None,
                "logFormat": "json",
                "pidFile": None,
                "grace": 30.0,
                "workerId": None,
            },
        )
    ]


def test_consoleScriptInstalled() -> None:
    """The ``glisten`` script runs from the installed distribution, without a traceback."""
    script = [sys.executable, "-c", "from glisten.application.cli import main; main()"]
    result = subprocess.run([*script, "--nosuch"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == "glisten: unrecognized arguments: --nosuch\n"


def test_commandPluginLogsToStderrQuietly(
    plugins: dict[str, FakeEntryPoint], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose result is its standard output (``glisten fetch``) logs to standard
    error, warnings only unless --log-level says otherwise."""
    maker = Maker()
    maker.resultOnStdout = True  # type: ignore[attr-defined]
    plugins["greet"] = FakeEntryPoint("greet", maker)
    calls: list[dict[str, object]] = []

    def runService(service: object, **kw: object) -> int:
        calls.append(kw)
        return 0

    from glisten.application import runner

    monkeypatch.setattr(runner, "runService", runService)
    assert runMain(["greet", "--name", "ann"]) == 0
    assert calls[-1]["logStream"] is sys.stderr and calls[-1]["logLevel"] == "warn"
    assert runMain(["greet", "--name", "ann", "--log-level", "debug"]) == 0
    assert calls[-1]["logLevel"] == "debug"
    assert runMain(["--log-file", "x.log", "greet", "--name", "ann"]) == 0
    assert "logStream" not in calls[-1] and calls[-1]["logLevel"] == "warn"
