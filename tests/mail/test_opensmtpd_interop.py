"""``glisten mail`` and OpenSMTPD (Debian's ``opensmtpd``) relaying to each other.

OpenSMTPD runs as ``smtpd -d`` with a configuration in a temporary folder, on free loopback
ports. It needs root (it drops privileges to its own users itself), and its spool and control
socket are fixed paths (``/var/spool/smtpd``, ``/run/smtpd.sock``), so one instance runs at a
time (a file lock) and what a test leaves queued is removed before it stops.

What these tests find out about the peer (OpenSMTPD 6.8.0p2 on Debian 12):

- Its server side cannot do TLS with OpenSSL 3 (the handshake fails: upstream issues
  OpenSMTPD#1171 and #1239). glisten's relay then keeps the message queued and never falls
  back to plain text; a listener without ``tls`` takes it.
- Its client side does STARTTLS to ``glisten mail``, sends 8-bit bodies as they are, and
  neither pipelines nor sends ``SIZE=``/``BODY=`` (so glisten's SIZE limit is enforced on
  the data, and OpenSMTPD bounces the refused message).
- Its server offers neither PIPELINING nor SMTPUTF8: glisten's relay sends one command at a
  time to it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import smtplib
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    freePort,
    makeCertificate,
    requireBinary,
    startMail,
    stop,
    waitForPort,
    waitUntil,
)

pytestmark = pytest.mark.interop

LOCK = Path(tempfile.gettempdir()) / "glisten-opensmtpd.lock"
RECIPIENTS = ("x@remote.test", "y@remote.test", "z@remote.test")


class OpenSMTPD:
    """An OpenSMTPD started by a test.

    ``port`` takes plain SMTP, ``tlsPort`` offers STARTTLS. Mail for ``remote.test`` (only
    the addresses in :data:`RECIPIENTS`; others are refused) goes into ``maildir``; mail for
    ``glisten.test`` and ``origin.test`` is relayed to ``relayTo`` on 127.0.0.1.
    """

    def __init__(self, relayTo: int) -> None:
        self.smtpd = requireBinary("smtpd")
        self.smtpctl = requireBinary("smtpctl")
        if os.geteuid() != 0:
            if os.environ.get("CI") == "true":
                pytest.fail("OpenSMTPD needs root")
            pytest.skip("OpenSMTPD needs root")
        self._lock = open(LOCK, "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        folder = self.folder = Path(tempfile.mkdtemp(prefix="glisten-opensmtpd-"))
        folder.chmod(0o755)
        self.maildir = folder / "maildir"
        self.maildir.mkdir()
        # OpenSMTPD delivers as ``nobody``.
        self.maildir.chmod(0o777)
        # OpenSMTPD 6.8 cannot sign with EC keys under OpenSSL 3 at all.
        makeCertificate(folder, rsa=True)
        cert, key = folder / "cert.pem", folder / "key.pem"
        key.chmod(0o600)
        self.port = freePort()
        self.tlsPort = freePort()
        self.log = folder / "smtpd.log"
        config = folder / "smtpd.conf"
        # Virtual users (all delivered as ``nobody``): other addresses are refused.
        users = ", ".join(f'"{r}" = "nobody"' for r in RECIPIENTS)
        config.write_text(
            f"""pki localhost cert "{cert}"
