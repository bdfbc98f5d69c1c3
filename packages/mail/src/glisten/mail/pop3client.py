"""A POP3 client (Twisted's ``twisted.mail.pop3client``): :class:`POP3Client`, a thin
adapter from a transport to :class:`glisten.mail._pop3.ClientConnection`.

Message indexes count from 0, as in Twisted (``retrieve(0)`` sends ``RETR 1``). Commands are
sent one at a time, or all at once when the server advertised ``PIPELINING`` (after
:meth:`POP3Client.capabilities`).

Deliberate difference from Twisted: :meth:`POP3Client.startTLS` verifies the server's
certificate and host name by default.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any

from glisten.internet import defer, error, interfaces
from glisten.internet.protocol import Protocol
from glisten.mail._driver import CodecDriver
from glisten.mail._pop3 import (
    DEFAULT_LIMITS,
    ClientConnection,
    Greeting,
    Limits,
    POP3ProtocolError,
    Response,
)
from glisten.protocols.policies import TimeoutMixin
from glisten.python.failure import Failure


class POP3ClientError(Exception):
    """Something went wrong in a POP3 client session."""


class LineTooLong(POP3ClientError):
    """The server sent a line (or an answer) over the client's limits."""


class ServerErrorResponse(POP3ClientError):
    """The server answered ``-ERR``.

    :ivar consumer: The consumer given to the failed command, if any.
    """

    def __init__(self, reason: bytes, consumer: Any = None) -> None:
        super().__init__(reason)
        self.consumer = consumer


class InsecureAuthenticationDisallowed(POP3ClientError):
    """Login would send the password in the clear and ``allowInsecureLogin`` is off."""


class TLSError(POP3ClientError):
    """TLS was asked for and could not be started."""


class TLSNotSupportedError(POP3ClientError):
    """The server does not offer ``STLS``."""


