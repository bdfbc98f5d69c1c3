"""InspIRCd 3 on 127.0.0.1 with its IRCv3 modules, for the client interop tests.

InspIRCd relays SASL to a services server (Anope, Atheme) over its server-to-server protocol
and turns the services' verdict into the client-facing numerics. No services package ships in
Debian, so :class:`Services` stands in for one: it links to InspIRCd over the 1205 protocol,
announces PLAIN and EXTERNAL, checks a password or a certificate fingerprint and logs the user
in (``METADATA accountname``). Everything the client sees (CAP, AUTHENTICATE, 900/903/904, the
tags, batches and labelled replies) is InspIRCd's own.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path

from .conftest import freePort, makeCertificates, requireBinary, waitForPort

SERVICES_NAME = "services.test"
SERVICES_SID = "0SV"
LINK_PASSWORD = "link-pw"

INSPIRCD_CONF = """\
<server name="irc.inspircd.test" description="glisten interop" id="1IN" network="GlistenTest">
<admin name="test" nick="test" email="test@localhost">
<bind address="127.0.0.1" port="{port}" type="clients">
<bind address="127.0.0.1" port="{tlsPort}" type="clients" sslprofile="Clients">
<bind address="127.0.0.1" port="{linkPort}" type="servers">
<connect allow="*" timeout="60" threshold="100" pingfreq="120" hardsendq="1048576"
         softsendq="65536" recvq="65536" localmax="100" globalmax="100"
         resolvehostnames="no" useident="no">
<files motd="{dir}/motd">
<pid file="{dir}/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{dir}/inspircd.log">
<dns server="127.0.0.1" timeout="1">
<module name="ssl_gnutls">
<sslprofile name="Clients" provider="gnutls" certfile="{dir}/server.pem"
            keyfile="{dir}/server.key" dhfile="" hash="sha256" requestclientcert="yes">
<module name="sslinfo">
<module name="cap">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_batch">
<module name="ircv3_capnotify">
<module name="ircv3_ctctags">
<module name="ircv3_echomessage">
<module name="ircv3_labeledresponse">
<module name="ircv3_msgid">
<module name="ircv3_servertime">
<module name="services_account">
<module name="sasl">
<module name="spanningtree">
<module name="chanhistory">
<chanhistory maxlines="50" notice="no" bots="yes">
<sasl target="{services}">
<link name="{services}" ipaddr="127.0.0.1" port="{linkPort}" allowmask="127.0.0.0/8"
      sendpass="{password}" recvpass="{password}">
