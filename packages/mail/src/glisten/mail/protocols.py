"""SMTP deliveries for a :class:`glisten.mail.mail.MailService` (Twisted's
``twisted.mail.protocols``): local domains, relaying for trusted clients, ``Received:``
headers."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.mail import relay, smtp
from glisten.mail._smtp import Mailbox


@implementer(smtp.IMessageDelivery)
class DomainDeliveryBase:
    """Routes each recipient to its domain in ``service.domains``, or to the relay queue
    when the client may relay, and refuses the rest.

    :param service: The :class:`~glisten.mail.mail.MailService`.
    :param user: Unused (Twisted's signature).
    :param host: The name put in ``Received:`` headers.
    :param authenticatedUser: The avatar id of an authenticated client (may relay).
    """

    protocolName = b"not-implemented"

    def __init__(
        self,
        service: Any,
        user: Any = None,
        host: bytes = smtp.DNSNAME,
        authenticatedUser: Any = None,
    ) -> None:
        self.service = service
        self.user = user
        self.host = host
        self.authenticatedUser = authenticatedUser

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        heloName, clientIP = helo if helo else (b"unknown", "")
        by = self.host if isinstance(self.host, bytes) else str(self.host).encode()
        proto = self.protocolName
        if self.authenticatedUser is not None:
            proto += b"A"
        header = b"Received: from %s ([%s])\r\n\tby %s with %s id %s" % (
            heloName,
            clientIP.encode("ascii", "replace"),
            by,
            proto,
            smtp.messageid().strip(b"<>").split(b"@")[0],
        )
        if len(recipients) == 1:
            header += b"\r\n\tfor <%s>" % bytes(recipients[0].dest)
        return header + b"; " + smtp.rfc822date()

    def validateFrom(self, helo: Any, origin: smtp.Address) -> smtp.Address:
        if not helo:
            raise smtp.SMTPBadSender(origin, 503, b"Who are you?  Say HELO first")
        return origin

    def _localDomain(self, user: smtp.User) -> Any:
        domains = self.service.domains
        name = user.dest.domain
        if not name:
            # <Postmaster> alone (RFC 5321 4.5.1): the first local domain's postmaster.
            for key in dict.keys(domains):
                user.dest = smtp.Address(Mailbox(b"postmaster", key))
                return dict.__getitem__(domains, key)
            return None
        return domains.get(name)

    def validateTo(self, user: smtp.User) -> Any:
        domain = self._localDomain(user)
        if domain is not None:
            return domain.exists(user)
        queuer = relay.DomainQueuer(self.service, authenticated=self.authenticatedUser is not None)
        return queuer.exists(user)


class SMTPDomainDelivery(DomainDeliveryBase):
    protocolName = b"smtp"


class ESMTPDomainDelivery(DomainDeliveryBase):
    protocolName = b"esmtp"


class DomainSMTP(SMTPDomainDelivery, smtp.SMTP):
    """An SMTP server connection that is its own delivery (Twisted's name)."""

    service: Any = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        smtp.SMTP.__init__(self)
        SMTPDomainDelivery.__init__(self, self.service)
        self.delivery = self


class DomainESMTP(ESMTPDomainDelivery, smtp.ESMTP):
    """An ESMTP server connection that is its own delivery (Twisted's name)."""

    service: Any = None

    def __init__(self, *args: Any, **kw: Any) -> None:
        smtp.ESMTP.__init__(self, *args, **kw)
        ESMTPDomainDelivery.__init__(self, self.service)
        self.delivery = self


class SMTPFactory(smtp.SMTPFactory):
    """Serves a :class:`~glisten.mail.mail.MailService` over SMTP.

    :param service: The mail service (its domains and queue).
    :param portal: For AUTH (the service's own portal by default).
    """

    protocol: Any = smtp.SMTP
    _deliveryClass: Any = SMTPDomainDelivery

    def __init__(self, service: Any, portal: Any = None) -> None:
        super().__init__(portal if portal is not None else service.smtpPortal)
        self.service = service

    def buildProtocol(self, addr: Any) -> Any:
        p = super().buildProtocol(addr)
        p.delivery = self._deliveryClass(self.service, host=p.host)
        return p


class ESMTPFactory(SMTPFactory):
    """Serves a mail service over ESMTP: STARTTLS with ``context``, AUTH (under TLS unless
    ``authOverPlaintext``).

    :ivar context: TLS server options, or ``None`` for no STARTTLS.
    :ivar challengers: AUTH mechanisms, name -> credentials class.
    :ivar requireAuthentication: A submission server: MAIL needs AUTH.
    """

    protocol = smtp.ESMTP
    _deliveryClass = ESMTPDomainDelivery
    context: Any = None
    authOverPlaintext = False
    requireAuthentication = False
    requireTransportSecurity = False

    def __init__(self, service: Any, portal: Any = None, context: Any = None) -> None:
        super().__init__(service, portal)
        self.context = context
        self.challengers: dict[bytes, Any] = {
            b"PLAIN": smtp.PLAINCredentials,
            b"LOGIN": smtp.LOGINCredentials,
        }

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol(self.challengers, self.context)
        p.portal = self.portal
        p.host = self.domain if isinstance(self.domain, bytes) else self.domain.encode()
        p.timeout = self.timeout
        p.factory = self
        p.authOverPlaintext = self.authOverPlaintext
        p.requireAuthentication = self.requireAuthentication
        p.requireTransportSecurity = self.requireTransportSecurity
        if self.limits is not None:
            p.limits = self.limits
        p.delivery = self._deliveryClass(self.service, host=p.host)
        return p


__all__ = [
    "DomainDeliveryBase",
    "DomainESMTP",
    "DomainSMTP",
    "ESMTPDomainDelivery",
    "ESMTPFactory",
    "SMTPDomainDelivery",
    "SMTPFactory",
]
