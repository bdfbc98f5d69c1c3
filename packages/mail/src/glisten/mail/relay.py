"""Accepting mail for other domains into the relay queue (Twisted's
``twisted.mail.relay``), for trusted clients only: no open relay."""

from __future__ import annotations

import ipaddress
import weakref
from typing import Any

from zope.interface import implementer

from glisten.internet import address as inet_address
from glisten.internet import defer
from glisten.mail import smtp
from glisten.python.failure import Failure

_PENDING = object()

#: Per server connection (a queuer is made per recipient): its queue entries being
#: written, by what their recipients share.
_openEntries: weakref.WeakKeyDictionary[Any, dict[Any, _Shared]] = weakref.WeakKeyDictionary()


def _peerAllowed(protocol: Any, networks: list[Any]) -> bool:
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return False
    peer = transport.getPeer()
    if isinstance(peer, inet_address.UNIXAddress):
        return True
    host = getattr(peer, "host", None)
    if not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class DomainQueuer:
    """An ``IDomain`` that queues messages for relaying, when the client may relay.

    A client may relay when it authenticated (``authenticated``, or an authenticated
    delivery), connected over a Unix socket, or comes from one of the service's
    ``relayNetworks`` (``ipaddress`` networks; loopback by default, as Twisted).
    Every other recipient outside the local domains is refused with 550 5.7.1, whatever its
    shape: source routes are dropped by the parser, and ``%`` hacks, quoted local parts and
    address literals are addresses like any other, in a domain that is not local.
    """

    def __init__(self, service: Any, authenticated: bool = False) -> None:
        self.service = service
        self.authed = authenticated

    def networks(self) -> list[Any]:
        nets = getattr(self.service, "relayNetworks", None)
        if nets is None or nets == []:
            return [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
        return list(nets)

    def willRelay(self, address: Any, protocol: Any) -> bool:
        """:return: whether the client on ``protocol`` may send to ``address``."""
        if self.authed:
            return True
        return _peerAllowed(protocol, self.networks())

    def exists(self, user: smtp.User, memo: Any = None) -> Any:
        """:return: a callable queueing the message for ``user``.

        :raises smtp.SMTPBadRcpt: when the client may not relay.
        """
        if self.service.queue is not None and self.willRelay(user.dest, user.protocol):
            orig = str(user.orig) if user.orig is not None else ""
            params: dict[str, Any] = {}
            mailParams = getattr(user.protocol, "mailParams", None)
            if mailParams is not None:
                params["ret"] = mailParams.ret
                params["envid"] = (
                    mailParams.envid.decode("utf-8", "replace") if mailParams.envid else None
                )
            if user.params is not None and user.params.notify:
                params["notify"] = sorted(user.params.notify)
            protocol = user.protocol
            return lambda: self._messageFor(protocol, orig, str(user.dest), params)
        raise smtp.SMTPBadRcpt(user, 550, b"5.7.1 Relaying denied")

    def _messageFor(self, protocol: Any, origin: str, destination: str, params: Any) -> Any:
        """:return: the message for one recipient; recipients of one transaction in one
        domain (with the same DSN parameters) share one queue entry, so the relay sends the
        message once with several ``RCPT TO``."""
        domain = destination.rpartition("@")[2].lower()
        key = (domain, repr(sorted(params.items())))
        try:
            shared = _openEntries.setdefault(protocol, {})
        except TypeError:
            # Not weakly referenceable: no sharing.
            return self.startMessage(origin, destination, params)
        group = shared.get(key)
        if group is not None and group.open:
            group.add(destination)
            return _SharedRecipient(group)
        message = self.startMessage(origin, destination, params)
        envelope = getattr(message, "envelope", None)
        if envelope is None:
            return message
        group = shared[key] = _Shared(message, envelope)
        return group

    def startMessage(self, origin: str, destination: str, params: dict[str, Any]) -> Any:
        """:return: the queue's ``IMessage`` for one recipient."""
        return self.service.queue.createNewMessage(origin, [destination], **params)

    def addUser(self, user: str, password: str) -> None:
        pass

    def getCredentialsCheckers(self) -> list[Any]:
        return []


@implementer(smtp.IMessage)
class _Shared:
    """The queue entry of several recipients: the first recipient's message, which writes
    the text once; the others (:class:`_SharedRecipient`) only wait for its end.

    :ivar open: Recipients may still join (until the text starts, ends or is dropped: the
        server creates every recipient's message before the first line).
    """

    def __init__(self, message: Any, envelope: Any) -> None:
        self.message = message
        self.envelope = envelope
        self.open = True
        self._result: Any = _PENDING
        self._waiting: list[defer.Deferred[Any]] = []

    def add(self, recipient: str) -> None:
        self.envelope.recipients.append(recipient)

    def lineReceived(self, line: bytes) -> None:
        self.open = False
        self.message.lineReceived(line)

    def eomReceived(self) -> defer.Deferred[Any]:
        self.open = False
        d = defer.maybeDeferred(self.message.eomReceived)
        d.addBoth(self._finished)
        return d

    def _finished(self, result: Any) -> Any:
        self._result = result
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(result)
        return result

    def whenDone(self) -> defer.Deferred[Any]:
        d: defer.Deferred[Any] = defer.Deferred()
        if self._result is _PENDING:
            self._waiting.append(d)
        elif isinstance(self._result, Failure):
            d.errback(self._result)
        else:
            d.callback(self._result)
        return d

    def connectionLost(self) -> None:
        self.open = False
        self.message.connectionLost()


@implementer(smtp.IMessage)
class _SharedRecipient:
    """Another recipient of a :class:`_Shared` queue entry: its answer is the entry's."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared

    def lineReceived(self, line: bytes) -> None:
        pass

    def eomReceived(self) -> defer.Deferred[Any]:
        return self.shared.whenDone()

    def connectionLost(self) -> None:
        pass


__all__ = ["DomainQueuer"]
