"""Success notices for final delivery (RFC 3461 5.2.3, RFC 3464 ``Action:
delivered``): a recipient whose ``RCPT TO`` carried ``NOTIFY=SUCCESS`` and whose message
this server stored in a local mailbox hears about it once, from this server, which is the
last one to handle it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
from zope.interface import implementer

from glisten.internet import defer
from glisten.logger import Logger, LogLevel
from glisten.mail import smtp
from glisten.mail.bounce import generateBounce

_log = Logger()

#: Header bytes kept for the notice (it quotes only the header, RFC 3461 4.3); a longer
#: header is cut at a line end.
MAX_HEADER_BYTES = 64 * 1024


@attrs.frozen
class SuccessRequest:
    """What a notice needs to know about one recipient that asked for one.

    :ivar sender: The reverse path, to which the notice goes.
    :ivar recipient: The final recipient, as given in ``RCPT TO``.
    :ivar originalRecipient: ``ORCPT`` as ``"type; address"``, if the client gave it.
    :ivar envid: ``ENVID`` of the transaction, if any.
    :ivar arrival: When the transaction started (``Arrival-Date``).
    """

    sender: str
    recipient: str
    originalRecipient: str | None = None
    envid: str | None = None
    arrival: float = attrs.field(factory=time.time)


def successRequested(user: smtp.User) -> SuccessRequest | None:
    """:return: the notice ``user`` asked for with ``NOTIFY=SUCCESS``, or ``None`` when it
    asked for none (no ``NOTIFY``, ``NOTIFY=NEVER``, only ``FAILURE``/``DELAY``) or the
    message has a null reverse path (as notices have, RFC 3461 6.1: no notice about a
    notice)."""
    params = user.params
    if params is None or "SUCCESS" not in params.notify:
        return None
    sender = str(user.orig) if user.orig is not None else ""
    if not sender or "@" not in sender:
        return None
    original = None
    if params.orcpt is not None:
        kind, address = params.orcpt
        original = f"{kind}; {address.decode('utf-8', 'replace')}"
    mailParams = getattr(user.protocol, "mailParams", None)
    envid = getattr(mailParams, "envid", None)
    return SuccessRequest(
        sender=sender,
        recipient=str(user.dest),
        originalRecipient=original,
        envid=envid.decode("utf-8", "replace") if envid else None,
    )


def _deliverText(message: Any, text: bytes) -> defer.Deferred[Any]:
    """Feed ``text`` (CRLF lines) to an ``IMessage`` and end it."""
    for line in text.split(b"\r\n")[:-1]:
        message.lineReceived(line)
    return defer.maybeDeferred(message.eomReceived)


def submitNotice(service: Any, to: str, text: bytes) -> defer.Deferred[Any]:
    """Send a notice with a null reverse path to ``to``: through the relay queue when the
    service has one (its relay manager also delivers to local domains), else straight into
    ``to``'s local domain. Without either there is no way to reach ``to``: the notice is
    logged and dropped.

    :return: a Deferred firing once the notice is stored.
    """
    queue = getattr(service, "queue", None)
    if queue is not None:
        return _deliverText(queue.createNewMessage("", [to]), text)
    try:
        domain = service.domains.get(to.rpartition("@")[2])
    except UnicodeError:
        domain = None
    if domain is None:
        _log.warn("No relay queue to send a delivery notice to {to}: dropped", to=to)
        return defer.succeed(None)
    # A null sender and no DSN parameters: a notice never asks for a notice.
    user = smtp.User(to, (b"localhost", "127.0.0.1"), None, "")
    return defer.maybeDeferred(domain.exists, user).addCallback(
        lambda make: _deliverText(make(), text)
    )


@implementer(smtp.IMessage)
class NotifyOnDelivery:
    """Wraps the ``IMessage`` writing one recipient's copy into a local mailbox: once that
    copy is stored, queues the ``Action: delivered`` notice its sender asked for, then
    answers. A notice that cannot be stored is logged, never turned into a refusal of the
    message, which is stored already (refusing would make the client send it again).

    :param message: The ``IMessage`` storing the copy.
    :param request: What :func:`successRequested` found.
    :param submit: ``(to, text) -> Deferred``, usually :func:`submitNotice` for a service.
    :param reportingMTA: This server's name for the notice.
    """

    def __init__(
        self,
        message: Any,
        request: SuccessRequest,
        submit: Callable[[str, bytes], defer.Deferred[Any]],
        reportingMTA: bytes = smtp.DNSNAME,
    ) -> None:
        self.message = message
        self.request = request
        self.submit = submit
        self.reportingMTA = reportingMTA
        self._header: list[bytes] = []
        self._headerSize = 0
        self._inHeader = True

    def lineReceived(self, line: bytes) -> None:
        if self._inHeader:
            if not line:
                self._inHeader = False
            elif self._headerSize + len(line) + 2 <= MAX_HEADER_BYTES:
                self._header.append(line)
                self._headerSize += len(line) + 2
            else:
                self._inHeader = False
        self.message.lineReceived(line)

    def eomReceived(self) -> defer.Deferred[Any]:
        d = defer.maybeDeferred(self.message.eomReceived)
        return d.addCallback(self._notify)

    def _notify(self, result: Any) -> defer.Deferred[Any]:
        request = self.request
        header = b"".join(line + b"\r\n" for line in self._header) + b"\r\n"
        _from, to, text = generateBounce(
            header,
            request.sender,
            request.recipient,
            reportingMTA=self.reportingMTA,
            envid=request.envid,
            status="2.0.0",
            arrival=request.arrival,
            action="delivered",
            originalRecipients=(
                {request.recipient: request.originalRecipient}
                if request.originalRecipient
                else None
            ),
        )
        d = defer.maybeDeferred(self.submit, to, text)

        def stored(_: object) -> Any:
            _log.info("Told {to} that mail for {rcpt} was delivered", to=to, rcpt=request.recipient)
            return result

        def failed(failure: Any) -> Any:
            _log.failure(
                "Could not store the delivery notice to {to} for {rcpt}",
                failure,
                level=LogLevel.error,
                to=to,
                rcpt=request.recipient,
            )
            return result

        return d.addCallbacks(stored, failed)

    def connectionLost(self) -> None:
        self.message.connectionLost()
