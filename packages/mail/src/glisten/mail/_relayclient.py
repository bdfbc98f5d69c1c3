"""The relay's client: several queued messages for one domain over one connection.

:class:`BatchSender` is an :class:`~glisten.mail.smtp.ESMTPClient` that, unlike the sender
factories' one-message clients, keeps the session going when one transaction fails (a refused
sender, every recipient refused, a refused message): the codec resets the transaction and the
next message goes out. The outcome of every message is collected per queue id, so the relay
manager settles each on its own; messages without an outcome when the session ends (the
connection dropped, the server said 421) are tried again.
"""

from __future__ import annotations

import io
from typing import Any

import attrs

from glisten.internet import defer
from glisten.internet.error import ConnectionDone
from glisten.internet.protocol import ClientFactory
from glisten.mail._smtpclient import ESMTPClient
from glisten.mail._smtpcommon import SUCCESS, SMTPClientError, SMTPDeliveryError
from glisten.python.failure import Failure


@attrs.define
class Outgoing:
    """One queued message to send.

    :ivar name: The queue id.
    :ivar sender: The reverse path (``""`` for bounces).
    :ivar recipients: The forward paths.
    :ivar path: Where the message's text is.
    :ivar dsn: RFC 3461 parameters (``ret``, ``envid``, ``notify``).
    """

    name: str
    sender: str
    recipients: list[str]
    path: str
    dsn: dict[str, Any] = attrs.Factory(dict)


#: What one message came to: the recipients' ``(address, code, reply)`` after the server took
#: the message, or the error that refused its transaction.
Outcome = list[tuple[bytes, int, bytes]] | SMTPDeliveryError


@attrs.define
class BatchResult:
    """The end of a session.

    :ivar outcomes: Queue id -> :data:`Outcome`, for the messages the server answered.
    :ivar error: Why the session ended early (``None`` when it ended with ``QUIT``).
    :ivar dsn: The server announced DSN (RFC 3461): it reports on the messages itself.
    """

    outcomes: dict[str, Outcome]
    error: BaseException | None
    dsn: bool = False


class BatchSender(ESMTPClient):
    """Sends the messages of a batch one transaction after the other.

    :param batch: The messages, in order.
    :param done: Fired with a :class:`BatchResult` when the connection is gone.
    """

    def __init__(
        self,
        batch: list[Outgoing],
        done: defer.Deferred[BatchResult],
        contextFactory: Any,
        identity: bytes | None,
    ) -> None:
        super().__init__(None, contextFactory, identity)
        self._batch = list(batch)
        self._next = 0
        self._current: Outgoing | None = None
        self._done = done
        self._outcomes: dict[str, Outcome] = {}
        self._error: BaseException | None = None
        self._data = b""
        self._dsn = False

    def getMailFrom(self) -> Any:
        while self._next < len(self._batch):
            self._current = current = self._batch[self._next]
            self._next += 1
            try:
                with open(current.path, "rb") as f:
                    self._data = f.read()
            except OSError as e:
                # Not this one (it is retried later), but the others still go.
                self._outcomes[current.name] = SMTPDeliveryError(
                    -1, f"cannot read the queued message: {e.strerror}".encode()
                )
                continue
            return current.sender
        self._current = None
        return None

    def getMailTo(self) -> Any:
        assert self._current is not None
        return self._current.recipients

    def getMailData(self) -> Any:
        data, self._data = self._data, b""
        return io.BytesIO(data)

    def getDSNParameters(self) -> dict[str, Any]:
        assert self._current is not None
        return dict(self._current.dsn)

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        assert self._current is not None
        codec = self._codec
        self._dsn = codec is not None and "DSN" in codec.extensions
        if code in SUCCESS:
            self._outcomes[self._current.name] = list(addresses)
        else:
            self._outcomes[self._current.name] = SMTPDeliveryError(
                code, resp, log.str() if log else None, addresses
            )

    def smtpTransferFailed(self, exc: SMTPClientError) -> None:
        """This message's transaction was refused: note it and go on with the next one."""
        assert self._current is not None
        assert isinstance(exc, SMTPDeliveryError)
        self._outcomes[self._current.name] = exc

    def sendError(self, exc: Exception) -> None:
        if self._error is None:
            self._error = exc
        super().sendError(exc)

    def connectionLost(self, reason: Failure | None = None) -> None:
        if self._error is None and reason is not None and not reason.check(ConnectionDone):
            # Say why (a TLS handshake or certificate failure, say), not just "lost".
            self._error = reason.value
        super().connectionLost(reason)
        if not self._done.called:
            self._done.callback(BatchResult(self._outcomes, self._error, self._dsn))


class BatchSenderFactory(ClientFactory):
    """Connects one :class:`BatchSender`; its Deferred also fires when the connection fails.

    :ivar requireTransportSecurity: Fail the session unless STARTTLS works.
    """

    def __init__(
        self,
        batch: list[Outgoing],
        contextFactory: Any,
        identity: bytes | None,
        *,
        requireTransportSecurity: bool = False,
        timeout: float = 300,
    ) -> None:
        self.batch = batch
        self.contextFactory = contextFactory
        self.identity = identity
        self.requireTransportSecurity = requireTransportSecurity
        self.timeout = timeout
        self.deferred: defer.Deferred[BatchResult] = defer.Deferred()
        self._built = False

    def buildProtocol(self, addr: Any) -> BatchSender | None:
        """:return: the batch's one session; ``None`` (the connection is closed) for any
        later connection, such as a second address of a ``HostnameEndpoint`` race that
        connected in the same turn: two sessions would send the batch twice and the
        loser's end would answer for the winner."""
        if self._built:
            return None
        self._built = True
        p = BatchSender(self.batch, self.deferred, self.contextFactory, self.identity)
        p.requireTransportSecurity = self.requireTransportSecurity
        p.timeout = self.timeout
        p.factory = self
        return p

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if not self.deferred.called:
            self.deferred.callback(BatchResult({}, reason.value))
