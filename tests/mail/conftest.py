"""Shared helpers for glisten-mail interop tests: real peers, and ``glisten mail`` run as a
separate process on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .._peers import freePort, requireBinary, waitForPort, waitUntil

# Re-exported: the test modules import them from here.
__all__ = ["freePort", "requireBinary", "waitForPort", "waitUntil"]


def requireModule(name: str) -> None:
    """Skip (fail in CI) when a Python peer is not importable."""
    try:
        __import__(name)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")


def makeCertificate(folder: Path, rsa: bool = False) -> Path:
    """A self-signed certificate and key for localhost in one PEM file (and apart, as
    ``cert.pem`` and ``key.pem``).

    :param rsa: An RSA key instead of an EC one (for peers that cannot use EC keys).
    """
    openssl = requireBinary("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    keyType = ["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            *keyType,
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    both = folder / "server.pem"
    both.write_bytes(cert.read_bytes() + key.read_bytes())
    return both


def startMail(folder: Path, *args: str) -> subprocess.Popen[bytes]:
    """Run ``glisten mail ARGS`` with its log in ``folder/glisten.log``."""
    log = open(folder / "glisten.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-c", "from glisten.application.cli import main; main()", "mail", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Dovecot:
    """A Dovecot started by a test: POP3 and IMAP on free loopback ports, users from a
    passwd-file with clear-text passwords (so APOP and CRAM-MD5 work), maildirs under
    ``folder/mail/USER``. The folder is a fresh one under the system's temporary folder,
    since Dovecot's processes run as ``nobody`` and pytest's folders are private."""

    def __init__(self, users: dict[str, str]) -> None:
        folder = self.folder = Path(tempfile.mkdtemp(prefix="glisten-dovecot-"))
        folder.chmod(0o755)
        self.pop3Port = freePort()
        self.imapPort = freePort()
        binary = requireBinary("dovecot")
        for sub in ("run", "state", "mail"):
            (folder / sub).mkdir(exist_ok=True)
        # Dovecot drops to ``nobody`` for mail access: let it in.
        (folder / "mail").chmod(0o777)
        (folder / "passwd").write_text(
            "".join(f"{user}:{{PLAIN}}{password}\n" for user, password in users.items())
        )
        for user in users:
            self.maildir(user)
        config = folder / "dovecot.conf"
        config.write_text(
            f"""protocols = pop3 imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 apop
log_path = {folder}/dovecot.log
default_internal_user = nobody
default_login_user = nobody
default_internal_group = nogroup
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={folder}/mail/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3Port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imapPort}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""
        )
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        waitForPort(self.pop3Port, self.process)
        waitForPort(self.imapPort, self.process)

    def maildir(self, user: str) -> Path:
        box = self.folder / "mail" / user
        for sub in ("", "new", "cur", "tmp"):
            (box / sub).mkdir(exist_ok=True)
            (box / sub).chmod(0o777)
        return box

    def deliver(self, user: str, name: str, message: bytes) -> None:
        path = self.maildir(user) / "new" / name
        path.write_bytes(message)
        path.chmod(0o666)

    def stop(self) -> None:
        stop(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


def runClient(port: int, client: Any, session: Any) -> Any:
    """Connect ``client`` (a glisten protocol) to ``port`` on 127.0.0.1 and run
    ``await session(client, reactor)``, all in one reactor run (stopping the reactor would
    drop the connection)."""
    from glisten.internet import defer
    from glisten.internet.endpoints import TCP4ClientEndpoint, connectProtocol

    from .test_client_interop import reactorAndRun

    reactor, run = reactorAndRun()

    async def main() -> Any:
        await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), client)
        return await session(client, reactor)

    return run(defer.ensureDeferred(main()), timeout=60)
