"""irssi (headless, in tmux) against ``glisten words``: it registers, joins a channel from its
config, logs what a library client says there, and what is typed into it reaches that client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .conftest import requireBinary, waitUntil
from .test_jaraco_irc import Peer, pump, startServer

irc_client = pytest.importorskip("irc.client")

pytestmark = pytest.mark.interop

CONFIG = """\
servers = (
  {{ address = "127.0.0.1"; chatnet = "glisten"; port = "{port}"; autoconnect = "yes";
     use_tls = "no"; }}
);
chatnets = {{ glisten = {{ type = "IRC"; }}; }};
channels = ( {{ name = "{channel}"; chatnet = "glisten"; autojoin = "yes"; }} );
settings = {{
  core = {{ real_name = "Irssi Test"; user_name = "irssi"; nick = "irssiuser"; }};
  "fe-common/core" = {{ autolog = "yes"; autolog_path = "{home}/logs/$0.log"; }};
{extra}}};
"""


def startIrssi(tmp_path: Path, port: int, channel: str, extra: str = "") -> tuple[Path, str, str]:
    """Start irssi in a detached tmux session, as ``irssiuser``, joining ``channel`` on the
    server at ``port``; ``extra`` adds settings sections.

    :return: irssi's home folder, the tmux session name and the tmux binary (kill the session
        with ``tmux kill-session -t SESSION``).
    """
    irssi = requireBinary("irssi")
    tmux = requireBinary("tmux")
    home = tmp_path / "irssi"
    home.mkdir()
    (home / "config").write_text(
        CONFIG.format(port=port, home=home, channel=channel, extra=extra.format(home=home))
    )
    session = f"glisten-irssi-{port}"
    subprocess.run(
        [tmux, "new-session", "-d", "-s", session, "-x", "200", "-y", "50",
         f"TERM=screen {irssi} --home={home}"],
        check=True,
    )  # fmt: skip
    return home, session, tmux


def test_irssiChatsWithALibraryClient(tmp_path: Path) -> None:
    requireBinary("irssi")
    proc, port = startServer(tmp_path)
    home, session, tmux = startIrssi(tmp_path, port, "#irssi")
    try:
        reactor = irc_client.Reactor()
        peer = Peer(reactor, port, "libclient")
        pump(reactor, lambda: peer.saw("welcome"))
        peer.conn.join("#irssi")
        pump(reactor, lambda: peer.saw("join", lambda e: e.source.nick == "irssiuser"), 30)

        peer.conn.privmsg("#irssi", "hello irssi, from a library")
        log = home / "logs" / "#irssi.log"
        waitUntil(
            lambda: (
                log.exists() and "hello irssi, from a library" in log.read_text(errors="replace")
            ),
            timeout=20,
            what="irssi to log the message",
        )

        subprocess.run(
            [tmux, "send-keys", "-t", session, "/msg #irssi hello from irssi", "Enter"], check=True
        )
        got = pump(reactor, lambda: peer.saw("pubmsg", lambda e: e.source.nick == "irssiuser"), 20)
        assert got.arguments == ["hello from irssi"]

        subprocess.run([tmux, "send-keys", "-t", session, "/quit leaving", "Enter"], check=True)
        got = pump(reactor, lambda: peer.saw("quit", lambda e: e.source.nick == "irssiuser"), 20)
        assert "leaving" in got.arguments[0]
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in out, out