<uline server="{services}" silent="yes">
"""


def certificateFingerprint(pem: bytes) -> str:
    """The fingerprint InspIRCd (``hash="sha256"``) reports: SHA-256 of the DER, in hex."""
    der = base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))
    return hashlib.sha256(der).hexdigest()


class Services:
    """A services stand-in linked to InspIRCd: SASL PLAIN and EXTERNAL, nothing else.

    :ivar accounts: ``{account: password}`` for PLAIN.
    :ivar certificates: ``{fingerprint: account}`` for EXTERNAL.
    :ivar linked: set once InspIRCd finished its burst (the ``sasl`` capability is then
        offered to clients).
    :ivar attempts: ``(mechanism, account or None)`` for each decision, in order.
    """

    def __init__(self, linkPort: int) -> None:
        self.accounts: dict[str, str] = {}
        self.certificates: dict[str, str] = {}
        self.linked = threading.Event()
        self.attempts: list[tuple[str, str | None]] = []
        self._mechanisms: dict[str, tuple[str, str]] = {}
        self._socket = socket.create_connection(("127.0.0.1", linkPort), timeout=30)
        self._socket.settimeout(None)
        for line in (
            "CAPAB START 1205",
            "CAPAB CAPABILITIES :CASEMAPPING=rfc1459",
            "CAPAB END",
            f"SERVER {SERVICES_NAME} {LINK_PASSWORD} 0 {SERVICES_SID} :glisten test services",
        ):
            self._send(line)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _send(self, line: str) -> None:
        self._socket.sendall(line.encode("utf-8") + b"\r\n")

    def _run(self) -> None:
        try:
            with self._socket.makefile("rb") as lines:
                for raw in lines:
                    self._handle(raw.decode("utf-8", "replace").rstrip("\r\n").split(" "))
        except OSError:
            pass  # closed by close(), or InspIRCd went away

    def _handle(self, words: list[str]) -> None:
        if words[0] == "SERVER":
            self._send(f":{SERVICES_SID} BURST {int(time.time())}")
            self._send(f":{SERVICES_SID} METADATA * saslmechlist :EXTERNAL,PLAIN")
            self._send(f":{SERVICES_SID} ENDBURST")
        elif words[1:2] == ["ENDBURST"]:
            self.linked.set()
        elif words[1:2] == ["PING"]:
            self._send(f":{SERVICES_SID} PONG {words[0][1:]}")
        elif words[1:2] == ["ENCAP"] and words[3:4] == ["SASL"]:
            # :1IN ENCAP 0SV SASL <uid> <agent> <mode> <data...>
            self._sasl(words[0][1:], words[4], words[6], words[7:])

    def _sasl(self, server: str, uid: str, mode: str, data: list[str]) -> None:
        def reply(*rest: str) -> None:
            self._send(f":{SERVICES_SID} ENCAP {server} SASL {SERVICES_SID} {uid} {' '.join(rest)}")

        if mode == "S":
            mechanism = data[0]
            if mechanism not in ("PLAIN", "EXTERNAL"):
                reply("M", "EXTERNAL,PLAIN")
                reply("D", "F")
                return
            self._mechanisms[uid] = (mechanism, data[1] if len(data) > 1 else "")
            reply("C", "+")
        elif mode == "C" and uid in self._mechanisms:
            mechanism, fingerprint = self._mechanisms.pop(uid)
            account: str | None = None
            if mechanism == "PLAIN":
                try:
                    _, user, password = base64.b64decode(data[0]).decode().split("\0")
                except ValueError:
                    user = password = ""
                if user and self.accounts.get(user) == password:
                    account = user
            else:
                account = self.certificates.get(fingerprint.lower())
            self.attempts.append((mechanism, account))
            if account is None:
                reply("D", "F")
                return
            self._send(f":{SERVICES_SID} METADATA {uid} accountname :{account}")
            reply("D", "S")

    def close(self) -> None:
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
        except OSError:
            pass
        self._socket.close()
        self._thread.join(10)


class InspIRCd:
    """A running InspIRCd with plain and TLS client ports and a services link.

    :ivar port: the plain client port.
    :ivar tlsPort: the TLS client port (certificate for ``localhost`` from ``roots``' CA;
        client certificates are asked for and fingerprinted).
    :ivar roots: a folder holding the CA certificate, for ``trustRoots``.
    :ivar services: the linked :class:`Services`.
    """

    def __init__(self, folder: Path) -> None:
        binary = requireBinary("inspircd")
        folder.chmod(0o755)
        self.folder = folder
        self.roots = makeCertificates(folder)
        self.port, self.tlsPort, linkPort = freePort(), freePort(), freePort()
        (folder / "motd").write_text("glisten interop\n")
        conf = folder / "inspircd.conf"
        conf.write_text(
            INSPIRCD_CONF.format(
                dir=folder,
                port=self.port,
                tlsPort=self.tlsPort,
                linkPort=linkPort,
                services=SERVICES_NAME,
                password=LINK_PASSWORD,
            )
        )
        args = [binary, "--nofork", f"--config={conf}"]
        if os.geteuid() == 0:
            args.append("--runasroot")
        # In its folder: should it dump core, the dump stays out of the source tree.
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=folder
        )
        try:
            for port in (self.port, self.tlsPort, linkPort):
                waitForPort(port, self.proc)
            self.services = Services(linkPort)
            if not self.services.linked.wait(20):
                raise RuntimeError("the services stand-in did not link:\n" + self.log())
        except BaseException:
            self.proc.kill()
            self.proc.wait(10)
            raise

    def log(self) -> str:
        path = self.folder / "inspircd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        self.services.close()
        # InspIRCd 3.15 (Debian) crashes on SIGTERM with ssl_gnutls loaded; nothing of its
        # state is needed afterwards, so it is killed outright.
        self.proc.kill()
        self.proc.wait(10)
