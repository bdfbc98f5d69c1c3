"""Shared helpers for glisten-words interop tests: peers, free ports, a reactor thread."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .._peers import freePort, requireBinary, waitForPort

# Re-exported: the test modules import them from here.
__all__ = ["freePort", "requireBinary", "waitForPort"]

NGIRCD_CONF = """\
[Global]
    Name = irc.ngircd.test
    Info = glisten interop test server
    Listen = 127.0.0.1
    Ports = {port}
    MotdFile = {dir}/motd
{user}
[Limits]
    MaxNickLength = 30
    PingTimeout = 120
    PongTimeout = 60
    MaxConnectionsIP = 0
[Options]
    PAM = no
    Ident = no
    DNS = no
    OperCanUseMode = yes
{ssl}"""

NGIRCD_SSL = """\
[SSL]
    CertFile = {dir}/server.pem
    KeyFile = {dir}/server.key
    Ports = {port}
"""


def makeCertificates(folder: Path) -> Path:
    """A CA and a certificate for ``localhost``/127.0.0.1 signed by it, made with openssl.

    :return: a folder holding only the CA certificate (a ``trustRoots`` for endpoints).
    """
    openssl = requireBinary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=glisten test CA")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    for name in ("server.pem", "server.key"):
        (folder / name).chmod(0o644)
    roots = folder / "roots"
    roots.mkdir()
    (roots / "ca.pem").write_bytes((folder / "ca.pem").read_bytes())
    return roots


def startNgircd(tmp_path: Path, sslPort: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    binary = requireBinary("ngircd")
    port = freePort()
    tmp_path.chmod(0o755)
    (tmp_path / "motd").write_text("glisten interop\n")
    user = "    ServerUID = nobody\n    ServerGID = nogroup\n" if os.geteuid() == 0 else ""
    ssl = NGIRCD_SSL.format(dir=tmp_path, port=sslPort) if sslPort else ""
    conf = tmp_path / "ngircd.conf"
    conf.write_text(NGIRCD_CONF.format(port=port, dir=tmp_path, user=user, ssl=ssl))
    for f in (conf, tmp_path / "motd"):
        f.chmod(0o644)
    proc = subprocess.Popen(
        [binary, "-n", "-f", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        waitForPort(port, proc)
        if sslPort:
            waitForPort(sslPort, proc)
    except Exception:
        stopProcess(proc)
        raise
    return proc, port


# Runs the glisten command as installed, on the epoll reactor: ``python -c RUNNER PLUGIN ARGS``.
GLISTEN_RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", *sys.argv[1:]])
"""


