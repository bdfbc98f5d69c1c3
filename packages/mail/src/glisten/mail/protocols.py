"""Protocols for a :class:`glisten.mail.mail.MailService` (Twisted's
``twisted.mail.protocols``): SMTP deliveries (local domains, relaying for trusted clients,
``Received:`` headers) and POP3 and IMAP4 for the users of the service's domains."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.cred import credentials
from glisten.cred import error as cred_error
from glisten.internet import defer
from glisten.internet.protocol import ServerFactory
from glisten.mail import imap4, pop3, relay, smtp
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


def _portalsFor(service: Any, user: bytes) -> tuple[bytes, list[Any]]:
    """``user@domain`` -> the local part and that domain's portal; a bare name -> every
    domain's portal."""
    portals = dict(service.portals) if service is not None else {}
    local, at, domain = user.rpartition(b"@")
    if at:
        found = portals.get(domain.lower())
        return local, [found] if found is not None else []
    return user, list(portals.values())


def _loginToPortals(
    portals: list[Any], local: bytes, makeCredentials: Any, interface: Any
) -> defer.Deferred[Any]:
    """Log in to the first of ``portals`` that takes the credentials."""

    def attempt(index: int) -> defer.Deferred[Any]:
        if index >= len(portals):
            return defer.fail(cred_error.UnauthorizedLogin("Invalid credentials"))
        d = defer.maybeDeferred(portals[index].login, makeCredentials(local), None, interface)
        d.addErrback(lambda f: f.trap(cred_error.UnauthorizedLogin) and attempt(index + 1))
        return d

    return attempt(0)


class VirtualPOP3(pop3.POP3):
    """A POP3 server for the users of a :class:`~glisten.mail.mail.MailService`'s domains:
    ``user@domain`` logs in to ``domain``'s portal; a bare ``user`` is tried against each
    domain in turn.

    :ivar service: The mail service (set by :class:`POP3Factory`).
    :ivar domainSpecifier: What separates the user from the domain in a login name.
    """

    service: Any = None
    domainSpecifier = b"@"

    def _portals(self) -> dict[bytes, Any]:
        return dict(self.service.portals) if self.service is not None else {}

    def offersAPOP(self) -> bool:
        return any(
            credentials.IUsernameHashedPassword in p.listCredentialsInterfaces()
            for p in self._portals().values()
        )

    def offersCramMD5(self) -> bool:
        return self.offersAPOP()

    def lookupDomain(self, user: bytes) -> tuple[bytes, list[Any]]:
        """:return: the local part and the portals to try it with (none: unknown domain)."""
        return _portalsFor(self.service, user.replace(self.domainSpecifier, b"@"))

    def _tryPortals(self, user: bytes, makeCredentials: Any) -> defer.Deferred[Any]:
        local, portals = self.lookupDomain(user)
        return _loginToPortals(portals, local, makeCredentials, pop3.IMailbox)

    def authenticateUserPASS(self, user: bytes, password: bytes) -> defer.Deferred[Any]:
        return self._tryPortals(user, lambda local: credentials.UsernamePassword(local, password))

    def authenticateUserAPOP(self, user: bytes, digest: bytes) -> defer.Deferred[Any]:
        magic = self.magic
        if magic is None:
            return defer.fail(cred_error.UnauthorizedLogin())
        return self._tryPortals(user, lambda local: pop3.APOPCredentials(magic, local, digest))

    def authenticateUserCRAM(self, creds: Any) -> defer.Deferred[Any]:
        return self._tryPortals(
            creds.username,
            lambda local: smtp.CramMD5Credentials(local, creds.challenge, creds.response),
        )


class _MailboxFactory(ServerFactory):
    """Builds connections that log a mail service's users in to their mailboxes.

    :param service: The :class:`~glisten.mail.mail.MailService`.
    :param contextFactory: TLS server options; with them STLS/STARTTLS is offered.
    :ivar authOverPlaintext: Accept passwords before TLS (tests only).
    """

    authOverPlaintext = False

    def __init__(self, service: Any, contextFactory: Any = None) -> None:
        self.service = service
        self.contextFactory = contextFactory

    def buildProtocol(self, addr: Any) -> Any:
        p = self.protocol(contextFactory=self.contextFactory)
        p.service = self.service
        p.factory = self
        p.authOverPlaintext = self.authOverPlaintext
        return p


class POP3Factory(_MailboxFactory):
    """Builds :class:`VirtualPOP3` connections for a mail service (Twisted's name)."""

    protocol = VirtualPOP3

    def cap_IMPLEMENTATION(self) -> bytes:
        return b"glisten"


class VirtualIMAP4(imap4.IMAP4Server):
    """An IMAP4 server for the users of a mail service's domains (``user@domain``, or a
    bare ``user`` tried against each domain)."""

    service: Any = None

    def authenticateLogin(self, user: bytes, password: bytes) -> defer.Deferred[Any]:
        local, portals = _portalsFor(self.service, user)
        return _loginToPortals(
            portals,
            local,
            lambda name: credentials.UsernamePassword(name, password),
            imap4.IAccount,
        )

    def offersCramMD5(self) -> bool:
        portals = self.service.portals.values() if self.service is not None else []
        return any(
            credentials.IUsernameHashedPassword in p.listCredentialsInterfaces() for p in portals
        )

    def authenticateCramMD5(self, creds: Any) -> defer.Deferred[Any]:
        local, portals = _portalsFor(self.service, creds.username)
        return _loginToPortals(
            portals,
            local,
            lambda name: smtp.CramMD5Credentials(name, creds.challenge, creds.response),
            imap4.IAccount,
        )


class IMAP4Factory(_MailboxFactory):
    """Builds :class:`VirtualIMAP4` connections for a mail service."""

    protocol = VirtualIMAP4


__all__ = [
    "DomainDeliveryBase",
    "DomainESMTP",
    "DomainSMTP",
    "ESMTPDomainDelivery",
    "ESMTPFactory",
    "IMAP4Factory",
    "POP3Factory",
    "SMTPDomainDelivery",
    "SMTPFactory",
    "VirtualIMAP4",
    "VirtualPOP3",
]
