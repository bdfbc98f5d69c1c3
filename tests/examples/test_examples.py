"""Every program in examples/ runs to completion and prints what its docstring promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXPECTED = {
    "echo.py": "hello\nworld\n",
    "coroutines.py": "answer: 42\ngathered: [42, 7]\ntimed out, as asked\n",
    "web_hello.py": '200 /hello Hello, world!\n200 /files/web_hello.py """A web server',
    "web_client.py": "200 {\"greeting\": \"hello, agent\"}\n200 {'greeting': 'hello, treq-like'}\n"
    "200 {'sum': 6}\n",
    "irc_logbot.py": "visitor got: visitor: I am a log bot\n[connected]\n[I have joined #glisten]\n"
    "<visitor> hello, bot\n* visitor waves\n<visitor> logbot: what are you?\n"
    "<logbot> visitor: I am a log bot\n",
    "mail_server.py": "New message received:\nReceived: ConsoleMessageDelivery\nSubject: hello\n"
    "\nHello, console!\naccepted by 1 recipient(s)\n",
    "mail_client.py": "server got 'Tutorate!' for tutorial_recipient@example.net\nSent 1 messages\n"
    "server got 'glisten is great!' for bob@example.com\n"
    "server got 'glisten is great!' for charlie@example.com\nsendmail: 2 recipients accepted\n",
    "mail_client_tls.py": "server: Subject: over TLS\nserver: \nserver: secret stuff\n"
    "sent to 1 recipient(s)\n",
    "sftp_memory.py": "listing: hello.txt, motd.txt\nread back: hello from sftp\n"
    "mkdir refused: True\ndict holds: [b'hello.txt', b'motd.txt']\n",
    "xmpp_component.py": "version: glisten echo 1.0\n"
    "echo.example.org said: echo: hello, components\n",
}


def test_everyExampleIsChecked() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example(name: str) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(EXPECTED[name])
