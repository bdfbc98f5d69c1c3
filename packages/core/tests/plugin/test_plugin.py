"""glisten.plugin.getPlugins and Twisted-style plugins run by the ``glisten`` command."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from zope.interface import Interface

from glisten.plugin import IPlugin, getPlugins, pluginPackagePaths

PLUGIN = """
import sys
from zope.interface import implementer
from glisten.plugin import IPlugin
from glisten.application.service import IServiceMaker, Service
from glisten.python import usage


class ServeOptions(usage.Options):
    optFlags = [["shout", "s", "Say it loudly."]]
    optParameters = [["port", "p", 1234, "The port.", int]]


class StatusOptions(usage.Options):
    def parseArgs(self, what):
        self["what"] = what


class Options(usage.Options):
    optParameters = [["greeting", "g", "hello", "What to say."]]
    subCommands = [
        ["serve", None, ServeOptions, "Serve things."],
        ["status", None, StatusOptions, "Show a status."],
    ]
    defaultSubCommand = "serve"


class SayService(Service):
    def __init__(self, text):
        self.text = text

    def startService(self):
        super().startService()
        from glisten.internet import reactor
        sys.stdout.write("SAID " + self.text + "\\n")
        sys.stdout.flush()
        reactor.callLater(0, reactor.stop)


@implementer(IServiceMaker, IPlugin)
class SayMaker:
    tapname = "sayit"
    description = "Say something and stop."
    options = Options

    def makeService(self, options):
        sub = options.subOptions
        if options.subCommand == "serve":
            text = f"{options['greeting']} port={sub['port']} shout={sub['shout']}"
        else:
            text = f"{options['greeting']} status of {sub['what']}"
        return SayService(text.upper() if options.subCommand == "serve" and sub["shout"] else text)


serviceMaker = SayMaker()
notAPlugin = object()
"""


class IThing(Interface):
    pass


@pytest.fixture
def pluginDir(tmp_path: Path) -> Path:
    plugins = tmp_path / "glisten" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "say_plugin.py").write_text(PLUGIN)
    (plugins / "broken_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    (plugins / "thing_plugin.py").write_text(
        textwrap.dedent(
            """
            from zope.interface import Interface, implementer, provider
            from glisten.plugin import IPlugin
            import sys
            IThing = sys.modules["glisten_test_ithing"].IThing

            @provider(IPlugin, IThing)
            class ThingPlugin:
                pass

            @implementer(IThing)
            class NotMarked:
                pass

            notMarked = NotMarked()
            """
        )
    )
    return tmp_path


def _glisten(pluginDir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pluginDir), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-c", "from glisten.application.cli import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_getPlugins_finds_namespace_plugins(
    pluginDir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    mod = types.ModuleType("glisten_test_ithing")
    mod.IThing = IThing  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "glisten_test_ithing", mod)
    monkeypatch.syspath_prepend(str(pluginDir))
    for name in [
        n for n in sys.modules if n == "glisten.plugins" or n.startswith("glisten.plugins.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    import importlib

    importlib.invalidate_caches()
    found = list(getPlugins(IThing))
    # Only the object providing IPlugin; the broken module is skipped, not fatal.
    assert [p.__name__ for p in found] == ["ThingPlugin"]
    from glisten.application.service import IServiceMaker

    makers = list(getPlugins(IServiceMaker))
    assert [m.tapname for m in makers] == ["sayit"]
    assert list(getPlugins(IThing, "no_such_plugin_package_xyz")) == []
    assert str(pluginDir / "glisten" / "plugins") in pluginPackagePaths("glisten.plugins")
    assert IPlugin.providedBy(makers[0])
    # No cache file is ever written next to the plugins.
    assert sorted(p.name for p in (pluginDir / "glisten" / "plugins").iterdir() if p.is_file()) == [
        "broken_plugin.py",
        "say_plugin.py",
        "thing_plugin.py",
    ]


def test_command_runs_twistd_style_plugin(pluginDir: Path) -> None:
    result = _glisten(pluginDir, "sayit", "--greeting", "hi", "serve", "-s", "--port", "99")
    assert result.returncode == 0, result.stderr
    assert "SAID HI PORT=99 SHOUT=1" in result.stdout
    result = _glisten(pluginDir, "sayit", "status", "disk")
    assert result.returncode == 0, result.stderr
    assert "SAID hello status of disk" in result.stdout
    # The default sub-command.
    result = _glisten(pluginDir, "sayit")
    assert result.returncode == 0, result.stderr
    assert "SAID hello port=1234 shout=0" in result.stdout


def test_command_usage_errors_and_help(pluginDir: Path) -> None:
    result = _glisten(pluginDir, "sayit", "serve", "--port", "x")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("glisten sayit: Parameter type enforcement failed")
    result = _glisten(pluginDir, "sayit", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: glisten sayit [options]")
    assert "--greeting=" in result.stdout and "serve" in result.stdout
    result = _glisten(pluginDir, "--help")
    assert result.returncode == 0
    assert "sayit" in result.stdout and "Say something and stop." in result.stdout
    # Entry-point plugins are still there.
    assert "echo" in result.stdout
