"""application.reactors plugins, app.ReactorSelectionMixin, trial.util.suppress, IResolver."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import warnings

import pytest
from zope.interface.verify import verifyObject

from glisten.application import app, reactors
from glisten.internet import interfaces
from glisten.python import usage
from glisten.trial import unittest
from glisten.trial.util import suppress


def test_reactor_types_and_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    names = [r.shortName for r in reactors.getReactorTypes()]
    assert names[:4] == ["epoll", "poll", "select", "asyncio"]
    for r in reactors.getReactorTypes():
        verifyObject(reactors.IReactorInstaller, r)

    installed: list[str] = []

    class Fake:
        shortName = "fake"
        description = "A fake one."

        def install(self) -> str:
            installed.append("fake")
            return "fake reactor"

    monkeypatch.setattr(reactors, "getPlugins", lambda iface: [Fake()])
    assert [r.shortName for r in reactors.getReactorTypes()][-1] == "fake"
    assert reactors.installReactor("fake") == "fake reactor" and installed == ["fake"]
    with pytest.raises(reactors.NoSuchReactor):
        reactors.installReactor("nope")


class Opts(app.ReactorSelectionMixin, usage.Options):
    pass


def test_reactor_selection_mixin(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    o = Opts()
    o.messageOutput = out
    with pytest.raises(SystemExit):
        o.parseOptions(["--help-reactors"])
    assert "epoll" in out.getvalue() and "asyncio" in out.getvalue()
    with pytest.raises(usage.UsageError, match="does not exist: 'nope'"):
        Opts().parseOptions(["--reactor", "nope"])
    chosen: list[str] = []
    monkeypatch.setattr(reactors, "installReactor", chosen.append)
    o = Opts()
    o.parseOptions(["-r", "poll"])
    assert o["reactor"] == "poll" and chosen == ["poll"]

    def broken(name: str) -> None:
        raise ImportError("no such module")

    monkeypatch.setattr(reactors, "installReactor", broken)
    with pytest.raises(usage.UsageError, match="cannot be used, failed with error: no such module"):
        Opts().parseOptions(["--reactor", "poll"])


def test_reactor_selection_really_installs() -> None:
    code = textwrap.dedent(
        """
        from glisten.application import app
        from glisten.python import usage
        class O(app.ReactorSelectionMixin, usage.Options):
            pass
        o = O()
        o.parseOptions(["--reactor", "select"])
        from glisten.internet import reactor
        print(type(reactor).__name__, o["reactor"])
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["SelectReactor", "select"]


def test_suppress() -> None:
    assert suppress(category=DeprecationWarning) == (("ignore",), {"category": DeprecationWarning})

    class T(unittest.SynchronousTestCase):
        __test__ = False

        def test_method(self) -> None:
            warnings.warn("old thing", DeprecationWarning, stacklevel=1)
            warnings.warn("kept", UserWarning, stacklevel=1)
            assert [str(w["message"]) for w in self.flushWarnings()] == ["kept"]

        test_method.suppress = [suppress(category=DeprecationWarning)]  # type: ignore[attr-defined]

        def test_class_level(self) -> None:
            warnings.warn("old thing", DeprecationWarning, stacklevel=1)
            assert self.flushWarnings() == []

        suppress = [suppress(message="old.*")]

    for name in ["test_method", "test_class_level"]:
        import unittest as std

        result = std.TestResult()
        T(name).run(result)
        assert result.wasSuccessful(), (result.errors, result.failures)


def test_iresolver_interface() -> None:
    names = set(interfaces.IResolver.names(all=True))
    for name in [
        "query",
        "lookupAddress",
        "lookupIPV6Address",
        "lookupMailExchange",
        "lookupService",
        "lookupAllRecords",
        "lookupZone",
        "getHostByName",
    ]:
        assert name in names
    assert interfaces.IResolver.isOrExtends(interfaces.IResolverSimple)
