"""
The legacy scp protocol, as OpenSSH's ``scp -O`` speaks it to a remote ``scp -t`` (the remote
is the *sink*) or ``scp -f`` (the remote is the *source*).

The source sends one record a line and waits for the sink's status after each: ``T<mtime> 0
<atime> 0`` (times of what follows), ``C<mode> <size> <name>`` (a file; its bytes and one status
byte follow once the sink said ``OK``), ``D<mode> 0 <name>`` (a folder; records up to ``E``
are inside it), ``E`` (end of the folder). A status is a zero byte (``OK``), or 1 (a warning)
or 2 (fatal) followed by a message line.

:class:`SCPConnection` checks every record strictly (octal modes, decimal sizes and times,
names that are one path component, nesting, a ``T`` followed by ``C`` or ``D``) and holds what
the peer sends while a record waits for our reply. What breaks the format is an
:class:`SCPProtocolError` whose message never quotes the peer's bytes.
"""

from __future__ import annotations

import re
from typing import Literal

from glisten.conch.ssh._scp._errors import SCPProtocolError
from glisten.conch.ssh._scp._events import (
    Ack,
    DirectoryHeader,
    EndDirectory,
    Event,
    Fatal,
    FileData,
    FileEnd,
    FileHeader,
    Finished,
    Times,
    Warning,
)
from glisten.conch.ssh._scp._limits import Limits

__all__ = ["SCPConnection", "SCPProtocolError"]

Role = Literal["sink", "source"]

_HEADER = re.compile(rb"([CD])([0-7]{3,4}) ([0-9]{1,20}) ([^\x00/]+)\Z")
_TIMES = re.compile(rb"T([0-9]{1,20}) ([0-9]{1,6}) ([0-9]{1,20}) ([0-9]{1,6})\Z")
_MAX_TIME = (1 << 63) - 1

# Receiving states.
_LINE = "line"
_REPLY = "reply"
_DATA = "data"
_DATA_STATUS = "data-status"
_DONE = "done"


