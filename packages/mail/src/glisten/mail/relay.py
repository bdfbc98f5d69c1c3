"""Accepting mail for other domains into the relay queue (Twisted's
``twisted.mail.relay``), for trusted clients only: no open relay."""

from __future__ import annotations

import ipaddress
from typing import Any

from glisten.internet import address as inet_address
from glisten.mail import smtp


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
            return lambda: self.startMessage(orig, str(user.dest), params)
        raise smtp.SMTPBadRcpt(user, 550, b"5.7.1 Relaying denied")

    def startMessage(self, origin: str, destination: str, params: dict[str, Any]) -> Any:
        """:return: the queue's ``IMessage`` for one recipient."""
        return self.service.queue.createNewMessage(origin, [destination], **params)

    def addUser(self, user: str, password: str) -> None:
        pass

    def getCredentialsCheckers(self) -> list[Any]:
        return []


__all__ = ["DomainQueuer"]
