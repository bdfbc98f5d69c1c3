"""The client side of a POP3 session, sans I/O.

:class:`ClientConnection` formats commands and remembers, for each, whether a ``+OK`` answer
carries lines; the server's bytes come back as :class:`Greeting`, :class:`Response` (in
command order, so commands may be pipelined) and :class:`Continuation` events.
"""

from __future__ import annotations

import re
from collections import deque

from glisten.mail._pop3._errors import LocalProtocolError, POP3ProtocolError
from glisten.mail._pop3._events import ClientEvent, Continuation, Greeting, Response
from glisten.mail._pop3._limits import DEFAULT_LIMITS, Limits

#: The APOP timestamp in a greeting: one ``<...>`` without spaces or nested brackets.
_CHALLENGE = re.compile(rb"<[^<>\s]{1,250}>")
#: Commands whose ``+OK`` carries lines (``LIST``/``UIDL`` only without an argument).
_MULTILINE = frozenset({b"CAPA", b"RETR", b"TOP"})
_GREETING, _SINGLE, _MULTI, _AUTH, _STLS = range(5)
#: Bytes of a multi-line answer that cost one unit of a ``budget``.
TEXT_UNIT = 4096
#: What a line of a multi-line answer costs at least, in bytes: a flood of empty lines is
#: paced as well as one of long ones.
_LINE_COST = 64


class ClientConnection:
    """One POP3 session, client side.

    :param limits: What the client accepts from the server.
    :ivar greeted: The greeting has arrived.
    :ivar budget: Units :meth:`receiveData` may still read before it stops and keeps the rest
        buffered (``None``: no bound): a status line costs one, a multi-line answer one per
        :data:`TEXT_UNIT` bytes (a line at least ``_LINE_COST``). The adapter sets it for
        each turn of the reactor.
    """

    budget: int | None = None

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self.greeted = False
        self._buf = bytearray()
        self._scan = 0
        self._expect: deque[int] = deque([_GREETING])
        #: The status line and lines of the multi-line answer being read.
        self._status: bytes | None = None
        self._lines: list[bytes] = []
        self._size = 0
        self._textCost = 0
        #: ``STLS`` was accepted: what follows its answer in clear text is dropped.
        self._tlsNext = False

    def send(self, command: bytes, *args: bytes) -> bytes:
        """:return: the bytes of ``command`` with ``args``, whose answer is now expected.

        :raises LocalProtocolError: for arguments with line breaks or spaces where POP3 has
            none (a password may contain spaces: it is the last argument of ``PASS``).
        """
        verb = command.upper()
        for i, arg in enumerate(args):
            last = i == len(args) - 1 and verb in (b"PASS", b"AUTH")
            if b"\r" in arg or b"\n" in arg or (b" " in arg and not last) or not arg:
                raise LocalProtocolError("bad argument")
        if verb == b"AUTH":
            kind = _AUTH
        elif verb == b"STLS":
            kind = _STLS
        elif verb in _MULTILINE or (verb in (b"LIST", b"UIDL") and not args):
            kind = _MULTI
        else:
            kind = _SINGLE
        self._expect.append(kind)
        return b" ".join((verb, *args)) + b"\r\n"

    def sendAuthResponse(self, data: bytes) -> bytes:
        """:return: a line answering a :class:`Continuation` (already base64, or ``*``)."""
        if not self._expect or self._expect[0] != _AUTH:
            raise LocalProtocolError("no AUTH in progress")
        if b"\r" in data or b"\n" in data:
            raise LocalProtocolError("bad argument")
        return data + b"\r\n"

    @property
    def pending(self) -> int:
        """How many answers are still expected."""
        return len(self._expect)

    def receiveData(self, data: bytes) -> list[ClientEvent]:
        """Feed the server's bytes.

        :raises POP3ProtocolError: for an answer POP3 does not allow or over the limits;
            the connection cannot go on.
        """
        self._buf += data
        events: list[ClientEvent] = []
        while self.budget != 0:
            limit = (
                self.limits.maxDataLine if self._status is not None else self.limits.maxStatusLine
            )
            end = self._buf.find(b"\n", self._scan)
            if end < 0:
                if len(self._buf) > limit:
                    raise POP3ProtocolError("line too long")
                self._scan = len(self._buf)
                return events
            if end + 1 > limit:
                raise POP3ProtocolError("line too long")
            line = bytes(self._buf[:end])
            del self._buf[: end + 1]
            self._scan = 0
            if line.endswith(b"\r"):
                line = line[:-1]
            if self.budget is not None:
                self._charge(end + 1)
            event = self._line(line)
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

    def _charge(self, size: int) -> None:
        """Take what the line of ``size`` bytes costs from the budget."""
        assert self.budget is not None
        if self._status is None:
            self.budget -= 1
            return
        self._textCost += max(size, _LINE_COST)
        if self._textCost >= TEXT_UNIT:
            self._textCost = 0
            self.budget -= 1

    def _line(self, line: bytes) -> ClientEvent | None:
        if self._status is not None:
            if line == b".":
                status, lines = self._status, self._lines
                self._status, self._lines, self._size = None, [], 0
                return Response(True, status, lines)
            if line.startswith(b"."):
                line = line[1:]
            self._size += len(line) + 2
            if self._size > self.limits.maxResponse:
                raise POP3ProtocolError("response too large")
            self._lines.append(line)
            return None
        if not self._expect:
            raise POP3ProtocolError("an answer nobody asked for")
        kind = self._expect[0]
        if kind == _AUTH and (line == b"+" or line.startswith(b"+ ")):
            return Continuation(line[2:])
        if line == b"+OK" or line.startswith(b"+OK "):
            ok, text = True, line[4:]
        elif line == b"-ERR" or line.startswith(b"-ERR "):
            ok, text = False, line[5:]
        else:
            raise POP3ProtocolError("not a POP3 status line")
        self._expect.popleft()
        if kind == _GREETING:
            if not ok:
                raise POP3ProtocolError("the server refused the connection")
            self.greeted = True
            match = _CHALLENGE.search(text)
            return Greeting(text, match.group(0) if match else None)
        if ok and kind == _MULTI:
            self._status = text
            return None
        if ok and kind == _STLS:
            self._tlsNext = True
        return Response(ok, text, None)
