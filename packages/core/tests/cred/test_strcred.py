"""glisten.cred.strcred: checkers named by strings, their factories and the --auth options."""

from __future__ import annotations

import importlib
import io
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.cred import checkers, credentials, error, strcred
from glisten.internet.defer import Deferred
from glisten.python import usage


def result(d: Deferred[Any]) -> Any:
    out: list[Any] = []
    d.addBoth(out.append)
    assert out, "the Deferred has not fired"
    return out[0]


def test_memory() -> None:
    checker = strcred.makeChecker("memory:alice:secret:bob:hunter2")
    assert (
        result(checker.requestAvatarId(credentials.UsernamePassword(b"bob", b"hunter2"))) == b"bob"
    )
    refused = result(checker.requestAvatarId(credentials.UsernamePassword(b"bob", b"nope")))
    assert refused.check(error.UnauthorizedLogin)


def test_fileHoldsHashes(tmp_path: Path) -> None:
    path = tmp_path / "passwd"
    path.write_bytes(b"carol:" + checkers.scryptHash(b"pw", n=2**10) + b"\n")
    checker = strcred.makeChecker(f"file:{path}")
    assert isinstance(checker, checkers.ScryptFilePasswordDB)
    assert (
        result(checker.requestAvatarId(credentials.UsernamePassword(b"carol", b"pw"))) == b"carol"
    )
    refused = result(checker.requestAvatarId(credentials.UsernamePassword(b"carol", b"x")))
    assert refused.check(error.UnauthorizedLogin)


def test_anonymous() -> None:
    checker = strcred.makeChecker("anonymous")
    assert isinstance(checker, checkers.AllowAnonymousAccess)


@pytest.mark.parametrize(
    ("description", "exception"),
    [
        ("ldap:x", strcred.InvalidAuthType),
        ("", strcred.InvalidAuthType),
        ("memory:odd", strcred.InvalidAuthArgumentString),
        ("memory:a:b:c", strcred.InvalidAuthArgumentString),
        ("file:", strcred.InvalidAuthArgumentString),
        ("anonymous:x", strcred.InvalidAuthArgumentString),
    ],
)
def test_badDescriptions(description: str, exception: type[Exception]) -> None:
    with pytest.raises(exception):
        strcred.makeChecker(description)
    # Also a ValueError, for argparse callers.
    assert issubclass(exception, ValueError)


def test_factoriesProvideTheInterface() -> None:
    factories = strcred.findCheckerFactories()
    assert [f.authType for f in factories[:3]] == ["memory", "file", "anonymous"]
    for factory in factories:
        assert verifyObject(strcred.ICheckerFactory, factory)
    assert strcred.findCheckerFactory("file") is factories[1]


class ServerOptions(usage.Options, strcred.AuthOptionMixin):
    supportedInterfaces = (credentials.IUsernamePassword,)


def test_authOption() -> None:
    options = ServerOptions()
    options.parseOptions(["--auth", "memory:a:b", "--auth", "memory:c:d"])
    assert len(options["credCheckers"]) == 2
    assert options["credInterfaces"][credentials.IUsernamePassword] == options["credCheckers"]
    # A checker of credentials the program does not use is refused.
    with pytest.raises(usage.UsageError, match="checks no credentials"):
        ServerOptions().parseOptions(["--auth", "anonymous"])
    with pytest.raises(usage.UsageError, match="unknown authentication type"):
        ServerOptions().parseOptions(["--auth", "ldap:x"])


def test_helpOptions() -> None:
    options = ServerOptions()
    options.authOutput = io.StringIO()
    with pytest.raises(SystemExit) as exit:
        options.parseOptions(["--help-auth"])
    assert exit.value.code == 0
    listed = options.authOutput.getvalue()
    assert "memory" in listed and "file" in listed and "anonymous" not in listed
    options = ServerOptions()
    options.authOutput = io.StringIO()
    with pytest.raises(SystemExit):
        options.parseOptions(["--help-auth-type", "file"])
    assert "scryptHash" in options.authOutput.getvalue()
    with pytest.raises(usage.UsageError):
        ServerOptions().parseOptions(["--help-auth-type", "anonymous"])


PLUGIN = """
from zope.interface import implementer
from glisten.cred import checkers, credentials
from glisten.cred.strcred import ICheckerFactory
from glisten.plugin import IPlugin

@implementer(ICheckerFactory, IPlugin)
class NobodyFactory:
    authType = "nobody"
    authHelp = "Lets nobody in."
    argStringFormat = "No argument"
    credentialInterfaces = (credentials.IUsernamePassword,)

    def generateChecker(self, argstring=""):
        return checkers.InMemoryUsernamePasswordDatabaseDontUse()

nobody = NobodyFactory()
"""


def test_pluginFactories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = tmp_path / "glisten" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "cred_nobody.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("glisten.plugins")]:
        monkeypatch.delitem(sys.modules, name)
    importlib.invalidate_caches()
    checker = strcred.makeChecker("nobody")
    assert isinstance(checker, checkers.InMemoryUsernamePasswordDatabaseDontUse)
    assert not checker.users
