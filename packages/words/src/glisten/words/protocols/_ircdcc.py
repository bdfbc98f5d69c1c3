"""DCC connections: receiving files (:class:`DccFileReceive`, and
:class:`DccFileReceiveFactory` for passive offers, where the receiver listens), sending them
(:class:`DccSendProtocol`, :class:`DccSendFactory`) and chats (:class:`DccChat`).

The receiver writes only inside its folder (the offered name is reduced to a safe base name,
the file is created without following symbolic links and, unless asked, never over an existing
file), stops at the announced size, acknowledges bytes as the DCC protocol asks, and closes
the connection once the announced size arrived. The sender
offers only a file's base name and waits for each block's acknowledgement; a chat refuses
over-long lines. A listening side accepts one connection and stops listening after a timeout.
"""

from __future__ import annotations

import os
import struct
from typing import IO, Any

from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionLost, TimeoutError
from glisten.internet.protocol import ClientFactory, Factory, Protocol, connectionDone
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.words.protocols._irc._dcc import DccAckDecoder, DccChatDecoder, safeFileName
from glisten.words.protocols._irc._errors import IRCBadMessage, IRCLocalError

__all__ = [
    "DccChat",
    "DccChatFactory",
    "DccFileReceive",
    "DccFileReceiveBasic",
    "DccFileReceiveFactory",
    "DccSendFactory",
    "DccSendProtocol",
    "fileSize",
]

_log = Logger()


class DccFileReceiveBasic(Protocol):
    """Counts and acknowledges received bytes; subclasses store them.

    :ivar bytesReceived: bytes received so far (after ``resumeOffset``).
    """

    bytesReceived = 0

    def __init__(self, resumeOffset: int = 0) -> None:
        self.bytesReceived = resumeOffset
        self.resumeOffset = resumeOffset

    def dataReceived(self, data: bytes) -> None:
        self.bytesReceived += len(data)
        self.transport.write(struct.pack("!I", self.bytesReceived & 0xFFFFFFFF))


