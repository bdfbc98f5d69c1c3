"""The ssh_config subset of ``glisten conch``/``cftp``: parsing, lookups, limits, bad input."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.client.sshconfig import ConfigError, HostConfig, Limits, SSHConfig

CONFIG = """
# A comment, then global settings before any Host block.
StrictHostKeyChecking accept-new

Host web web-* !web-private
    HostName %h.example.org
    Port 2222
    User deploy
    IdentityFile ~/.ssh/web_%r_%p
    UserKnownHostsFile "/tmp/known hosts" /tmp/other

Host web-private
  HostName=10.0.0.7
  User = admin

Host *.internal ?b
    IdentityFile /keys/internal
    Port 2200

Match exec "true"
    User nobody-from-match

Include ~/.ssh/more

Match all
    IdentityFile %d/fallback
    User everyone
    Port 22
    StrictHostKeyChecking yes
    BatchMode yes
    ServerAliveInterval 30
"""


def test_lookup() -> None:
    config = SSHConfig.fromString(CONFIG)
    home = os.path.expanduser("~")
    web = config.lookup("web")
    assert web == HostConfig(
        hostName="web.example.org",
        port=2222,
        user="deploy",
        identityFiles=(f"{home}/.ssh/web_deploy_2222", f"{home}/fallback"),
        userKnownHostsFiles=("/tmp/known hosts", "/tmp/other"),
        strictHostKeyChecking="accept-new",
        batchMode=True,
    )
    # What the command line chose goes into the tokens.
    assert config.lookup("web-1", user="me", port=7).identityFiles[0] == f"{home}/.ssh/web_me_7"
    private = config.lookup("web-private")
    assert (private.hostName, private.user, private.port) == ("10.0.0.7", "admin", 22)
    inner = config.lookup("DB.Internal")
    assert (inner.hostName, inner.port, inner.user) == (None, 2200, "everyone")
    assert inner.identityFiles == ("/keys/internal", f"{home}/fallback")
    assert config.lookup("ab").port == 2200
    assert config.lookup("abc").port == 22
    assert config.warnings == [
        "config line 20: Match criteria are not supported",
        "config line 23: Include is not supported",
    ]


def test_options() -> None:
    config = SSHConfig.fromString(CONFIG)
    config.addOption("Port=1")
    config.addOption("StrictHostKeyChecking no")
    config.addOption("port 3")
    config.addOption("IdentityFile=/o/key")
    web = config.lookup("web")
    assert (web.port, web.strictHostKeyChecking) == (1, "no")
    assert web.identityFiles[0] == "/o/key"
    with pytest.raises(ConfigError):
        config.addOption("Host=x")
    with pytest.raises(ConfigError):
        config.addOption("Port")


def test_noConfig() -> None:
    assert SSHConfig().lookup("x") == HostConfig()
    assert SSHConfig.fromString("Host other\n  Port 1\n").lookup("x") == HostConfig()


@pytest.mark.parametrize(
    "text",
    [
        "Port x",
        "Port 0",
        "Port 65536",
        "StrictHostKeyChecking maybe",
        "BatchMode sometimes",
        "User a b",
        "HostName",
        'IdentityFile "unbalanced',
        "Host",
        "= value",
        "Port 22\n" + "#" * 5000,
        "SendEnv A=B",
        "SendEnv -",
        "SetEnv NAME",
        "SetEnv =value",
        "EscapeChar ab",
    ],
)
def test_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="line"):
        SSHConfig.fromString(text)


def test_fromPath(tmp_path: Path) -> None:
    assert SSHConfig.fromPath(str(tmp_path / "missing")).lookup("h") == HostConfig()
    path = tmp_path / "config"
    path.write_text("Host h\n  Port 9\n")
    assert SSHConfig.fromPath(str(path)).lookup("h").port == 9
    path.write_text("Host h\n  Port 9\n" * 100)
    with pytest.raises(ConfigError, match="too large"):
        SSHConfig.fromPath(str(path), Limits(maxBytes=100))
    with pytest.raises(ConfigError, match="too many"):
        SSHConfig.fromString("Host " + "a " * 300)


def test_tokens() -> None:
    config = SSHConfig.fromString(
        "Host h\n  HostName real-%h\n  IdentityFile /k/%u-%h-%%-%x\n  UserKnownHostsFile %d/kh\n"
    )
    found = config.lookup("h")
    assert found.hostName == "real-h"
    assert found.identityFiles == (f"/k/{getpass.getuser()}-real-h-%-%x",)
    assert found.userKnownHostsFiles == (os.path.expanduser("~") + "/kh",)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_randomTextOnlyConfigErrors(text: str) -> None:
    try:
        config = SSHConfig.fromString(text, Limits(maxLineLength=100, maxPatterns=5))
    except ConfigError:
        return
    config.lookup("host").environment({"LANG": "C", "A": "b"})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_randomOptionsOnlyConfigErrors(text: str) -> None:
    config = SSHConfig()
    try:
        config.addOption(text)
    except ConfigError:
        return
    config.lookup("host").environment({"LANG": "C", "A": "b"})


def test_sendEnvAndSetEnv() -> None:
    """
    ``SendEnv`` patterns add up over lines and blocks (``-PATTERN`` removes), names match with
    case; the first ``SetEnv`` line wins, and a name twice on it keeps its first value.
    """
    config = SSHConfig.fromString(
        "Host h\n"
        "  SendEnv LANG LC_* GLISTEN_?\n"
        '  SetEnv FIRST=1 "SPACED=a b" FIRST=2 EMPTY=\n'
        "  SetEnv SECOND=ignored\n"
        "Host *\n"
        "  SendEnv OTHER -LC_A* -GLISTEN_?\n"
    )
    config.addOption("SendEnv=FROM_OPTION")
    found = config.lookup("h")
    assert found.sendEnv == ("FROM_OPTION", "LANG", "LC_*", "OTHER")
    assert found.setEnv == (("FIRST", "1"), ("SPACED", "a b"), ("EMPTY", ""))
    environ = {"LANG": "C.UTF-8", "lang": "x", "LC_ALL": "C", "GLISTEN_X": "1", "PATH": "/bin"}
    assert found.environment(environ) == [
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C"),
        ("FIRST", "1"),
        ("SPACED", "a b"),
        ("EMPTY", ""),
    ]
    assert config.lookup("other").environment(environ) == []
    # -o SetEnv comes before the file, so it wins.
    config.addOption("SetEnv=FROM_OPTION=yes")
    assert config.lookup("h").setEnv == (("FROM_OPTION", "yes"),)
