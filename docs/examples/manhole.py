"""A Python shell inside a running server (a manhole), and a Telnet session that uses it to
look at the server and change it while it serves, in one program.

The server greets whoever sends it a name. ``manhole_tap.makeService`` adds the shell: here on
a Unix socket only its owner can open (mode 0600), behind a password file of scrypt hashes.
The shell sees the names in ``namespace``; what it changes, the server uses from then on.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

from glisten.conch import manhole_tap, telnet
from glisten.cred.checkers import scryptHash
from glisten.internet import defer, endpoints, protocol, task
from glisten.protocols.basic import LineReceiver


class Greeter(LineReceiver):
    def lineReceived(self, line: bytes) -> None:
        self.factory.served += 1
        self.sendLine(f"{self.factory.greeting}, {line.decode()}!".encode())
        self.transport.loseConnection()


class GreeterFactory(protocol.ServerFactory):
    protocol = Greeter
    greeting = "Hello"
    served = 0


class Visitor(LineReceiver):
    """Sends a name and fires ``answer`` with the greeting."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.answer: defer.Deferred[str] = defer.Deferred()

    def connectionMade(self) -> None:
        self.sendLine(self.name.encode())

    def lineReceived(self, line: bytes) -> None:
        self.answer.callback(line.decode())


#: Terminal control sequences the shell draws with (colours, clearing a line).
_ESCAPES = re.compile(rb"\x1b(?:\[[0-9;?]*[A-Za-z]|c)")


class ShellUser(telnet.TelnetProtocol):
    """Reads the shell's output as a terminal would show it, and types lines into it."""

    def __init__(self) -> None:
        self.received = b""
        self.waiting: tuple[bytes, defer.Deferred[bytes]] | None = None
        self.closed: defer.Deferred[None] = defer.Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        self._check()

    def connectionLost(self, reason: Any = None) -> None:
        self.closed.callback(None)

    def expect(self, text: bytes) -> defer.Deferred[bytes]:
        """Fires with everything received up to and including ``text``."""
        self.waiting = (text, defer.Deferred())
        found = self.waiting[1]
        self._check()
        return found

    def _check(self) -> None:
        if self.waiting is not None and self.waiting[0] in self.received:
            text, found = self.waiting
            end = self.received.index(text) + len(text)
            seen, self.received = self.received[:end], self.received[end:]
            self.waiting = None
            found.callback(seen)

    async def run(self, line: str) -> str:
        """Type ``line`` and Enter; the screen's new lines up to the next prompt."""
        self.transport.write(line.encode() + b"\r\n")
        screen = _ESCAPES.sub(b"", await self.expect(b"\n>>> ")).decode()
        # Each redraw of the input line starts with a carriage return: keep the last one.
        return "\n".join(row.rsplit("\r", 1)[-1] for row in screen.split("\n")[:-1])


async def main(reactor: Any) -> None:
    greeter = GreeterFactory()
    port = await endpoints.serverFromString(reactor, "tcp:0:interface=127.0.0.1").listen(greeter)
    here = endpoints.clientFromString(reactor, f"tcp:127.0.0.1:{port.getHost().port}")

    async def visit(name: str) -> None:
        visitor = Visitor(name)
        await endpoints.connectProtocol(here, visitor)
        print(f"{name} got: {await visitor.answer}")

    folder = tempfile.mkdtemp()
    passwd = os.path.join(folder, "manhole.passwd")
    with open(passwd, "wb") as f:
        f.write(b"admin:" + scryptHash(b"a long passphrase") + b"\n")
    socketPath = os.path.join(folder, "manhole.sock")
    manhole = manhole_tap.makeService(
        {"telnetPort": f"unix:{socketPath}", "passwd": passwd, "namespace": {"greeter": greeter}}
    )
    manhole.startService()

    await visit("bob")

    # An administrator logs in to the shell, as `telnet` would over TCP.
    admin = ShellUser()
    shell = endpoints.clientFromString(reactor, f"unix:{socketPath}")
    await endpoints.connectProtocol(shell, telnet.TelnetTransport(lambda: admin))
    await admin.expect(b"Username: ")
    admin.transport.write(b"admin\r\n")
    await admin.expect(b"Password: ")
    admin.transport.write(b"a long passphrase\r\n")
    await admin.expect(b">>> ")
    for line in [
        "greeter.served",
        "greeter.greeting = 'Welcome'",
        "from glisten.internet import reactor, task",
        "await task.deferLater(reactor, 0.1, lambda: 'waited for a Deferred')",
    ]:
        print(await admin.run(line))

    await visit("carol")

    admin.transport.write(b"\x04")  # Ctrl-D ends the session
    await admin.closed
    await manhole.stopService()
    await port.stopListening()


if __name__ == "__main__":
    task.react(lambda reactor: defer.ensureDeferred(main(reactor)))