class DccFileReceive(DccFileReceiveBasic):
    """Writes an offered file into ``destDir``.

    :param filename: the name the sender offered (reduced with ``safeFileName``).
    :param fileSize: the announced size, -1 if unknown; more data than that aborts.
    :param queryData: the offer's ``(user, channel, data)``, for logs.
    :param destDir: the folder to write into.
    :param resumeOffset: bytes of an earlier attempt to append to.
    :ivar maxFileSize: the most written when the size is unknown.
    """

    maxFileSize = 1 << 31
    overwrite = False
    fileSize = -1

    def __init__(
        self,
        filename: str,
        fileSize: int = -1,
        queryData: Any = None,
        destDir: str = ".",
        resumeOffset: int = 0,
    ) -> None:
        super().__init__(resumeOffset)
        self.filename = safeFileName(filename)
        self.destDir = destDir
        self.fileSize = fileSize
        self.queryData = queryData
        self.file: Any = None
        self.error: str | None = None

    def set_directory(self, directory: str) -> None:
        """Write into ``directory`` (it must exist)."""
        if not os.path.isdir(directory):
            raise OSError(f"not a folder: {directory!r}")
        self.destDir = directory

    def set_filename(self, filename: str) -> None:
        """Write under another (also sanitised) name."""
        self.filename = safeFileName(filename)

    def set_overwrite(self, boolean: bool) -> None:
        """Allow replacing an existing file."""
        self.overwrite = boolean

    def path(self) -> str:
        """Where the file goes; always inside ``destDir``."""
        folder = os.path.realpath(self.destDir)
        path = os.path.join(folder, self.filename)
        if os.path.dirname(path) != folder:
            raise OSError("file name escapes the download folder")
        return path

    def connectionMade(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        if self.resumeOffset:
            flags |= os.O_APPEND
        elif self.overwrite:
            flags |= os.O_TRUNC
        else:
            flags |= os.O_EXCL
        try:
            fd = os.open(self.path(), flags, 0o600)
        except OSError as e:
            self.error = e.strerror or str(e)
            _log.warn("DCC: refusing {name}: {why}", name=self.filename, why=self.error)
            self.transport.loseConnection()
            return
        self.file = os.fdopen(fd, "ab" if self.resumeOffset else "wb")

    def dataReceived(self, data: bytes) -> None:
        if self.file is None:
            return
        limit = self.fileSize if self.fileSize >= 0 else self.maxFileSize
        if self.bytesReceived + len(data) > limit:
            self.error = "more data than announced"
            self.file.close()
            self.file = None
            self.transport.abortConnection()
            return
        self.file.write(data)
        super().dataReceived(data)
        if self.bytesReceived == self.fileSize:
            # All announced bytes are here and acknowledged: close, rather than leave it to a
            # sender that may have missed the moment (irssi waits for one more ack when the
            # last one overtakes its end of file).
            self.file.close()
            self.file = None
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if self.error is None and 0 <= self.fileSize != self.bytesReceived:
            self.error = "incomplete"
        factory = getattr(self, "factory", None)
        if isinstance(factory, DccFileReceiveFactory):
            factory.receiveFinished(self)

    def __str__(self) -> str:
        return f"<DCC file {self.filename} {self.bytesReceived}/{self.fileSize}>"


def fileSize(file: Any) -> int | None:
    """The bytes left to read in an open file, or None when that cannot be told."""
    try:
        return max(os.fstat(file.fileno()).st_size - file.tell(), 0)
    except (AttributeError, OSError, ValueError):
        pass
    try:
        here = file.tell()
        file.seek(0, os.SEEK_END)
        end = file.tell()
        file.seek(here)
        return int(end - here)
    except (AttributeError, OSError, ValueError):
        return None


class DccSendProtocol(Protocol):
    """Sends a file to a DCC receiver, one block per acknowledgement, and closes the connection
    once everything sent was acknowledged.

    :param file: an open binary file, read from where it stands.
    :ivar blocksize: bytes sent before waiting for the receiver's acknowledgement.
    """

    blocksize = 1024
    connected = False
    completed = False
    bytesSent = 0

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self._acks = DccAckDecoder()

    def connectionMade(self) -> None:
        self.connected = True
        self.sendBlock()

    def sendBlock(self) -> None:
        """Send the next block, or finish when the file is exhausted."""
        block = self.file.read(self.blocksize)
        if block:
            self.bytesSent += len(block)
            self.transport.write(block)
        else:
            self.completed = True
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        if self.completed:
            return
        try:
            acks = self._acks.receiveData(data, self.bytesSent)
        except IRCBadMessage:
            _log.warn("DCC: the receiver acknowledged bytes never sent")
            self.transport.abortConnection()
            return
        if acks and acks[-1] == self.bytesSent & 0xFFFFFFFF:
            self.sendBlock()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.connected = False
        close = getattr(self.file, "close", None)
        if close is not None:
            close()
        factory = getattr(self, "factory", None)
        if isinstance(factory, DccSendFactory):
            factory.sendFinished(self)


class _DccOffer:
    """What both offering factories share: listen for a single connection, stop listening
    when it comes or after ``timeout`` seconds, and fail ``deferred`` on the timeout."""

    _port: Any = None
    _timer: Any = None
    _accepted = False
    deferred: Deferred[Any]

    def listen(self, reactor: Any, interface: str, timeout: float) -> int:
        """Listen on a free port of ``interface`` for the peer.

        :return: the port number to offer.
        """
        self._port = reactor.listenTCP(0, self, backlog=1, interface=interface)
        self._timer = reactor.callLater(timeout, self._expired)
        return int(self._port.getHost().port)

    def _listening(self) -> bool:
        return self._port is not None

    def _accept(self) -> bool:
        """Called for each incoming connection; True only for the first."""
        if self._accepted:
            return False
        self._accepted = True
        self._stop()
        return True

    def _stop(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        if self._port is not None:
            self._port.stopListening()
            self._port = None

    def _expired(self) -> None:
        self._stop()
        if not self._accepted:
            self._accepted = True
            self.deferred.errback(TimeoutError("nobody accepted the DCC offer"))


class DccSendFactory(_DccOffer, ClientFactory):
    """Builds the one :class:`DccSendProtocol` for a file offered with DCC SEND: listening
    for the receiver, or connecting to it (a passive offer the receiver answered).

    :ivar deferred: fires with the bytes sent once the receiver acknowledged them all, or
        fails (:class:`~glisten.internet.error.ConnectionLost` when the connection ends first,
        :class:`~glisten.internet.error.TimeoutError` when nobody connects or answers in time,
        :class:`~glisten.internet.error.ConnectError` when the receiver cannot be reached).
    """

    protocol = DccSendProtocol

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.deferred: Deferred[int] = Deferred()
        self.resumePosition = 0

    def resume(self, position: int) -> bool:
        """Start the transfer at ``position`` instead (a receiver's ``DCC RESUME``), if no
        connection was accepted yet and the file can seek there.

        :return: whether it will.
        """
        if self._accepted or position < 0:
            return False
        try:
            start = self.file.tell()
            end = self.file.seek(0, 2)
            if start + position > end:
                self.file.seek(start)
                return False
            self.file.seek(start + position)
        except (AttributeError, OSError, ValueError):
            return False
        self.resumePosition = position
        return True

    def buildProtocol(self, addr: Any) -> DccSendProtocol | None:
        if not self._accept():
            return None
        proto = self.protocol(self.file)
        proto.bytesSent = self.resumePosition
        proto.factory = self
        return proto

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        """The receiver of a passive offer could not be reached: fail ``deferred``."""
        self.abandon(reason.value)

    def abandon(self, reason: BaseException) -> None:
        """Give up before any connection (a passive offer never answered, or the IRC
        connection gone while listening): stop listening, close the file and fail
        ``deferred`` with ``reason``."""
        if not self._accepted:
            self._accepted = True
            self._stop()
            close = getattr(self.file, "close", None)
            if close is not None:
                close()
            self.deferred.errback(reason)

    def sendFinished(self, proto: DccSendProtocol) -> None:
        """Called by the protocol when its connection ends: fire or fail ``deferred``."""
        if proto.completed:
            self.deferred.callback(proto.bytesSent)
        else:
            self.deferred.errback(ConnectionLost("the DCC SEND ended before the whole file"))


class DccFileReceiveFactory(_DccOffer, Factory):
    """Takes the one connection of a passive (reverse) DCC SEND's sender, for ``receiver``.

    :param receiver: the :class:`DccFileReceive` that writes the file.
    :ivar deferred: fires with ``receiver`` once the whole file arrived; fails with
        :class:`~glisten.internet.error.ConnectionLost` when the connection ends first or the
        receiver refused the file (its ``error`` says why), and with
        :class:`~glisten.internet.error.TimeoutError` when the sender does not come in time.
    """

    def __init__(self, receiver: DccFileReceive) -> None:
        self.receiver = receiver
        self.deferred: Deferred[DccFileReceive] = Deferred()

    def buildProtocol(self, addr: Any) -> DccFileReceive | None:
        if not self._accept():
            return None
        self.receiver.factory = self
        return self.receiver

    def abandon(self, reason: Exception) -> None:
        """Give up before listening (the sender never agreed to resume) or while listening:
        stop listening and fail ``deferred`` with ``reason``."""
        if not self._accepted:
            self._accepted = True
            self._stop()
            self.deferred.errback(reason)

    def receiveFinished(self, receiver: DccFileReceive) -> None:
        """Called by the receiver when its connection ends: fire or fail ``deferred``."""
        if self.deferred.called:
            return
        if receiver.error is None:
            self.deferred.callback(receiver)
        else:
            self.deferred.errback(ConnectionLost(f"the DCC SEND failed: {receiver.error}"))


class DccChat(Protocol):
    """A DCC CHAT connection: lines both ways (``sendLine``, ``lineReceived``).

    :param client: the :class:`IRCClient` the chat belongs to (received lines go to its
        ``privmsg`` by default), or None.
    :param queryData: the offer's ``(user, channel, data)``; ``remoteParty`` is the user.
    :ivar maxLineLength: the longest line accepted, in bytes; a longer one closes the chat.
    """

    delimiter = b"\r\n"
    maxLineLength = 4096
    remoteParty: str | None = None

    def __init__(self, client: Any, queryData: Any = None) -> None:
        self.client = client
        self.queryData = queryData
        if queryData:
            self.remoteParty = queryData[0]
        self._decoder = DccChatDecoder(self.maxLineLength)
        self._closed = False

    def connectionMade(self) -> None:
        factory = getattr(self, "factory", None)
        if isinstance(factory, DccChatFactory):
            factory.chatStarted(self)

    def dataReceived(self, data: bytes) -> None:
        if self._closed:
            return
        try:
            lines = self._decoder.receiveData(data)
        except IRCBadMessage:
            self._closed = True
            _log.info("DCC CHAT: closing, the peer sent an over-long line")
            self.transport.loseConnection()
            return
        for line in lines:
            self.lineReceived(line)

    def lineReceived(self, line: str) -> None:
        """A line from the peer; passed to the client's ``privmsg`` as from ``remoteParty``."""
        if self.client is not None:
            self.client.privmsg(self.remoteParty or "", self.client.nickname, line)

    def sendLine(self, line: str | bytes) -> None:
        """Send one line.

        :raises IRCLocalError: it holds a CR, LF or NUL, or is longer than ``maxLineLength``.
        """
        data = line.encode("utf-8") if isinstance(line, str) else line
        if b"\r" in data or b"\n" in data or b"\0" in data or len(data) > self.maxLineLength:
            raise IRCLocalError("a DCC CHAT line cannot hold CR, LF or NUL, or be that long")
        self.transport.write(data + self.delimiter)


class DccChatFactory(_DccOffer, ClientFactory):
    """Builds a :class:`DccChat` for ``client``: connect it to an offer's address, or listen
    with :meth:`IRCClient.dccChat`.

    :ivar deferred: fires with the connected :class:`DccChat` (when listening, or connecting
        with :meth:`connect`), or fails with :class:`~glisten.internet.error.TimeoutError`
        when nobody connects (or answers a passive offer) in time.
    """

    protocol = DccChat

    def __init__(self, client: Any, queryData: Any = None) -> None:
        self.client = client
        self.queryData = queryData
        self.deferred: Deferred[DccChat] = Deferred()

    def buildProtocol(self, addr: Any) -> DccChat | None:
        if self._listening() and not self._accept():
            return None
        proto = self.protocol(self.client, self.queryData)
        proto.factory = self
        return proto

    def connect(self, reactor: Any, address: str, port: int, timeout: float) -> None:
        """Connect to the peer that answered a passive offer; ``deferred`` fires with the
        chat once connected, or fails with
        :class:`~glisten.internet.error.ConnectError`."""
        self._accepted = True
        reactor.connectTCP(address, port, self, timeout=timeout)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if self._accepted and not self.deferred.called:
            self.deferred.errback(reason)

    def abandon(self, reason: BaseException) -> None:
        """Give up on an offer nobody answered: stop listening if this side listens and
        fail ``deferred`` with ``reason``."""
        if not self._accepted:
            self._accepted = True
            self._stop()
            self.deferred.errback(reason)

    def chatStarted(self, chat: DccChat) -> None:
        """Called by the chat once connected: fire ``deferred`` if this side was listening
        (or connecting to the answer of a passive offer)."""
        if self._accepted and not self.deferred.called:
            self.deferred.callback(chat)
