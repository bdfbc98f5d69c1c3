"""The XMPP howto's programs against real peers: the client bot (``docs/examples/
xmpp_client.py``) finds Prosody through an SRV record served by ``glisten dns`` and echoes a
slixmpp user's messages; the component example (``examples/xmpp_component.py``) runs against
``glisten xmpp-router`` started as the howto says."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import Prosody, SlixClient, freePort, runGlisten, stopGlisten, waitUntil

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "docs" / "examples" / "xmpp_client.py"
COMPONENT = ROOT / "examples" / "xmpp_component.py"

ZONE = """\
$ORIGIN localhost.
$TTL 60
@   IN SOA ns hostmaster 2026120601 3600 600 86400 60
@   IN NS  ns
ns  IN A   127.0.0.1
_xmpp-client._tcp IN SRV 0 5 {port} localhost.
"""


class Output:
    """Collects a process's output lines in a thread, so the test can wait for one."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def has(self, prefix: str) -> bool:
        return any(line.startswith(prefix) for line in self.lines)


def test_client_bot_found_through_srv_echoes_slixmpp(
    prosody: Prosody, slix: SlixClient, tmp_path: Path
) -> None:
    (tmp_path / "localhost.zone").write_text(ZONE.format(port=prosody.c2sPort))
    dnsPort = freePort()
    dns = runGlisten(
        tmp_path, dnsPort, "dns", "--listen", f"tcp:{dnsPort}:interface=127.0.0.1",
        "--bindzone", "localhost.zone",
    )  # fmt: skip
    bot = subprocess.Popen(
        [sys.executable, str(CLIENT), "alice@localhost", "alice-pw", "--ca",
         str(prosody.caFile), "--dns", f"127.0.0.1:{dnsPort}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = Output(bot)
    try:
        waitUntil(lambda: output.has("Authenticated as alice@localhost/"), 30, "the bot to log in")
        slix.sendMessage("alice@localhost", "hello, bot")
        waitUntil(
            lambda: any(body == "echo: hello, bot" for _, body in slix.messages), what="the echo"
        )
        slix.sendMessage("alice@localhost", "quit")
        assert bot.wait(30) == 0, output.lines
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
        stopGlisten(dns)
    output.thread.join(10)
    assert output.lines[0] == "Connected.", output.lines
    assert "bob@localhost/slix: hello, bot" in output.lines
    assert output.lines[-1] == "Disconnected."
    assert not any("Traceback" in line for line in output.lines), output.lines
    assert [body for _, body in slix.messages][-2:] == ["echo: hello, bot", "bye"]


def test_component_example_through_glisten_xmpp_router(tmp_path: Path) -> None:
    port = freePort()
    router = runGlisten(
        tmp_path, port, "xmpp-router", "--port", f"tcp:{port}:interface=127.0.0.1",
        "--secret", "example-secret",
    )  # fmt: skip
    try:
        result = subprocess.run(
            [sys.executable, str(COMPONENT), str(port)], capture_output=True, text=True, timeout=60
        )
    finally:
        stopGlisten(router)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "version: glisten echo 1.0\necho.example.org said: echo: hello, components\n"
    )
