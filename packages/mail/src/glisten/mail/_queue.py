"""The durable on-disk relay queue.

Each queued message is two files in the queue folder: ``ID-D`` (the message) and ``ID-H``
(the envelope, JSON: sender, recipients, attempts, times). A message exists once its ``-H``
file exists: the data is written and fsynced first, then the envelope, then the folder; only
then does the server answer 250. Removing goes the other way (``-H`` first), so a crash leaves
at worst a stray ``-D`` file, swept at start, and never an envelope without its message.

Delivery is at least once: a crash between the next hop's 250 and the removal sends the
message again after the restart (RFC 5321 6.1 accepts duplicates, never losses). The queue id
is in every log line about the message.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import attrs
from zope.interface import implementer

from glisten.internet import defer
from glisten.mail import smtp
from glisten.mail._fsync import DurableFile, fsyncDirectory, writeDurably


@attrs.define
class Envelope:
    """What the queue knows about a message besides its text.

    :ivar sender: The reverse path (``""`` for bounces).
    :ivar recipients: The forward paths (all in one domain).
    :ivar created: When it was queued (epoch seconds).
    :ivar attempts: Delivery attempts so far.
    :ivar nextAttempt: Not before this time.
    :ivar ret: DSN ``RET`` asked for, if any.
    :ivar envid: DSN ``ENVID``, if any.
    :ivar lastError: The last temporary failure, for the bounce.
    :ivar notify: DSN ``NOTIFY`` of the recipients (empty: the default, failures only).
    :ivar delayNotified: Recipient -> when the sender was last told it is delayed (RFC 3464
        ``Action: delayed``), kept so a restart does not repeat the notice.
    """

    sender: str
    recipients: list[str]
    created: float
    attempts: int = 0
    nextAttempt: float = 0.0
    ret: str | None = None
    envid: str | None = None
    lastError: str = ""
    notify: list[str] = attrs.Factory(list)
    delayNotified: dict[str, float] = attrs.Factory(dict)

    def dump(self) -> bytes:
        return json.dumps(attrs.asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def load(cls, data: bytes) -> Envelope:
        raw = json.loads(data)
        return cls(**{f.name: raw[f.name] for f in attrs.fields(cls) if f.name in raw})

    @property
    def domain(self) -> str:
        return self.recipients[0].rpartition("@")[2].lower() if self.recipients else ""


def _newId() -> str:
    return "%d.%d.%s" % (time.time_ns(), os.getpid(), os.urandom(4).hex())


@implementer(smtp.IMessage)
class FileMessage:
    """A message being written into the queue (Twisted's ``mail.FileMessage``).

    :ivar name: The queue id, once committed.
    """

    def __init__(self, queue: Queue, envelope: Envelope) -> None:
        self.queue = queue
        self.envelope = envelope
        self.name = _newId()
        self._file = DurableFile(
            os.path.join(queue.directory, self.name + "-D.tmp"), b"\r\n", queue.reactor
        )

    def lineReceived(self, line: bytes) -> None:
        self._file.writeLine(line)

    def eomReceived(self) -> defer.Deferred[str]:
        queue = self.queue

        def registered(_: object) -> str:
            # Back in the reactor thread: only now does the queue learn of the message.
            queue._register(self.name, self.envelope)
            return self.name

        d = self._file.commit(lambda: queue._makeDurable(self.name, self._file.path, self.envelope))
        return d.addCallback(registered)

    def connectionLost(self) -> None:
        self._file.discard()


class Queue:
    """The relay queue in ``directory`` (Twisted's ``relaymanager.Queue``).

    :param reactor: With a reactor, new messages are fsynced in its thread pool.
    :ivar waiting: Queue ids waiting for delivery.
    :ivar relayed: Queue ids being delivered now.
    """

    noisy = True

    def __init__(self, directory: str, reactor: Any = None) -> None:
        self.directory = directory
        #: With a reactor, messages are made durable in its thread pool.
        self.reactor = reactor
        os.makedirs(directory, 0o700, exist_ok=True)
        self.waiting: dict[str, int] = {}
        self.relayed: dict[str, int] = {}
        self._envelopes: dict[str, Envelope] = {}
        #: Called (without arguments) after each message is committed, so a relay manager
        #: can start at once instead of at its next timer tick.
        self.listeners: list[Any] = []
        self.readDirectory()

    def readDirectory(self) -> None:
        """Load the queue from disk; sweep half-written files of a crash."""
        self.waiting = {}
        self.relayed = {}
        self._envelopes = {}
        names = os.listdir(self.directory)
        headers = {n[:-2] for n in names if n.endswith("-H")}
        for n in names:
            path = os.path.join(self.directory, n)
            if n.endswith(".tmp") or ".tmp" in n:
                os.remove(path)
            elif n.endswith("-D") and n[:-2] not in headers:
                os.remove(path)
        for name in headers:
            try:
                with open(os.path.join(self.directory, name + "-H"), "rb") as f:
                    self._envelopes[name] = Envelope.load(f.read())
            except (OSError, ValueError, TypeError):
                continue
            self.waiting[name] = 1

    def createNewMessage(
        self, sender: str = "", recipients: list[str] | None = None, **params: Any
    ) -> FileMessage:
        """:return: an ``IMessage`` that queues a message for ``recipients`` at its end."""
        return FileMessage(self, Envelope(sender, list(recipients or []), time.time(), **params))

    def _commit(self, name: str, tmpData: str, envelope: Envelope) -> None:
        self._makeDurable(name, tmpData, envelope)
        self._register(name, envelope)

    def _makeDurable(self, name: str, tmpData: str, envelope: Envelope) -> None:
        """Move the (fsynced) data into place and write the envelope durably; safe in any
        thread: it touches only files."""
        data = os.path.join(self.directory, name + "-D")
        os.rename(tmpData, data)
        writeDurably(os.path.join(self.directory, name + "-H"), envelope.dump())

    def _register(self, name: str, envelope: Envelope) -> None:
        """The message is durable: make it wait for delivery (reactor thread only)."""
        self._envelopes[name] = envelope
        self.waiting[name] = 1
        for listener in self.listeners:
            # The message is safe already: a failing listener must not fail it.
            try:
                listener()
            except Exception:
                from glisten.logger import Logger

                Logger(namespace="glisten.mail.relaymanager").failure("Queue listener failed")

    def getWaiting(self) -> list[str]:
        return list(self.waiting)

    def hasWaiting(self) -> bool:
        return bool(self.waiting)

    def getRelayed(self) -> list[str]:
        return list(self.relayed)

    def setRelaying(self, message: str) -> None:
        del self.waiting[message]
        self.relayed[message] = 1

    def setWaiting(self, message: str) -> None:
        del self.relayed[message]
        self.waiting[message] = 1

    def getEnvelope(self, message: str) -> Envelope:
        return self._envelopes[message]

    def updateEnvelope(self, message: str, envelope: Envelope) -> None:
        """Store changed attempt counters durably."""
        self._envelopes[message] = envelope
        writeDurably(os.path.join(self.directory, message + "-H"), envelope.dump())

    def getPath(self, message: str) -> str:
        """:return: the path of the message's text."""
        return os.path.join(self.directory, message + "-D")

    def done(self, message: str) -> None:
        """The message is delivered (or bounced): remove it, envelope first."""
        self.relayed.pop(message, None)
        self.waiting.pop(message, None)
        self._envelopes.pop(message, None)
        for suffix in ("-H", "-D"):
            try:
                os.remove(os.path.join(self.directory, message + suffix))
            except FileNotFoundError:
                pass
        fsyncDirectory(self.directory)

    def __len__(self) -> int:
        return len(self.waiting) + len(self.relayed)
