"""
Programs shaped like Twisted Conch's terminal examples (telnet_echo.tac, demo_recvline.tac,
demo_manhole.tac, demo_insults.tac, window.tac) with ``twisted`` renamed to ``glisten``, run by
``glisten app`` and used through inetutils ``telnet`` and OpenSSH ``ssh`` in tmux.
The only change besides the imports: the fixed ports 6022/6023 are replaced by free ones.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from . import _tmux
from ._tmux import Pane, waitFor
from .conftest import freePort, requireBinary, waitForPort

pytestmark = pytest.mark.interop

#: The tmux pane fixture.
pane = _tmux.pane

MAKE_SERVICE = r"""
def makeService(args):
    checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(username=b"password")

    f = protocol.ServerFactory()
    f.protocol = lambda: TelnetTransport(
        TelnetBootstrapProtocol,
        insults.ServerProtocol,
        args["protocolFactory"],
        *args.get("protocolArgs", ()),
        **args.get("protocolKwArgs", {}),
    )
    tsvc = internet.TCPServer(args["telnet"], f)

    def chainProtocolFactory():
        return insults.ServerProtocol(
            args["protocolFactory"],
            *args.get("protocolArgs", ()),
            **args.get("protocolKwArgs", {}),
        )

    rlm = TerminalRealm()
    rlm.chainedProtocolFactory = chainProtocolFactory
    ptl = portal.Portal(rlm, [checker])
    f = ConchFactory(ptl)
    f.publicKeys[b"ssh-rsa"] = keys.Key.fromFile("ssh-keys/ssh_host_rsa_key.pub")
    f.privateKeys[b"ssh-rsa"] = keys.Key.fromFile("ssh-keys/ssh_host_rsa_key")
    csvc = internet.TCPServer(args["ssh"], f)

    m = service.MultiService()
    tsvc.setServiceParent(m)
    csvc.setServiceParent(m)
    return m
"""

TERMINAL_IMPORTS = """
from glisten.application import internet, service
from glisten.conch import recvline
from glisten.conch.insults import insults
from glisten.conch.manhole import ColoredManhole
from glisten.conch.manhole_ssh import ConchFactory, TerminalRealm
from glisten.conch.ssh import keys
from glisten.conch.telnet import TelnetBootstrapProtocol, TelnetTransport
from glisten.cred import checkers, portal
from glisten.internet import protocol
"""

TELNET_ECHO = """
from glisten.conch.telnet import TelnetTransport, TelnetProtocol
from glisten.internet.protocol import ServerFactory
from glisten.application.internet import TCPServer
from glisten.application.service import Application


class TelnetEcho(TelnetProtocol):
    def enableRemote(self, option):
        self.transport.write(b"You tried to enable " + option + b" (I rejected it)\\r\\n")
        return False

    def disableRemote(self, option):
        self.transport.write(b"You disabled " + option + b"\\r\\n")

    def enableLocal(self, option):
        self.transport.write(b"You tried to make me enable " + option + b" (I rejected it)\\r\\n")
        return False

    def disableLocal(self, option):
        self.transport.write(b"You asked me to disable " + option + b"\\r\\n")

    def dataReceived(self, data):
        self.transport.write(b"I received " + data + b" from you\\r\\n")


factory = ServerFactory()
factory.protocol = lambda: TelnetTransport(TelnetEcho)
service = TCPServer(6023, factory)

application = Application("Telnet Echo Server")
service.setServiceParent(application)
"""

DEMO_RECVLINE = (
    TERMINAL_IMPORTS
    + '''

class DemoRecvLine(recvline.HistoricRecvLine):
    """Writes each line back; "quit" ends the connection."""

    def lineReceived(self, line):
        if line == b"quit":
            self.terminal.loseConnection()
        self.terminal.write(line)
        self.terminal.nextLine()
        self.terminal.write(self.ps[self.pn])
'''
    + MAKE_SERVICE
    + """

