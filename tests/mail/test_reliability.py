"""A message answered with 250 is never lost: clients send over 20 connections while the
server is killed with SIGKILL at random moments and restarted.

The issue asks for 2,000 messages and several kills; ``GLISTEN_KILL_MESSAGES`` scales the
count (the defaults, 2,000 and 300 with the relay, keep both tests near a minute). Delivery is at least
once: a message whose 250 was lost with the server (written, but the reply never left) is
sent again by its client and may arrive twice. Everything that got a 250 arrives.
"""

from __future__ import annotations

import os
import random
import re
import signal
import smtplib
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import freePort, startMail, stop, waitForPort
from .test_client_interop import startSink

pytestmark = pytest.mark.interop

CONNECTIONS = 20
_ID = re.compile(rb"^X-Test-Id: (\d+)\r?$", re.M)


class Sender(threading.Thread):
    """One client connection's worth of messages, resent until each gets a 250."""

    def __init__(self, port: int, ids: list[int], rcpt: str, stopAt: float) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.ids = ids
        self.rcpt = rcpt
        self.stopAt = stopAt
        self.acked: set[int] = set()
        #: Ids whose reply was lost in a kill: they may be delivered twice.
        self.uncertain: set[int] = set()

    def run(self) -> None:
        pending = list(self.ids)
        client: smtplib.SMTP | None = None
        while pending and time.monotonic() < self.stopAt:
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=10)
                    client.ehlo()
                n = pending[0]
                body = b"Subject: kill test\r\nX-Test-Id: %d\r\n\r\n%s\r\n" % (n, b"x" * 200)
                try:
                    client.sendmail("sender@origin.test", [self.rcpt], body)
                except (smtplib.SMTPServerDisconnected, OSError):
                    self.uncertain.add(n)
                    raise
                self.acked.add(n)
                pending.pop(0)
            except (smtplib.SMTPException, OSError):
                if client is not None:
                    try:
                        client.close()
                    except OSError:
                        pass
                client = None
                time.sleep(0.05)
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass


def _runWithKills(
    start: Callable[[], subprocess.Popen[bytes]], port: int, rcpt: str, total: int, kills: int
) -> tuple[set[int], set[int], subprocess.Popen[bytes]]:
    process = start()
    waitForPort(port, process)
    stopAt = time.monotonic() + 240
    ids = list(range(total))
    senders = [Sender(port, ids[i::CONNECTIONS], rcpt, stopAt) for i in range(CONNECTIONS)]
    for s in senders:
        s.start()
    rng = random.Random(21)
    for _ in range(kills):
        time.sleep(rng.uniform(0.5, 2.0))
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process = start()
        waitForPort(port, process)
    for s in senders:
        s.join(timeout=max(1.0, stopAt - time.monotonic()))
    acked = set().union(*(s.acked for s in senders))
    uncertain = set().union(*(s.uncertain for s in senders))
    return acked, uncertain, process


def _count(files: list[Path]) -> Counter[int]:
    seen: Counter[int] = Counter()
    for f in files:
        m = _ID.search(f.read_bytes())
        assert m is not None, f"a delivered file without its id: {f}"
        seen[int(m.group(1))] += 1
    return seen


def test_sigkillLosesNothing(tmp_path: Path) -> None:
    total = int(os.environ.get("GLISTEN_KILL_MESSAGES", "2000"))
    port = freePort()
    folder = tmp_path / "server"
    folder.mkdir()
    domain = folder / "example.com"

    def start() -> subprocess.Popen[bytes]:
        return startMail(
            folder,
            "--maildirdbmdomain",
            f"example.com={domain}",
            "--user",
            "sink=pw",
            "--smtp",
            f"tcp:{port}:interface=127.0.0.1",
            "--esmtp",
        )

    acked, uncertain, process = _runWithKills(start, port, "sink@example.com", total, kills=4)
    stop(process)
    assert len(acked) == total, f"only {len(acked)} of {total} messages got a 250 in time"
    seen = _count(sorted((domain / "sink" / "new").iterdir()))
    lost = acked - set(seen)
    assert not lost, f"{len(lost)} messages answered 250 are missing"
    twice = {n for n, c in seen.items() if c > 1}
    assert twice <= uncertain, "a message was stored twice without a lost reply"


def test_sigkillWithRelayTargetDown(tmp_path: Path) -> None:
    total = int(os.environ.get("GLISTEN_KILL_RELAY_MESSAGES", "300"))
    port, sinkPort = freePort(), freePort()
    folder = tmp_path / "server"
    folder.mkdir()
    queue = folder / "queue"

    def start() -> subprocess.Popen[bytes]:
        return startMail(
            folder,
            "--smtp",
            f"tcp:{port}:interface=127.0.0.1",
            "--esmtp",
            "--relay",
            str(queue),
            "--smarthost",
            f"127.0.0.1:{sinkPort}",
            "--relay-interval",
            "0.2",
            "--relay-retry",
            "0.5",
        )

    acked, uncertain, process = _runWithKills(start, port, "far@away.test", total, kills=3)
    sink = startSink(tmp_path / "sink", sinkPort)
    try:
        # The target is up: kill the server once more while it drains the queue.
        time.sleep(0.5)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process = start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and any(queue.glob("*-H")):
            time.sleep(0.2)
        assert not any(queue.glob("*-H")), "the queue did not drain"
    finally:
        stop(process)
        stop(sink.process)
    assert len(acked) == total, f"only {len(acked)} of {total} messages got a 250 in time"
    seen = _count(sorted((tmp_path / "sink").glob("*.eml")))
    lost = acked - set(seen)
    assert not lost, f"{len(lost)} messages answered 250 were never relayed"
    # Relaying is at least once: a kill between the target's 250 and the dequeue sends a
    # message again, so duplicates are allowed here (and only here).
    assert sum(seen.values()) >= total and not (set(seen) - set(range(total)))
    del uncertain