class POP3Client(CodecDriver, Protocol, TimeoutMixin):
    """A POP3 client connection.

    :ivar allowInsecureLogin: Send passwords in the clear when neither TLS nor APOP is
        available (off by default).
    :ivar timeout: Seconds to wait for an answer before dropping the connection (``0``:
        forever).
    :ivar serverChallenge: The APOP timestamp of the greeting, if any.
    :ivar startedTLS: ``STLS`` succeeded on this connection.
    :ivar hostname: The name the server's certificate must carry for :meth:`startTLS`
        (default: the peer's address).
    :ivar maxCommandsPerTurn: Answers (and 4 KiB pieces of multi-line answers) read per turn
        of the reactor (64); the rest of a read waits, reading paused, for the next turn, so a
        server's flood cannot stall the process's other connections.
    """

    allowInsecureLogin = False
    timeout: float = 0
    serverChallenge: bytes | None = None
    startedTLS = False
    hostname: str | None = None
    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        self._codec = ClientConnection(self.limits)
        #: Commands not sent yet: (verb, args, deferred, parse).
        self._queue: deque[tuple[bytes, tuple[bytes, ...], defer.Deferred[Any], Any]] = deque()
        #: Sent commands waiting for their answer: (deferred, parse, verb).
        self._waiting: deque[tuple[defer.Deferred[Any], Any, bytes]] = deque()
        self._pipelining = False
        self._capCache: dict[bytes, list[bytes] | None] | None = None
        self._dead: Failure | None = None

    # -- connection ----------------------------------------------------------------------

    def connectionMade(self) -> None:
        if self.timeout:
            self.setTimeout(self.timeout)

    _codecErrors = (POP3ProtocolError,)

    def _codecFailed(self, error: Exception) -> None:
        self._fail(Failure(LineTooLong(str(error))))
        self.transport.loseConnection()

    def _handle(self, event: Any) -> None:
        if isinstance(event, Greeting):
            self.serverChallenge = event.challenge
            self.serverGreeting(event.text)
        elif isinstance(event, Response):
            d, parse, _ = self._waiting.popleft()
            if event.ok:
                try:
                    result = parse(event)
                except (ValueError, IndexError) as e:
                    d.errback(Failure(ServerErrorResponse(str(e).encode())))
                else:
                    d.callback(result)
            else:
                d.errback(Failure(ServerErrorResponse(event.text)))

    def _flush(self) -> None:
        """After the events of a read: send the commands that may go now."""
        self._pump()
        if not self._waiting and not self._queue:
            self.setTimeout(None)

    def connectionLost(self, reason: Failure | None = None) -> None:
        self.setTimeout(None)
        self._disconnected = True
        self._stopTurns()
        self._fail(reason or Failure(error.ConnectionDone()))

    def timeoutConnection(self) -> None:
        self._fail(Failure(error.TimeoutError("no answer from the POP3 server")))
        self.transport.loseConnection()

    def _fail(self, failure: Failure) -> None:
        if self._dead is None:
            self._dead = failure
        pending = [d for d, _, _ in self._waiting] + [d for _, _, d, _ in self._queue]
        self._waiting.clear()
        self._queue.clear()
        for d in pending:
            d.errback(failure)

    def serverGreeting(self, greeting: bytes) -> None:
        """Called with the greeting's text; override to start working."""

    # -- sending -------------------------------------------------------------------------

    def _command(
        self, verb: bytes, *args: bytes, parse: Callable[[Response], Any] | None = None
    ) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        if self._dead is not None:
            d.errback(self._dead)
            return d
        self._queue.append((verb, args, d, parse or (lambda r: r.text)))
        self._pump()
        return d

    def _pump(self) -> None:
        while self._queue and self._codec.greeted:
            if self._waiting and (
                not self._pipelining or any(v == b"STLS" for _, _, v in self._waiting)
            ):
                # One at a time without PIPELINING; nothing may follow STLS before TLS.
                return
            verb, args, d, parse = self._queue.popleft()
            self._waiting.append((d, parse, verb))
            if self.timeout:
                self.setTimeout(self.timeout)
            self.transport.write(self._codec.send(verb, *args))

    # -- commands ------------------------------------------------------------------------

    def capabilities(self, useCache: bool = True) -> defer.Deferred[dict[bytes, Any]]:
        """``CAPA``: fires with ``{capability: [arguments] or None}``; ``{}`` when the
        server does not know ``CAPA``."""
        if useCache and self._capCache is not None:
            return defer.succeed(self._capCache)

        def parse(response: Response) -> dict[bytes, Any]:
            caps: dict[bytes, Any] = {}
            for line in response.lines or []:
                words = line.split()
                if words:
                    caps[words[0].upper()] = words[1:] or None
            return caps

        def cache(caps: dict[bytes, Any]) -> dict[bytes, Any]:
            self._capCache = caps
            self._pipelining = b"PIPELINING" in caps
            return caps

        def unknown(failure: Failure) -> dict[bytes, Any]:
            failure.trap(ServerErrorResponse)
            return {}

        d = self._command(b"CAPA", parse=parse)
        return d.addErrback(unknown).addCallback(cache)

    def noop(self) -> defer.Deferred[bytes]:
        return self._command(b"NOOP")

    def reset(self) -> defer.Deferred[bytes]:
        return self._command(b"RSET")

    def quit(self) -> defer.Deferred[bytes]:
        return self._command(b"QUIT")

    def delete(self, index: int) -> defer.Deferred[bytes]:
        return self._command(b"DELE", b"%d" % (index + 1))

    def user(self, username: bytes) -> defer.Deferred[bytes]:
        return self._command(b"USER", username)

    def password(self, password: bytes) -> defer.Deferred[bytes]:
        return self._command(b"PASS", password)

    def apop(self, username: bytes, digest: bytes) -> defer.Deferred[bytes]:
        return self._command(b"APOP", username, digest)

    def stat(self) -> defer.Deferred[tuple[int, int]]:
        """``STAT``: fires with ``(message count, total size)``."""

        def parse(response: Response) -> tuple[int, int]:
            count, size = response.text.split()[:2]
            return int(count), int(size)

        return self._command(b"STAT", parse=parse)

    def _listing(
        self, verb: bytes, convert: Callable[[bytes], Any], consumer: Any
    ) -> defer.Deferred[Any]:
        def parse(response: Response) -> Any:
            pairs = []
            for line in response.lines or []:
                number, value = line.split(None, 1)
                pairs.append((int(number) - 1, convert(value.strip())))
            if consumer is not None:
                for pair in pairs:
                    consumer(pair)
                return consumer
            result: list[Any] = []
            for index, value in pairs:
                result.extend([None] * (index + 1 - len(result)))
                result[index] = value
            return result

        return self._command(verb, parse=parse)

    def listSize(self, consumer: Any = None) -> defer.Deferred[Any]:
        """``LIST``: fires with the sizes by index (``None`` for deleted messages), or calls
        ``consumer`` with ``(index, size)`` for each and fires with it."""
        return self._listing(b"LIST", int, consumer)

    def listUID(self, consumer: Any = None) -> defer.Deferred[Any]:
        """``UIDL``: as :meth:`listSize`, with unique ids."""
        return self._listing(b"UIDL", bytes, consumer)

    def retrieve(self, index: int, consumer: Any = None, lines: int | None = None) -> Any:
        """``RETR`` (or ``TOP`` with ``lines``): fires with the message's lines, or calls
        ``consumer`` with each line and fires with it."""

        def parse(response: Response) -> Any:
            got = response.lines or []
            if consumer is None:
                return got
            for line in got:
                consumer(line)
            return consumer

        if lines is None:
            return self._command(b"RETR", b"%d" % (index + 1), parse=parse)
        return self._command(b"TOP", b"%d" % (index + 1), b"%d" % lines, parse=parse)

    # -- login and TLS -------------------------------------------------------------------

    def _secure(self) -> bool:
        return self.startedTLS or bool(interfaces.ISSLTransport.providedBy(self.transport))

    def login(self, username: bytes, password: bytes) -> defer.Deferred[bytes]:
        """Log in the safest way the server allows: APOP, else ``STLS`` and
        ``USER``/``PASS``, else ``USER``/``PASS`` in the clear only with
        :attr:`allowInsecureLogin`."""
        d = self.capabilities()

        def chosen(caps: dict[bytes, Any]) -> Any:
            if self.serverChallenge is not None:
                return self._apop(username, password, self.serverChallenge)
            if self._secure():
                return self._plaintext(username, password)
            if b"STLS" in caps and interfaces.ITLSTransport.providedBy(self.transport):
                started = self.startTLS()
                return started.addCallback(lambda _: self._plaintext(username, password))
            if self.allowInsecureLogin:
                return self._plaintext(username, password)
            raise InsecureAuthenticationDisallowed()

        return d.addCallback(chosen)

    def _apop(self, username: bytes, password: bytes, challenge: bytes) -> Any:
        digest = hashlib.md5(challenge + password).hexdigest().encode("ascii")
        return self.apop(username, digest)

    def _plaintext(self, username: bytes, password: bytes) -> Any:
        # Both queued at once, so commands issued meanwhile cannot come between them; a
        # refused USER makes PASS fail too, which is what the caller sees.
        self.user(username).addErrback(lambda _: None)
        return self.password(password)

    def startTLS(self, contextFactory: Any = None) -> defer.Deferred[Any]:
        """``STLS``, then TLS on the transport; fires with the capabilities asked again.

        :param contextFactory: Client TLS options; by default the server's certificate must
            be valid for :attr:`hostname` (or the peer's address).
        """
        if contextFactory is None:
            from glisten.internet.ssl import optionsForClientTLS

            host = self.hostname or getattr(self.transport.getPeer(), "host", None)
            contextFactory = optionsForClientTLS(str(host or "localhost"))
        if not interfaces.ITLSTransport.providedBy(self.transport):
            return defer.fail(TLSError("the transport cannot start TLS"))

        def check(caps: dict[bytes, Any]) -> Any:
            if b"STLS" not in caps:
                raise TLSNotSupportedError()
            return self._command(b"STLS").addCallback(started)

        def started(_: Any) -> Any:
            self.transport.startTLS(contextFactory)
            self.startedTLS = True
            self._capCache = None
            return self.capabilities(useCache=False)

        return self.capabilities().addCallback(check)


#: Twisted's older name.
AdvancedPOP3Client = POP3Client

__all__ = [
    "AdvancedPOP3Client",
    "InsecureAuthenticationDisallowed",
    "LineTooLong",
    "POP3Client",
    "POP3ClientError",
    "ServerErrorResponse",
    "TLSError",
    "TLSNotSupportedError",
]