def _message(line: bytes) -> str:
    """A status message as text, with control characters made visible as ``?``."""
    text = line.decode("utf-8", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


class SCPConnection:
    """
    One side of an scp transfer.

    :param role: ``"sink"`` receives files (a remote ``scp -t``), ``"source"`` sends them
        (a remote ``scp -f``).
    :param limits: what the peer may send.
    """

    def __init__(self, role: Role, limits: Limits | None = None) -> None:
        if role not in ("sink", "source"):
            raise ValueError("role is 'sink' or 'source'")
        self.role: Role = role
        self.limits = limits or Limits()
        self._buffer = bytearray()
        self._depth = 0
        self._timesPending = False
        # What waits for a reply: ours (sink role) or the peer's (source role).
        self._awaiting: str | None = "ready"
        self._fileSize = 0
        self._remaining = 0
        self._state = _REPLY if role == "sink" else _LINE
        self._sending: int | None = None

    @property
    def depth(self) -> int:
        """How many folders deep the transfer is."""
        return self._depth

    # ------------------------------------------------------------------ receiving

    def receiveData(self, data: bytes) -> list[Event]:
        """
        Bytes from the peer; the events they complete.

        :raises SCPProtocolError: the bytes break the protocol (the transfer must end).
        """
        if self._state == _DONE:
            return []
        self._buffer += data
        events: list[Event] = []
        try:
            if self.role == "sink":
                self._receiveSink(events)
            else:
                self._receiveSource(events)
        except SCPProtocolError:
            self._state = _DONE
            raise
        return events

    def receiveEOF(self) -> list[Event]:
        """
        The peer will send nothing more.

        :return: ``[Finished()]`` when it could stop there.
        :raises SCPProtocolError: it stopped in the middle of something.
        """
        if self._state == _DONE:
            return []
        if self.role == "sink":
            clean = (
                self._state in (_LINE, _REPLY)
                and self._awaiting in (None, "ready")
                and self._depth == 0
                and not self._timesPending
            )
        else:
            clean = self._awaiting is None
        clean = clean and not self._buffer
        self._state = _DONE
        if not clean:
            raise SCPProtocolError("the peer closed in the middle of a transfer")
        return [Finished()]

    def _line(self) -> bytes | None:
        """The next line without its newline, or None until it is complete."""
        end = self._buffer.find(b"\n", 0, self.limits.maxLineLength)
        if end < 0:
            if len(self._buffer) >= self.limits.maxLineLength:
                raise SCPProtocolError("control line too long")
            return None
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def _status(self, events: list[Event]) -> bool:
        """Read one status into ``events``; False until it is complete."""
        first = self._buffer[0]
        if first == 0:
            del self._buffer[:1]
            events.append(Ack())
            return True
        if first not in (1, 2):
            raise SCPProtocolError("expected a status byte")
        line = self._line()
        if line is None:
            return False
        text = _message(line[1:])
        if first == 2:
            self._state = _DONE
            events.append(Fatal(text))
        else:
            events.append(Warning(text))
        return True

    def _receiveSink(self, events: list[Event]) -> None:
        while self._buffer and self._state not in (_REPLY, _DONE):
            if self._state == _DATA:
                take = min(self._remaining, len(self._buffer))
                events.append(FileData(bytes(self._buffer[:take])))
                del self._buffer[:take]
                self._remaining -= take
                if not self._remaining:
                    self._state = _DATA_STATUS
            elif self._state == _DATA_STATUS:
                statusEvents: list[Event] = []
                if not self._status(statusEvents):
                    return
                status = statusEvents[0]
                if isinstance(status, Fatal):
                    events.append(status)
                    return
                events.append(FileEnd(status.message if isinstance(status, Warning) else None))
                self._await("file-end")
            else:
                if self._buffer[0] in (0, 1, 2):
                    if self._buffer[0] == 0:
                        raise SCPProtocolError("unexpected status")
                    if not self._status(events):
                        return
                    continue
                line = self._line()
                if line is None:
                    return
                events.append(self._record(line))

    def _await(self, what: str) -> None:
        self._awaiting = what
        self._state = _REPLY

    def _record(self, line: bytes) -> Event:
        kind = line[:1]
        if kind == b"T":
            match = _TIMES.match(line)
            if match is None or self._timesPending:
                raise SCPProtocolError("malformed T record")
            mtime, mtimeUsec, atime, atimeUsec = (int(g) for g in match.groups())
            if mtime > _MAX_TIME or atime > _MAX_TIME or max(mtimeUsec, atimeUsec) > 999999:
                raise SCPProtocolError("times out of range")
            self._await("times")
            return Times(mtime, atime)
        if kind == b"E":
            if line != b"E" or self._timesPending:
                raise SCPProtocolError("malformed E record")
            if not self._depth:
                raise SCPProtocolError("E record outside a folder")
            self._depth -= 1
            self._await("end")
            return EndDirectory()
        match = _HEADER.match(line)
        if match is None:
            raise SCPProtocolError("malformed control record")
        self._timesPending = False
        letter, mode, size, name = match.groups()
        if name in (b".", b"..") or len(name) > self.limits.maxNameLength:
            raise SCPProtocolError("bad file name in control record")
        if letter == b"D":
            if self._depth >= self.limits.maxDepth:
                raise SCPProtocolError("folders nested too deep")
            self._await("directory")
            return DirectoryHeader(int(mode, 8), name)
        fileSize = int(size)
        if fileSize > self.limits.maxFileSize:
            raise SCPProtocolError("file too large")
        self._fileSize = fileSize
        self._await("file")
        return FileHeader(int(mode, 8), fileSize, name)

    def _receiveSource(self, events: list[Event]) -> None:
        while self._buffer and self._state != _DONE:
            if self._awaiting is None:
                raise SCPProtocolError("a status that answers nothing")
            if not self._status(events):
                return
            awaited, self._awaiting = self._awaiting, None
            if isinstance(events[-1], Ack):
                if awaited == "directory":
                    self._depth += 1
                elif awaited == "file":
                    self._sending = self._fileSize
            elif awaited == "times":
                self._timesPending = False

    # ------------------------------------------------------------------ sink: replies

    def sendOK(self) -> bytes:
        """
        Sink: accept what waits (and, first of all, say we are ready).

        :raises RuntimeError: nothing waits for a reply.
        """
        awaited = self._takeAwaited()
        if awaited == "file":
            self._remaining = self._fileSize
            self._state = _DATA if self._remaining else _DATA_STATUS
        else:
            self._state = _LINE
            if awaited == "directory":
                self._depth += 1
            elif awaited == "times":
                self._timesPending = True
        return b"\x00"

    def sendError(self, message: str, fatal: bool = False) -> bytes:
        """
        Refuse what waits (sink), or report a file we cannot send (source); ``fatal`` ends the
        transfer.

        :param message: shown to the user on the other side (one line).
        """
        if self.role == "sink" and not fatal:
            self._takeAwaited()
            self._state = _LINE
        elif fatal:
            self._state = _DONE
        line = message.replace("\n", " ").encode("utf-8", "replace")
        return (b"\x02" if fatal else b"\x01") + line + b"\n"

    def _takeAwaited(self) -> str:
        if self.role != "sink" or self._state != _REPLY or self._awaiting is None:
            raise RuntimeError("nothing waits for a reply")
        awaited, self._awaiting = self._awaiting, None
        return awaited

    # ------------------------------------------------------------------ source: records

    def _send(self, what: str, line: bytes) -> bytes:
        if self.role != "source" or self._state == _DONE:
            raise RuntimeError("only an active source sends records")
        if self._awaiting is not None or self._sending is not None:
            raise RuntimeError("the last record has not been answered or completed")
        self._awaiting = what
        return line

    def sendTimes(self, mtime: int, atime: int) -> bytes:
        """Source: the times of the file or folder whose record comes next."""
        self._timesPending = True
        return self._send("times", b"T%d 0 %d 0\n" % (mtime, atime))

    def sendFileHeader(self, mode: int, size: int, name: bytes) -> bytes:
        """Source: announce a file; once the sink acknowledges it, send its bytes."""
        self._checkName(name)
        self._fileSize = size
        self._timesPending = False
        return self._send("file", b"C%04o %d %s\n" % (mode & 0o7777, size, name))

    def sendDirectoryHeader(self, mode: int, name: bytes) -> bytes:
        """Source: enter a folder (the sink creates it)."""
        self._checkName(name)
        self._timesPending = False
        return self._send("directory", b"D%04o 0 %s\n" % (mode & 0o7777, name))

    def sendEndDirectory(self) -> bytes:
        """Source: leave the current folder."""
        if not self._depth:
            raise RuntimeError("not in a folder")
        line = self._send("end", b"E\n")
        self._depth -= 1
        return line

    def sendFileData(self, data: bytes) -> bytes:
        """Source: bytes of the acknowledged file (no more than it announced)."""
        if self._sending is None or len(data) > self._sending:
            raise RuntimeError("more data than the file announced")
        self._sending -= len(data)
        return data

    def sendFileEnd(self, error: str | None = None) -> bytes:
        """Source: all announced bytes were sent; ``error`` says they were padded."""
        if self._sending != 0:
            raise RuntimeError("the file's bytes were not all sent")
        self._sending = None
        status = b"\x00" if error is None else b"\x01" + error.encode("utf-8", "replace") + b"\n"
        return self._send("file-end", status)

    @staticmethod
    def _checkName(name: bytes) -> None:
        if not name or name in (b".", b"..") or b"/" in name or b"\n" in name or b"\x00" in name:
            raise ValueError("a file name is one path component")