application = service.Application("Insults RecvLine Demo")

makeService(
    {"protocolFactory": DemoRecvLine, "telnet": 6023, "ssh": 6022}
).setServiceParent(application)
"""
)

DEMO_MANHOLE = (
    TERMINAL_IMPORTS
    + MAKE_SERVICE
    + """

application = service.Application("Interactive Python Interpreter")

makeService(
    {
        "protocolFactory": ColoredManhole,
        "protocolArgs": (None,),
        "telnet": 6023,
        "ssh": 6022,
    }
).setServiceParent(application)
"""
)

DEMO_INSULTS = (
    TERMINAL_IMPORTS
    + '''
import random

from glisten.internet import task
from glisten.python import log


class DrawingFinished(Exception):
    """No frames left."""


class Drawable:
    n = 0

    def __init__(self, proto, col, line):
        self.proto = proto
        self.col = col
        self.line = line

    def drawLines(self, s):
        lines = s.splitlines()
        c = self.col
        line = self.line
        for l in lines:
            self.proto.cursorPosition(c - len(lines) / 2, line)
            self.proto.write(l)
            line += 1

    def iterate(self):
        getattr(self, "erase_" + str(self.n))()
        self.n += 1
        f = getattr(self, "draw_" + str(self.n), None)
        if f is None:
            raise DrawingFinished()
        f()

    def erase_0(self):
        pass


class Splat(Drawable):
    HEIGHT = 5
    WIDTH = 11

    def draw_1(self):
        self.drawLines(" . .\\n. . .\\n . .")

    def erase_1(self):
        self.drawLines("    \\n     \\n    ")

    def draw_2(self):
        self.drawLines("  o o o o\\n o O O O o\\no O O O O o\\n o O O O o\\n  o o o o")

    def erase_2(self):
        self.drawLines("         \\n          \\n           \\n          \\n         ")


class Drop(Drawable):
    WIDTH = 3
    HEIGHT = 4

    def draw_1(self):
        self.drawLines(" o")

    def erase_1(self):
        self.drawLines("  ")

    def draw_2(self):
        self.drawLines(" _ \\n/ \\\\\\n\\\\./")

    def erase_2(self):
        self.drawLines("  \\n   \\n   ")


class DemoProtocol(insults.TerminalProtocol):
    """Draws splats and drops at random places."""

    width = 80
    height = 24

    interval = 0.1
    rate = 0.05

    def connectionMade(self):
        self.run()

    def connectionLost(self, reason):
        self._call.stop()
        del self._call

    def run(self):
        self.terminal.eraseDisplay()
        self._call = task.LoopingCall(self._iterate)
        self._call.start(self.interval)

    def _iterate(self):
        cls = random.choice((Splat, Drop))
        col = random.randrange(self.width - cls.WIDTH) + cls.WIDTH
        line = random.randrange(self.height - cls.HEIGHT) + cls.HEIGHT
        s = cls(self.terminal, col, line)
        c = task.LoopingCall(s.iterate)
        c.start(self.rate).addErrback(lambda f: f.trap(DrawingFinished)).addErrback(log.err)

    def terminalSize(self, width, height):
        self.width = width
        self.height = height

    def unhandledControlSequence(self, seq):
        log.msg("Client sent something weird: %r" % (seq,))

    def keystrokeReceived(self, keyID, modifier):
        if keyID == b"+":
            self.interval /= 1.1
        elif keyID == b"-":
            self.interval *= 1.1
        else:
            log.msg("Client sent: %r" % (keyID,))
            return
        self._call.stop()
        self._call = task.LoopingCall(self._iterate)
        self._call.start(self.interval)
'''
    + MAKE_SERVICE
    + """

application = service.Application("Insults Demo App")

makeService(
    {"protocolFactory": DemoProtocol, "telnet": 6023, "ssh": 6022}
).setServiceParent(application)
"""
)

WINDOW = (
    TERMINAL_IMPORTS
    + """