def runGlisten(folder: Path, port: int, plugin: str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``glisten PLUGIN ARGS`` in ``folder`` and wait until it listens on ``port``.

    :raises RuntimeError: with the command's output, if it exits or never listens.
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", GLISTEN_RUNNER, plugin, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )
    try:
        waitForPort(port, proc)
    except Exception:
        proc.kill()
        raise RuntimeError(proc.communicate()[0].decode(errors="replace")) from None
    return proc


def stopGlisten(proc: subprocess.Popen[bytes]) -> None:
    """Stop a command started by :func:`runGlisten`; it must not have logged a traceback."""
    proc.terminate()
    out = proc.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in out, out


def stopProcess(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def ngircd(tmp_path: Path) -> Iterator[int]:
    """An ngircd on 127.0.0.1 with its config in a temp folder; yields its port."""
    proc, port = startNgircd(tmp_path)
    try:
        yield port
    finally:
        stopProcess(proc)


class ReactorThread:
    """A private glisten reactor running in a thread; the test thread calls into it."""

    def __init__(self) -> None:
        from glisten.internet.epollreactor import EPollReactor

        self.reactor = EPollReactor()
        self.thread = threading.Thread(
            target=self.reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
        )
        self.thread.start()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        self.reactor.callFromThread(fn, *args)

    def stop(self) -> None:
        self.reactor.callFromThread(self.reactor.stop)
        self.thread.join(10)


@pytest.fixture
def reactorThread() -> Iterator[ReactorThread]:
    rt = ReactorThread()
    try:
        yield rt
    finally:
        rt.stop()


def waitUntil(predicate: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
    """Poll ``predicate`` (state the reactor thread fills in) until it is true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


PROSODY_CONF = """\
pidfile = "{dir}/prosody.pid"
data_path = "{dir}/data"
run_as_root = true
daemonize = false
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
component_ports = {{ {component} }}
component_interface = "127.0.0.1"
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_direct_tls_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "version"; "time"; "smacks"{extraModules} }}
modules_disabled = {{ "s2s"; "offline"; "c2s_direct_tls" }}
authentication = "internal_hashed"
c2s_require_encryption = true
allow_registration = false
log = {{ debug = "{dir}/prosody.log"; error = "*console" }}
ssl = {{ certificate = "{dir}/server.pem"; key = "{dir}/server.key" }}
VirtualHost "localhost"
Component "component.localhost"
    component_secret = "{secret}"
"""

PROSODY_COMPONENT_SECRET = "s3cret-component"


class Prosody:
    """A running Prosody on 127.0.0.1 for the ``localhost`` domain.

    :ivar c2sPort: its client port (STARTTLS required, a certificate from ``caFile``'s CA).
    :ivar componentPort: its XEP-0114 port (``component.localhost``).
    :param extraModules: more modules to enable (``legacyauth``...).
    """

    def __init__(self, folder: Path, extraModules: tuple[str, ...] = ()) -> None:
        self.folder = folder
        self.binary = requireBinary("prosody")
        self.prosodyctl = requireBinary("prosodyctl")
        self.roots = makeCertificates(folder)
        self.caFile = folder / "ca.pem"
        self.c2sPort = freePort()
        self.componentPort = freePort()
        (folder / "data").mkdir()
        self.config = folder / "prosody.cfg.lua"
        self.config.write_text(
            PROSODY_CONF.format(
                dir=folder,
                c2s=self.c2sPort,
                component=self.componentPort,
                secret=PROSODY_COMPONENT_SECRET,
                extraModules="".join(f'; "{m}"' for m in extraModules),
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def register(self, user: str, password: str) -> None:
        subprocess.run(
            [
                self.prosodyctl,
                "--config",
                str(self.config),
                "register",
                user,
                "localhost",
                password,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "-F", "--config", str(self.config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        waitForPort(self.c2sPort, self.proc)
        waitForPort(self.componentPort, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stopProcess(self.proc)

    def log(self) -> str:
        path = self.folder / "prosody.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def runningProsody(folder: Path, extraModules: tuple[str, ...] = ()) -> Iterator[Prosody]:
    """A Prosody with two accounts, ``alice``/``bob`` (passwords ``alice-pw``/``bob-pw``),
    stopped on leaving.

    :param extraModules: more modules to enable (``legacyauth``...).
    """
    server = Prosody(folder, extraModules)
    server.register("alice", "alice-pw")
    server.register("bob", "bob-pw")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[Prosody]:
    """A Prosody with two accounts, ``alice``/``bob`` (passwords ``alice-pw``/``bob-pw``)."""
    with runningProsody(tmp_path) as server:
        yield server


# Stopped slixmpp loops stay referenced: slixmpp's finalizers schedule calls on their loop,
# which must not be closed by then.
_STOPPED_LOOPS: list[asyncio.AbstractEventLoop] = []


def stopSlixmpp(peer: Any) -> None:
    """Disconnect a slixmpp peer running in its own thread, stop its loop and cancel what is
    left on it, so nothing runs or complains after the test."""
    peer.loop.call_soon_threadsafe(peer.xmpp.disconnect)
    peer.loop.call_soon_threadsafe(peer.loop.stop)
    peer.thread.join(10)
    pending = asyncio.all_tasks(peer.loop)
    for task in pending:
        task.cancel()
    peer.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    peer.xmpp = None
    gc.collect()
    _STOPPED_LOOPS.append(peer.loop)


class SlixClient:
    """A slixmpp client in its own thread and event loop."""

    def __init__(self, server: Prosody, user: str, password: str) -> None:
        import slixmpp

        self.loop = asyncio.new_event_loop()
        self.messages: list[tuple[str, str]] = []
        self.ready = threading.Event()
        asyncio.set_event_loop(self.loop)
        xmpp = slixmpp.ClientXMPP(f"{user}@localhost/slix", password, loop=self.loop)
        xmpp.ca_certs = str(server.caFile)
        xmpp.enable_direct_tls = False
        xmpp.enable_plaintext = False
        xmpp.register_plugin("xep_0030")
        xmpp.register_plugin("xep_0092", {"name": "slix-peer", "version": "1.0"})
        xmpp.register_plugin("xep_0199")
        xmpp.add_event_handler("session_start", self._started)
        xmpp.add_event_handler("message", self._message)
        self.xmpp = xmpp
        self.port = server.c2sPort
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.xmpp.connect("127.0.0.1", self.port)
        self.loop.run_forever()

    async def _started(self, event: Any) -> None:
        self.xmpp.send_presence()
        self.ready.set()

    def _message(self, msg: Any) -> None:
        self.messages.append((str(msg["from"]), str(msg["body"])))
        if str(msg["body"]) == "echo?":
            msg.reply("echo!").send()

    def sendMessage(self, to: str, body: str) -> None:
        self.loop.call_soon_threadsafe(
            lambda: self.xmpp.send_message(mto=to, mbody=body, mtype="chat")
        )

    def run(self, coro: Any, timeout: float = 15) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        stopSlixmpp(self)


@pytest.fixture
def slix(prosody: Prosody) -> Iterator[SlixClient]:
    peer = SlixClient(prosody, "bob", "bob-pw")
    try:
        assert peer.ready.wait(20), "slixmpp did not log in"
        yield peer
    finally:
        peer.stop()
