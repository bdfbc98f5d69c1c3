"""
SSH channels: the base class with Twisted's API and flow control.

Writes beyond the peer's window (or written while the connection's own transport is full) wait
in the channel. When more than :attr:`SSHChannel.bufferHighWater` bytes wait, a registered
producer is paused (and :meth:`SSHChannel.stopWriting` is called); it resumes (and
:meth:`SSHChannel.startWriting` is called) once no more than :attr:`SSHChannel.bufferLowWater`
wait. A slow peer thus slows the writer instead of filling memory. Received data beyond the
window we gave is a protocol error.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from zope.interface import implementer

from glisten.internet import interfaces
from glisten.logger import Logger

__all__ = ["SSHChannel"]


@implementer(interfaces.ITransport, interfaces.IConsumer)
class SSHChannel:
    """
    One channel of an SSH connection.

    :cvar name: the channel type.
    :ivar localWindowSize: the window we give the peer.
    :ivar localMaxPacket: the largest data packet we accept.
    :ivar remoteWindowLeft: how much we may still send.
    :ivar remoteMaxPacket: the largest data packet the peer accepts.
    :ivar conn: the :class:`~glisten.conch.ssh.connection.SSHConnection`.
    :ivar avatar: the user, on the server side.
    :ivar id: our channel number, once opened.
    :cvar bufferHighWater: bytes waiting to be sent above which the writer is paused.
    :cvar bufferLowWater: bytes waiting at or below which a paused writer resumes.
    """

    name: bytes = b""
    bufferHighWater = 65536
    bufferLowWater = 16384
    _log = Logger()

    def __init__(
        self,
        localWindow: int = 0,
        localMaxPacket: int = 0,
        remoteWindow: int = 0,
        remoteMaxPacket: int = 0,
        conn: Any = None,
        data: Any = None,
        avatar: Any = None,
    ) -> None:
        self.localWindowSize = localWindow or 131072
        self.localWindowLeft = self.localWindowSize
        self.localMaxPacket = localMaxPacket or 32768
        self.remoteWindowLeft = remoteWindow
        self.remoteMaxPacket = remoteMaxPacket
        self.areWriting = True
        self.data = data
        self.avatar = avatar
        self.conn = conn
        self.specificData = b""
        # What waits for the window: the written pieces as they came (no bytearray that
        # megabytes of SFTP replies would be appended to and cut from the front of).
        self._queue: deque[bytes | memoryview] = deque()
        self._queued = 0
        self.extBuf: list[tuple[int, bytes]] = []
        self.closing = False
        self.localClosed = False
        self.remoteClosed = False
        self.id: int | None = None
        self._producer: Any = None
        self._whenFlushed: list[Any] = []

    def __str__(self) -> str:
        return f"<SSHChannel {self.name!r} ({self.id}) in window {self.localWindowLeft} out window {self.remoteWindowLeft}>"

    def logPrefix(self) -> str:
        return f"SSHChannel {self.name!r} ({self.id})"

    # ------------------------------------------------------------------ events (override)

    def channelOpen(self, specificData: bytes) -> None:
        """The channel is open."""

    def openFailed(self, reason: Any) -> None:
        """The peer refused the channel."""
        self._log.info("channel open failed: {reason}", reason=reason)

    def requestReceived(self, requestType: bytes, data: bytes) -> Any:
        """Dispatch to ``request_<type>`` (dashes as underscores); refused when missing."""
        name = requestType.decode("ascii", "replace").replace("-", "_")
        method = getattr(self, "request_" + name, None)
        if method is None:
            return 0
        return method(data)

    def dataReceived(self, data: bytes) -> None:
        """Data arrived."""

    def extReceived(self, dataType: int, data: bytes) -> None:
        """Extended data (``dataType`` 1 is stderr) arrived."""

    def eofReceived(self) -> None:
        """The peer will send no more data."""

    def closeReceived(self) -> None:
        """The peer closed the channel; by default close our side too."""
        self.loseConnection()

    def closed(self) -> None:
        """Both sides closed the channel."""

    def stopWriting(self) -> None:
        """The peer's window is full: stop producing."""

    def startWriting(self) -> None:
        """The window opened again: go on producing."""

    # ------------------------------------------------------------------ flow

    def addWindowBytes(self, data: int) -> None:
        """The peer gave ``data`` more bytes of window."""
        self._flush()

    @property
    def buf(self) -> bytes:
        """What waits to be sent (a copy; Twisted's attribute)."""
        return b"".join(self._queue)

    @buf.setter
    def buf(self, value: bytes) -> None:
        self._queue.clear()
        self._queued = len(value)
        if value:
            self._queue.append(bytes(value))

    def _flush(self, data: bytes = b"") -> None:
        """Send what waits (and then ``data``) as far as the window allows; flow control."""
        queue = self._queue
        if data:
            queue.append(data)
            self._queued += len(data)
        conn = self.conn
        if conn is None or self.localClosed or self.id is None:
            return
        # While the network transport is full nothing is handed over: the data waits here
        # and the writer is paused past the high mark.
        canSend = self.remoteWindowLeft > 0 and not conn._writePaused()
        maxPacket = self.remoteMaxPacket
        while queue and canSend:
            if self._queued < maxPacket and conn._holdsTails():
                # Short of a packet during the transport's receive turn: it waits for the
                # turn's end (or the next write) instead of leaving as a small packet.
                conn._holdTail(self)
                break
            piece: Any = queue.popleft()
            size = len(piece)
            if queue and size < maxPacket:
                # Small pieces (status replies, keystrokes, a reply's header) share a packet,
                # filled from the front of what follows (a view), handed on as a list: the
                # packet's payload is copied once, with the channel header.
                packet = min(maxPacket, self.remoteWindowLeft)
                parts = [piece]
                while queue and size < packet:
                    room = packet - size
                    following = queue[0]
                    if len(following) <= room:
                        parts.append(queue.popleft())
                        size += len(following)
                    else:
                        if type(following) is not memoryview:
                            following = memoryview(following)
                        parts.append(following[:room])
                        queue[0] = following[room:]
                        size += room
                piece = parts
            elif size > maxPacket:
                # Cut into packets through a view: no slice is copied, nor what is left. Its
                # last part, less than a packet, waits to share one with what follows.
                if type(piece) is not memoryview:
                    piece = memoryview(piece)
                partial = size % maxPacket if maxPacket > 0 else 0
                if queue and partial:
                    queue.appendleft(piece[size - partial :])
                    piece = piece[: size - partial]
                    size -= partial
            rest = conn._sendChannelData(self, piece, None)
            # (A list of pieces fits the window: all of it is sent.)
            self._queued -= size - len(rest)
            if rest:
                queue.appendleft(rest)
                break
            # (Sending may have filled the network transport: asked again if more waits.)
            canSend = (
                bool(queue or self.extBuf) and self.remoteWindowLeft > 0 and not conn._writePaused()
            )
        while self.extBuf and not queue and canSend:
            dataType, data = self.extBuf[0]
            rest = conn._sendChannelData(self, data, dataType)
            if rest:
                self.extBuf[0] = (dataType, rest)
                break
            self.extBuf.pop(0)
        pending = self._queued
        if self.extBuf:
            pending += sum(len(data) for _, data in self.extBuf)
        if pending > self.bufferHighWater and self.areWriting:
            self.areWriting = False
            if self._producer is not None:
                self._producer.pauseProducing()
            self.stopWriting()
        elif pending <= self.bufferLowWater and not self.areWriting:
            self.areWriting = True
            if self._producer is not None:
                self._producer.resumeProducing()
            self.startWriting()
        if not pending:
            callbacks, self._whenFlushed = self._whenFlushed, []
            for callback in callbacks:
                callback()
            if self.closing and not self.localClosed:
                conn.sendClose(self)

    def whenFlushed(self, callback: Any) -> None:
        """Call ``callback`` once everything written so far has been sent."""
        if self._queue or self.extBuf:
            self._whenFlushed.append(callback)
        else:
            callback()

    # ------------------------------------------------------------------ ITransport

    def write(self, data: bytes) -> None:
        """
        Send data; what the window does not allow yet waits (past :attr:`bufferHighWater`, the
        producer is paused).
        """
        if self.closing or self.localClosed:
            return
        # Kept without a copy (a view of it if the window takes part): bytes do not change.
        self._flush(data if type(data) is bytes else bytes(data))

    def writeExtended(self, dataType: int, data: bytes) -> None:
        """Send extended data (``dataType`` 1: stderr)."""
        if self.closing or self.localClosed:
            return
        if self.extBuf and self.extBuf[-1][0] == dataType:
            self.extBuf[-1] = (dataType, self.extBuf[-1][1] + data)
        else:
            self.extBuf.append((dataType, data))
        self._flush()

    def writeSequence(self, data: Any) -> None:
        """Send the pieces of ``data`` in order; they are queued as they are, not joined (a
        small header and the large block after it share packets without copying the block)."""
        if self.closing or self.localClosed:
            return
        pieces = [piece if type(piece) is bytes else bytes(piece) for piece in data if piece]
        if not pieces:
            return
        last = pieces.pop()
        self._queue.extend(pieces)
        self._queued += sum(map(len, pieces))
        self._flush(last)

    def loseConnection(self) -> None:
        """Close once everything written has been sent."""
        self.closing = True
        if not self._queue and not self.extBuf and self.conn is not None and self.id is not None:
            self.conn.sendClose(self)

    def getPeer(self) -> Any:
        return self.conn.transport.getPeer()

    def getHost(self) -> Any:
        return self.conn.transport.getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._producer = producer
        if not self.areWriting:
            producer.pauseProducing()

    def unregisterProducer(self) -> None:
        self._producer = None

    # ------------------------------------------------------------------ IPushProducer (input)

    _inputPaused = False

    def pauseProducing(self) -> None:
        """Whoever consumes our input is full: stop reopening the window, so the peer waits."""
        self._inputPaused = True

    def resumeProducing(self) -> None:
        """The consumer drained: give the peer its window back."""
        if self._inputPaused:
            self._inputPaused = False
            if self.conn is not None and self.id is not None and not self.localClosed:
                self.conn._reopenWindow(self)

    def stopProducing(self) -> None:
        """The consumer is gone; further input is dropped by whoever handles it."""