from glisten.conch.insults import window
from glisten.internet import reactor, task


class DrawableCanvas(window.Canvas):
    x = 0
    y = 0

    def func_LEFT_ARROW(self, modifier):
        self.x -= 1
        self.repaint()

    def func_RIGHT_ARROW(self, modifier):
        self.x += 1
        self.repaint()

    def characterReceived(self, keyID, modifier):
        self[self.x, self.y] = keyID
        self.x += 1
        self.repaint()

    def keystrokeReceived(self, keyID, modifier):
        if keyID == b"\\r" or keyID == b"\\v":
            return
        window.Canvas.keystrokeReceived(self, keyID, modifier)
        if self.x >= self.width:
            self.x = 0
        elif self.x < 0:
            self.x = self.width - 1
        self.repaint()

    def render(self, width, height, terminal):
        window.Canvas.render(self, width, height, terminal)
        if self.focused:
            terminal.cursorPosition(self.x, self.y)
            window.cursor(terminal, chr(self[self.x, self.y]))


class ButtonDemo(insults.TerminalProtocol):
    width = 80
    height = 24

    def _draw(self):
        self.window.draw(self.width, self.height, self.terminal)

    def _redraw(self):
        self.window.filthy()
        self._draw()

    def _schedule(self, f):
        reactor.callLater(0, f)

    def connectionMade(self):
        self.terminal.eraseDisplay()
        self.terminal.resetPrivateModes([insults.privateModes.CURSOR_MODE])

        self.window = window.TopWindow(self._draw, self._schedule)
        self.output = window.TextOutput((15, 1))
        self.input = window.TextInput(15, self._setText)
        selections = [num.encode("utf-8") for num in map(str, range(100))]
        self.select1 = window.Selection(selections, self._setText, 10)
        self.button = window.Button(b"Clear", self._clear)
        self.canvas = DrawableCanvas()

        hbox = window.HBox()
        hbox.addChild(self.input)
        hbox.addChild(self.output)
        hbox.addChild(window.Border(self.button))
        hbox.addChild(window.Border(self.select1))

        t1 = window.TextOutputArea(longLines=window.TextOutputArea.WRAP)
        t2 = window.TextOutputArea(longLines=window.TextOutputArea.TRUNCATE)
        t3 = window.TextOutputArea(longLines=window.TextOutputArea.TRUNCATE)
        for _t in t1, t2, t3:
            _t.setText(((b"This is a very long string.  " * 3) + b"\\n") * 3)

        vp = window.Viewport(t3)
        d = [1]

        def spin():
            vp.xOffset += d[0]
            if vp.xOffset == 0 or vp.xOffset == 25:
                d[0] *= -1

        self.call = task.LoopingCall(spin)
        self.call.start(0.25, now=False)
        hbox.addChild(window.Border(vp))

        texts = window.VBox()
        texts.addChild(window.Border(t1))
        texts.addChild(window.Border(t2))

        areas = window.HBox()
        areas.addChild(window.Border(self.canvas))
        areas.addChild(texts)

        vbox = window.VBox()
        vbox.addChild(hbox)
        vbox.addChild(areas)
        self.window.addChild(vbox)
        self.terminalSize(self.width, self.height)

    def connectionLost(self, reason):
        self.call.stop()
        insults.TerminalProtocol.connectionLost(self, reason)

    def terminalSize(self, width, height):
        self.width = width
        self.height = height
        self.terminal.eraseDisplay()
        self._redraw()

    def keystrokeReceived(self, keyID, modifier):
        self.window.keystrokeReceived(keyID, modifier)

    def _clear(self):
        self.canvas.clear()

    def _setText(self, text):
        self.input.setText(b"")
        self.output.setText(text)
"""
    + MAKE_SERVICE
    + """

application = service.Application("Window Demo")

