"""Twisted's IRC documentation examples, ported by renaming the imports, run against ngircd."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ReactorThread, stopProcess, waitUntil
from .test_ngircd import connect, has

pytestmark = pytest.mark.interop

HOWTO = Path(__file__).parent / "howto"


def test_ircLogBotLogsAndAnswers(ngircd: int, reactorThread: ReactorThread, tmp_path: Path) -> None:
    source = (HOWTO / "ircLogBot.py").read_text()
    assert "twisted" not in source
    rt = reactorThread
    # Someone already holds the bot's nick: the bot must pick another with alterCollidedNick.
    squatter = connect(rt, ngircd, "logbot")
    logFile = tmp_path / "channel.log"
    bot = subprocess.Popen(
        [sys.executable, str(HOWTO / "ircLogBot.py"), "127.0.0.1", str(ngircd), "#logs",
         str(logFile)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        waitUntil(
            lambda: logFile.exists() and "[I have joined #logs]" in logFile.read_text(),
            what="the bot to join",
        )
        alice = connect(rt, ngircd, "alice")
        rt.call(alice.join, "#logs")
        waitUntil(lambda: has(alice, "joined", "#logs"), what="alice joined")

        rt.call(alice.say, "#logs", "hello everyone")
        rt.call(alice.say, "#logs", "logbot^: who are you?")
        waitUntil(
            lambda: has(alice, "privmsg", "logbot^", "#logs", "alice: I am a log bot"),
            what="the bot's answer",
        )
        rt.call(alice.msg, "logbot^", "psst")
        waitUntil(
            lambda: has(
                alice, "privmsg", "logbot^", "alice",
                "It isn't nice to whisper!  Play nice with the group.",
            ),
            what="the bot's scolding",
        )  # fmt: skip
        rt.call(alice.describe, "#logs", "waves")
        rt.call(alice.setNick, "alicia")
        waitUntil(lambda: "is now known as" in logFile.read_text(), what="the nick change log")
        rt.call(squatter.quit, "bye")
    finally:
        stopProcess(bot)
    output = bot.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in output, output
    lines = [line.split(" ", 1)[1] for line in logFile.read_text().splitlines()]
    assert lines[0].startswith("[connected at")
    assert lines[1:8] == [
        "[I have joined #logs]",
        "<alice> hello everyone",
        "<alice> logbot^: who are you?",
        "<logbot^> alice: I am a log bot",
        "<alice> psst",
        "* alice waves",
        "alice is now known as alicia",
    ]
