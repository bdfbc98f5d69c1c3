"""DCC between glisten's IRCClient and irssi (headless, in tmux), through ``glisten words``:
irssi fetches a file glisten offers with DCC SEND, chats over a DCC CHAT glisten offers, and
sends files glisten receives, actively and passively (glisten listens, and resumes)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import ReactorThread, requireBinary, waitUntil
from .test_irssi import startIrssi
from .test_jaraco_irc import startServer
from .test_ngircd import DccRecorder, connect

pytestmark = pytest.mark.interop

DCC_SETTINGS = """\
  "irc/dcc" = {{
    dcc_autoget = "yes";
    dcc_autochat_masks = "*!*@*";
    dcc_download_path = "{home}/downloads";
  }};
"""


def passiveResults(bot: DccRecorder) -> int:
    """How many passive offers the bot finished taking, or failed to."""
    return sum(e[0] in ("received passively", "passive failed") for e in bot.events)


def test_irssiFetchesAFileAndChats(tmp_path: Path, reactorThread: ReactorThread) -> None:
    requireBinary("irssi")
    rt = reactorThread
    proc, port = startServer(tmp_path)
    home, session, tmux = startIrssi(tmp_path, port, "#dcc", DCC_SETTINGS)
    (home / "downloads").mkdir()
    try:
        bot = DccRecorder("glistenbot")
        bot.folder = str(tmp_path / "inbox")
        (tmp_path / "inbox").mkdir()
        connect(rt, port, "glistenbot", bot)
        rt.call(bot.join, "#dcc")
        waitUntil(
            lambda: any(e[:2] == ("userJoined", "irssiuser") for e in bot.events),
            timeout=30,
            what="irssi to join",
        )

        payload = bytes(range(256)) * 64 + b"tail"
        (tmp_path / "report.bin").write_bytes(payload)
        sent: list[Any] = []
        rt.call(lambda: bot.dccSend("irssiuser", str(tmp_path / "report.bin")).addBoth(sent.append))
        waitUntil(lambda: sent, timeout=30, what="irssi to fetch the file")
        assert sent == [len(payload)]
        target = home / "downloads" / "report.bin"
        waitUntil(
            lambda: target.exists() and target.stat().st_size == len(payload),
            what="the downloaded file",
        )
        assert target.read_bytes() == payload

        chats: list[Any] = []
        rt.call(lambda: bot.dccChat("irssiuser").addBoth(chats.append))
        waitUntil(lambda: chats, timeout=30, what="irssi to accept the chat")
        chat = chats[0]
        subprocess.run(
            [tmux, "send-keys", "-t", session, "/msg =glistenbot hello over dcc", "Enter"],
            check=True,
        )
        waitUntil(
            lambda: any(e[0] == "privmsg" and e[3] == "hello over dcc" for e in bot.events),
            timeout=20,
            what="irssi's chat line",
        )
        rt.call(chat.transport.loseConnection)

        # And the other way: irssi offers a file, the bot (DccFileReceive) takes it.
        upload = home / "upload.txt"
        upload.write_bytes(b"from irssi\n" * 500)
        subprocess.run(
            [tmux, "send-keys", "-t", session, f"/dcc send glistenbot {upload}", "Enter"],
            check=True,
        )
        waitUntil(
            lambda: any(e[0] == "received" for e in bot.events), timeout=30, what="the upload"
        )
        assert ("received", "upload.txt", 5500, None) in bot.events
        assert (tmp_path / "inbox" / "upload.txt").read_bytes() == upload.read_bytes()

        # Passive (reverse) DCC: irssi does not listen; the bot listens and irssi connects.
        # Then resumed: the bot has the first 3000 bytes, asks irssi to RESUME (port 0 and
        # the token), irssi ACCEPTs, the bot listens and irssi sends the rest.
        for count, (name, content, have) in enumerate(
            [
                ("passive.bin", bytes(range(256)) * 30, 0),
                ("resumed.bin", bytes(range(255, -1, -1)) * 40, 3000),
            ],
            1,
        ):
            offered = home / name
            offered.write_bytes(content)
            if have:
                (tmp_path / "inbox" / name).write_bytes(content[:have])
            command = f"/dcc send -passive glistenbot {offered}"
            subprocess.run([tmux, "send-keys", "-t", session, command, "Enter"], check=True)
            waitUntil(lambda: passiveResults(bot) >= count, timeout=30, what=f"{name} sent")  # noqa: B023
            assert ("received passively", name, len(content)) in bot.events
            assert (tmp_path / "inbox" / name).read_bytes() == content
    finally:
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True)
        proc.terminate()
        out = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in out, out