pki localhost key "{key}"
table users {{ {users} }}
listen on 127.0.0.1 port {self.port} hostname opensmtpd.test
listen on 127.0.0.1 port {self.tlsPort} tls pki localhost hostname opensmtpd.test
action "box" maildir "{self.maildir}" virtual <users>
action "glisten" relay host smtp://127.0.0.1:{relayTo}
match from any for domain "remote.test" action "box"
match from any for domain "glisten.test" action "glisten"
match from any for domain "origin.test" action "glisten"
"""
        )
        self.process = subprocess.Popen(
            [self.smtpd, "-d", "-v", "-T", "mta", "-f", str(config)],
            stdout=open(self.log, "wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            waitForPort(self.port, self.process)
            waitForPort(self.tlsPort, self.process)
        except AssertionError as e:
            # Say why (another smtpd holding /run/smtpd.sock, say).
            log = self.logText()[-2000:]
            self.stop()
            raise AssertionError(f"{e}; smtpd said:\n{log}") from None
        except BaseException:
            self.stop()
            raise

    def logText(self) -> str:
        return self.log.read_text(errors="replace")

    def delivered(self) -> list[bytes]:
        return [p.read_bytes() for p in sorted((self.maildir / "new").glob("*"))]

    def stop(self) -> None:
        if self.process.poll() is None:
            # The spool is the system's: leave nothing of ours in it.
            subprocess.run([self.smtpctl, "remove", "all"], capture_output=True, timeout=30)
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()


class Glisten:
    """``glisten mail`` on ``port`` with local domains ``glisten.test`` (bob) and
    ``origin.test`` (alice), relaying everything else through the smart host."""

    def __init__(self, folder: Path, port: int, smarthost: int) -> None:
        self.folder = folder
        folder.mkdir()
        self.port = port
        self.queue = folder / "queue"
        self.process = startMail(
            folder,
            "--maildirdbmdomain",
            f"glisten.test={folder / 'glisten'}",
            "--user",
            "bob=pw",
            "--maildirdbmdomain",
            f"origin.test={folder / 'origin'}",
            "--user",
            "alice=pw",
            "--smtp",
            f"tcp:{port}:interface=127.0.0.1",
            "--esmtp",
            "--certificate",
            str(makeCertificate(folder)),
            "--relay",
            str(self.queue),
            "--smarthost",
            f"127.0.0.1:{smarthost}",
            "--relay-retry",
            "600",
            "--max-message-size",
            "20000",
        )
        waitForPort(port, self.process)

    def mailbox(self, folder: str, user: str) -> list[bytes]:
        return [p.read_bytes() for p in sorted((self.folder / folder / user / "new").glob("*"))]

    def queued(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_bytes()) for p in sorted(self.queue.glob("*-H"))]


def startPeers(folder: Path, useTLSPort: bool = False) -> tuple[Glisten, OpenSMTPD]:
    glistenPort = freePort()
    osmtpd = OpenSMTPD(relayTo=glistenPort)
    try:
        smarthost = osmtpd.tlsPort if useTLSPort else osmtpd.port
        return Glisten(folder / "glisten", glistenPort, smarthost), osmtpd
    except BaseException:
        osmtpd.stop()
        raise


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[tuple[Glisten, OpenSMTPD]]:
    g, osmtpd = startPeers(tmp_path)
    try:
        yield g, osmtpd
    finally:
        stop(g.process)
        osmtpd.stop()


BODY = "Grüße aus glisten\r\n.a dotted line\r\n".encode()


def submit(port: int, sender: str, recipients: list[str], subject: str, body: bytes) -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
        s.ehlo("client.test")
        message = b"Subject: " + subject.encode() + b"\r\nFrom: <" + sender.encode() + b">\r\n\r\n"
        return s.sendmail(sender, recipients, message + body, mail_options=["BODY=8BITMIME"])


def test_glistenRelaysToOpenSMTPD(peers: tuple[Glisten, OpenSMTPD]) -> None:
    """glisten's relay delivers to OpenSMTPD (8-bit body intact); the recipient OpenSMTPD
    refuses comes back to the sender as glisten's RFC 3464 bounce."""
    g, osmtpd = peers
    assert (
        submit(g.port, "alice@origin.test", ["x@remote.test", "y@remote.test"], "two", BODY) == {}
    )
    assert (
        submit(g.port, "alice@origin.test", ["z@remote.test", "unknown@remote.test"], "3", BODY)
        == {}
    )
    delivered = waitUntil(lambda: len(osmtpd.delivered()) >= 3 and osmtpd.delivered(), "OpenSMTPD")
    assert len(delivered) == 3
    for text in delivered:
        assert BODY in text.replace(b"\n", b"\r\n")
    [bounce] = waitUntil(lambda: g.mailbox("origin", "alice"), "glisten's bounce")
    assert b"Final-Recipient: rfc822; unknown@remote.test" in bounce
    assert b"Action: failed" in bounce and b"Status: 5." in bounce
    waitUntil(lambda: g.queued() == [], "an empty queue")


def test_openSMTPDRelaysToGlisten(peers: tuple[Glisten, OpenSMTPD]) -> None:
    """OpenSMTPD delivers to ``glisten mail`` over STARTTLS; what glisten refuses (an unknown
    user, a message over its SIZE) OpenSMTPD bounces, and the bounce reaches glisten too."""
    g, osmtpd = peers
    assert submit(osmtpd.port, "alice@origin.test", ["bob@glisten.test"], "in", BODY) == {}
    [message] = waitUntil(lambda: g.mailbox("glisten", "bob"), "OpenSMTPD's delivery")
    assert BODY.replace(b"\r\n", b"\n") in message and b"Subject: in" in message
    log = osmtpd.logText()
    assert "mta tls ciphers=" in log  # it took glisten's STARTTLS
    assert ">>> STARTTLS" in log and "250-SIZE 20000" in log and "250-8BITMIME" in log
    # OpenSMTPD honours the SIZE glisten announces: it does not even try, and bounces (to
    # its own domain here, since the bounce quotes the message and is too large as well).
    big = b"x" * 998 + b"\r\n"
    submit(osmtpd.port, "x@remote.test", ["bob@glisten.test"], "big", big * 30)
    [sizeBounce] = waitUntil(osmtpd.delivered, "OpenSMTPD's bounce for the large message")
    assert b"bob@glisten.test" in sizeBounce
    assert "message too large for peer" in osmtpd.logText()
    # A recipient glisten refuses: OpenSMTPD's bounce comes back to glisten.
    submit(osmtpd.port, "alice@origin.test", ["nobody@glisten.test"], "lost", BODY)
    [bounce] = waitUntil(lambda: g.mailbox("origin", "alice"), "OpenSMTPD's bounce")
    assert b"nobody@glisten.test" in bounce and b"550" in bounce
    assert len(g.mailbox("glisten", "bob")) == 1


def test_glistenNeverFallsBackToPlaintext(tmp_path: Path) -> None:
    """OpenSMTPD offers STARTTLS on ``tlsPort``. Where its handshake works, the message goes
    over TLS; where it fails (OpenSMTPD 6.8 with OpenSSL 3), the message stays queued with
    the failure noted, and nothing is sent in plain text."""
    g, osmtpd = startPeers(tmp_path, useTLSPort=True)
    try:
        assert submit(g.port, "alice@origin.test", ["x@remote.test"], "tls", BODY) == {}

        def settled() -> Any:
            if osmtpd.delivered():
                return "delivered"
            queued = g.queued()
            if queued and queued[0]["attempts"] >= 1:
                return queued[0]
            return None

        outcome = waitUntil(settled, "a delivery or a failed attempt")
        log = osmtpd.logText()
        assert "session_start_ssl" in log
        if outcome == "delivered":
            assert "smtp tls ciphers=" in log
        else:
            assert outcome["recipients"] == ["x@remote.test"] and outcome["lastError"]
            assert "smtp envelope" not in log and "smtp message" not in log
            assert osmtpd.delivered() == []
    finally:
        stop(g.process)
        osmtpd.stop()
