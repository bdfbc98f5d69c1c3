"""The client side of an IMAP4rev1 session, sans I/O.

:class:`ClientConnection` tags and formats commands (strings quoted or sent as literals,
synchronising unless the server offers LITERAL+, in which case nothing waits), and turns
the server's bytes into :class:`Greeting`, :class:`Untagged`, :class:`Tagged` and
:class:`Continuation` events. Untagged data is tokenised with the server's scanner, so the
same limits hold both ways.
"""

from __future__ import annotations

import itertools
from collections import deque

import attrs

from glisten.mail._imap._errors import IMAPParseError, LocalProtocolError
from glisten.mail._imap._limits import DEFAULT_LIMITS, Limits
from glisten.mail._imap._parser import Atom, Scanner, Token, literalAt
from glisten.mail._imap._writers import astring

_STATUS = (b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH")


@attrs.frozen
class Literal:
    """An argument to send as a literal whatever it holds (an APPENDed message)."""

    data: bytes


@attrs.frozen
class Greeting:
    """The server's greeting: ``OK``, ``PREAUTH`` or ``BYE``, its response code and text."""

    status: bytes
    code: bytes | None
    text: bytes


@attrs.frozen
class Untagged:
    """An untagged response. For ``OK``/``NO``/``BAD``/``BYE`` ``tokens`` is empty and
    ``code``/``text`` hold the response text; otherwise ``name`` is the keyword (``FETCH``,
    ``LIST``, ``EXISTS``...), ``number`` the leading message number if any, ``tokens`` the
    rest."""

    name: bytes
    number: int | None
    tokens: list[Token]
    code: bytes | None = None
    text: bytes = b""


@attrs.frozen
class Tagged:
    """The completion of the command ``tag``."""

    tag: bytes
    status: bytes
    code: bytes | None
    text: bytes


@attrs.frozen
class Continuation:
    """``+`` from the server, for a command the application drives (``IDLE``,
    ``AUTHENTICATE``)."""

    text: bytes


ClientEvent = Greeting | Untagged | Tagged | Continuation


def _respText(data: bytes) -> tuple[bytes | None, bytes]:
    if data.startswith(b"["):
        end = data.find(b"]")
        if end > 0:
            return data[1:end], data[end + 1 :].lstrip(b" ")
    return None, data


class ClientConnection:
    """One IMAP4 session, client side.

    :param limits: What the client accepts from the server (line, literal, nesting).
    :param tagPrefix: The letters of this client's tags.
    :ivar budget: Response lines :meth:`receiveData` may still read before it stops and
        keeps the rest buffered (``None``: no bound); the adapter sets it for each turn of the
        reactor, so a flood of untagged responses is read a bounded part at a time.
    """

    budget: int | None = None

    def __init__(self, limits: Limits = DEFAULT_LIMITS, tagPrefix: bytes = b"G") -> None:
        self.limits = limits
        self.literalPlus = False
        self._tags = (tagPrefix + b"%04d" % n for n in itertools.count(1))
        self._out: list[bytes] = []
        #: Pieces of commands not sent yet: (tag, bytes, wait for ``+`` after it).
        self._queue: deque[tuple[bytes, bytes, bool]] = deque()
        #: The tag whose synchronising literal waits for ``+``, if any.
        self._blockedBy: bytes | None = None
        self._buf = bytearray()
        self._scan = 0
        self._response = bytearray()
        self._literalLeft = 0
        self.greeted = False
        #: The tag of a ``STARTTLS`` waiting for its answer; once it is ``OK``, what follows
        #: in clear text is dropped.
        self._tlsTag: bytes | None = None
        self._tlsNext = False

    def dataToSend(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def sendCommand(self, name: bytes, *args: bytes | Atom | Literal) -> bytes:
        """Queue a command; ``bytes`` arguments become atoms when they can, else strings.

        :return: its tag.
        :raises LocalProtocolError: for a name that is not an atom.
        """
        if not name or any(c in b' \r\n(){"' for c in name):
            raise LocalProtocolError("bad command name")
        tag = next(self._tags)
        if name.upper() == b"STARTTLS":
            self._tlsTag = tag
        pieces: list[list[bytes]] = [[tag + b" " + name]]
        for arg in args:
            if isinstance(arg, Literal):
                if self.literalPlus:
                    pieces[-1].append(b" {%d+}\r\n" % len(arg.data) + arg.data)
                else:
                    pieces[-1].append(b" {%d}\r\n" % len(arg.data))
                    pieces.append([arg.data])
            elif isinstance(arg, Atom):
                if b"\r" in arg or b"\n" in arg:
                    raise LocalProtocolError("bad atom")
                pieces[-1].append(b" " + arg)
            else:
                pieces[-1].append(b" " + astring(arg))
        pieces[-1].append(b"\r\n")
        for i, piece in enumerate(pieces):
            self._queue.append((tag, b"".join(piece), i < len(pieces) - 1))
        self._pump()
        return tag

    def _pump(self) -> None:
        while self._queue and self._blockedBy is None:
            tag, piece, wait = self._queue.popleft()
            self._out.append(piece)
            if wait:
                self._blockedBy = tag

    def sendLine(self, line: bytes) -> None:
        """Send a raw line (``DONE`` after ``IDLE``, a SASL response)."""
        if b"\r" in line or b"\n" in line:
            raise LocalProtocolError("bad line")
        self._out.append(line + b"\r\n")

    def receiveData(self, data: bytes) -> list[ClientEvent]:
        """:raises IMAPParseError: for responses IMAP does not allow or over the limits."""
        self._buf += data
        events: list[ClientEvent] = []
        while self.budget != 0:
            if self._literalLeft:
                take = min(self._literalLeft, len(self._buf))
                self._response += self._buf[:take]
                del self._buf[:take]
                self._literalLeft -= take
                if self._literalLeft:
                    return events
            end = self._buf.find(b"\n", self._scan)
            if end < 0:
                if len(self._buf) > self.limits.maxLine:
                    raise IMAPParseError("response line too long")
                self._scan = len(self._buf)
                return events
            line = bytes(self._buf[: end + 1])
            del self._buf[: end + 1]
            self._scan = 0
            if len(line) > self.limits.maxLine:
                raise IMAPParseError("response line too long")
            if self.budget is not None:
                self.budget -= 1
            self._response += line
            found = literalAt(line.rstrip(b"\r\n"))
            if found is not None and not self._response.startswith(b"+ "):
                size = found[0]
                if (
                    size > self.limits.maxLiteral
                    or len(self._response) + size > self.limits.maxCommand
                ):
                    raise IMAPParseError("response literal too large")
                self._literalLeft = size
                continue
            response = bytes(self._response)
            self._response = bytearray()
            event = self._parse(response)
            if event is not None:
                events.append(event)
            if self._tlsNext:
                # TLS starts now: bytes behind the answer came in clear text, where a man in
                # the middle may have put them (the client side of CVE-2011-0411).
                self._tlsNext = False
                del self._buf[:]
                self._scan = 0
                return events
        return events

    def _parse(self, data: bytes) -> ClientEvent | None:
        line = data.rstrip(b"\r\n")
        if line.startswith(b"+"):
            if self._blockedBy is not None:
                self._blockedBy = None
                self._pump()
                return None
            return Continuation(line[2:] if line.startswith(b"+ ") else b"")
        if line.startswith(b"* "):
            return self._untagged(data)
        tag, _, rest = line.partition(b" ")
        status, _, text = rest.partition(b" ")
        if not tag or status.upper() not in (b"OK", b"NO", b"BAD"):
            raise IMAPParseError("not an IMAP response")
        if tag == self._tlsTag:
            self._tlsTag = None
            self._tlsNext = status.upper() == b"OK"
        if tag == self._blockedBy:
            # The server refused a literal: the rest of that command is never sent.
            self._blockedBy = None
            self._queue = deque(p for p in self._queue if p[0] != tag)
            self._pump()
        code, text = _respText(text)
        return Tagged(tag, status.upper(), code, text)

    def _untagged(self, data: bytes) -> ClientEvent:
        body = data[2:]
        first, _, rest = body.partition(b" ")
        word = first.upper().rstrip(b"\r\n")
        if word in _STATUS:
            code, text = _respText(rest.rstrip(b"\r\n"))
            if not self.greeted:
                self.greeted = True
                if code is not None and code.upper().startswith(b"CAPABILITY "):
                    self.literalPlus = b"LITERAL+" in code.upper().split()
                return Greeting(word, code, text)
            if code is not None and code.upper().startswith(b"CAPABILITY "):
                self.literalPlus = b"LITERAL+" in code.upper().split()
            return Untagged(word, None, [], code, text)
        scanner = Scanner(data, self.limits)
        scanner.pos = 2
        number = None
        if first.isdigit():
            number = int(first)
            scanner.pos += len(first)
            scanner.space()
        name = scanner.atom().upper()
        tokens = scanner.rest()
        if name == b"CAPABILITY":
            self.literalPlus = b"LITERAL+" in [
                bytes(t).upper() for t in tokens if not isinstance(t, list)
            ]
        return Untagged(bytes(name), number, tokens)


__all__ = ["ClientConnection", "Continuation", "Greeting", "Literal", "Tagged", "Untagged"]
