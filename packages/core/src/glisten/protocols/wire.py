"""The small standard services: Echo (RFC 862), Discard (RFC 863), Chargen (RFC 864),
Daytime (RFC 867), QOTD (RFC 865), Time (RFC 868) and Who."""

from __future__ import annotations

import struct
import time
from typing import Any

from zope.interface import implementer

from glisten.internet import interfaces
from glisten.internet.protocol import Protocol

__all__ = ["QOTD", "Chargen", "Daytime", "Discard", "Echo", "Time", "Who"]


class Echo(Protocol):
    """Sends back everything it receives."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Discard(Protocol):
    """Ignores everything it receives."""

    def dataReceived(self, data: bytes) -> None:
        """Discard the data."""


def _chargenCycle() -> bytes:
    # RFC 864: lines of 72 printable characters, each starting one character further along
    # the 95 printable ASCII characters; 95 lines make one full cycle.
    printable = bytes(range(32, 127))
    doubled = printable * 2
    return b"".join(doubled[i : i + 72] + b"\r\n" for i in range(len(printable)))


@implementer(interfaces.IProducer, interfaces.IPullProducer)
class Chargen(Protocol):
    """Sends the RFC 864 character pattern for as long as the peer reads it.

    It is a pull producer: the transport asks for the next block when its buffer drained.
    """

    noise = _chargenCycle()

    def connectionMade(self) -> None:
        self.transport.registerProducer(self, False)

    def resumeProducing(self) -> None:
        self.transport.write(self.noise)

    def pauseProducing(self) -> None:
        """Nothing to do: the transport only asks when it wants more."""

    def stopProducing(self) -> None:
        """Nothing to do: nothing is buffered here."""


class QOTD(Protocol):
    """Sends a quote of the day and disconnects."""

    def connectionMade(self) -> None:
        self.transport.write(self.getQuote() + b"\r\n")
        self.transport.loseConnection()

    def getQuote(self) -> bytes:
        """Return the quote; override for a better one."""
        return b"An apple a day keeps the doctor away."


class Who(Protocol):
    """Sends the list of active users and disconnects."""

    def connectionMade(self) -> None:
        self.transport.write(self.getUsers() + b"\r\n")
        self.transport.loseConnection()

    def getUsers(self) -> bytes:
        """Return the users; override this (there are none by default)."""
        return b"root"


class Daytime(Protocol):
    """Sends the current date and time in human-readable form (RFC 867) and disconnects."""

    clock: Any = None

    def _now(self) -> float:
        return self.clock.seconds() if self.clock is not None else time.time()

    def connectionMade(self) -> None:
        self.transport.write(time.asctime(time.gmtime(self._now())).encode("ascii") + b"\r\n")
        self.transport.loseConnection()


class Time(Protocol):
    """Sends seconds since 1900-01-01 as a 32-bit unsigned integer (RFC 868), disconnects."""

    clock: Any = None

    def connectionMade(self) -> None:
        now = self.clock.seconds() if self.clock is not None else time.time()
        # Wraps in 2036 by the RFC's own definition; modulo keeps it well-formed.
        self.transport.write(struct.pack("!I", int(now + 2208988800) % 2**32))
        self.transport.loseConnection()