makeService(
    {"protocolFactory": ButtonDemo, "telnet": 6023, "ssh": 6022}
).setServiceParent(application)
"""
)

RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "app", sys.argv[1]])
"""


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Callable[[str, str], tuple[int, int]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def run(name: str, source: str) -> tuple[int, int]:
        telnetPort, sshPort = freePort(), freePort()
        keysDir = tmp_path / "ssh-keys"
        if not keysDir.exists():
            keysDir.mkdir()
            subprocess.run(
                [requireBinary("ssh-keygen"), "-q", "-t", "rsa", "-b", "2048", "-N", ""]
                + ["-f", str(keysDir / "ssh_host_rsa_key")],
                check=True,
            )
        source = source.replace("6023", str(telnetPort)).replace("6022", str(sshPort))
        (tmp_path / name).write_text(source)
        (tmp_path / "runner.py").write_text(RUNNER)
        log = open(tmp_path / f"{name}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, str(tmp_path / "runner.py"), name],
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        waitForPort(telnetPort, proc)
        return telnetPort, sshPort

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def test_telnetEcho(
    example: Callable[[str, str], tuple[int, int]], pane: Callable[..., Pane]
) -> None:
    port, _ = example("telnet_echo.tac", TELNET_ECHO)
    p = pane("echo", [requireBinary("telnet"), "127.0.0.1", str(port)])
    p.waitFor("Escape character")
    p.type("hello")
    p.keys("Enter")
    p.waitFor("I received hello")


def test_demoRecvLine(
    example: Callable[[str, str], tuple[int, int]], pane: Callable[..., Pane]
) -> None:
    port, _ = example("demo_recvline.tac", DEMO_RECVLINE)
    p = pane("recvline", [requireBinary("telnet"), "127.0.0.1", str(port)])
    p.waitFor(">>>")
    p.type("hello")
    p.keys("Left", "Left")
    p.type("XY")
    p.keys("Enter")
    p.waitFor(">>> helXYlo\nhelXYlo\n>>>")
    p.keys("Up")
    waitFor(lambda: p.screen().rstrip().splitlines()[-1], ">>> helXYlo")


def test_demoManholeOverSSH(
    example: Callable[[str, str], tuple[int, int]], pane: Callable[..., Pane], tmp_path: Path
) -> None:
    _, sshPort = example("demo_manhole.tac", DEMO_MANHOLE)
    waitForPort(sshPort)
    p = pane(
        "manhole",
        [
            requireBinary("ssh"),
            "-t",
            "-p",
            str(sshPort),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            f"UserKnownHostsFile={tmp_path / 'known_hosts'}",
            "-o",
            "PubkeyAuthentication=no",
            "-o",
            "PreferredAuthentications=password",
            "username@127.0.0.1",
        ],
    )
    p.waitFor("password:")
    p.type("password")
    p.keys("Enter")
    p.waitFor(">>>")
    p.type("1+1")
    p.keys("Enter")
    p.waitFor("\n2\n")


def test_demoInsults(
    example: Callable[[str, str], tuple[int, int]], pane: Callable[..., Pane]
) -> None:
    port, _ = example("demo_insults.tac", DEMO_INSULTS)
    p = pane("insults", [requireBinary("telnet"), "127.0.0.1", str(port)])
    p.waitFor("o O O O o")


def test_windowDemo(
    example: Callable[[str, str], tuple[int, int]], pane: Callable[..., Pane]
) -> None:
    port, _ = example("window.tac", WINDOW)
    p = pane("window", [requireBinary("telnet"), "127.0.0.1", str(port)])
    p.waitFor("Clear")
    p.waitFor("This is a very long")
    p.type("abc")
    p.keys("Enter")
    waitFor(lambda: p.screen().splitlines()[0], "abc")
    # Tab to the list, down twice, Return: its item becomes the output text.
    p.keys("Tab", "Tab", "Down", "Down", "Enter")
    waitFor(lambda: p.screen().splitlines()[0], "2")
    assert "abc" not in p.screen().splitlines()[0]
