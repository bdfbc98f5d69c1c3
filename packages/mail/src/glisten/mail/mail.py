"""The mail service: domains, and what a domain must provide (Twisted's
``twisted.mail.mail``)."""

from __future__ import annotations

from typing import Any

from zope.interface import Interface, implementer

from glisten.application import service
from glisten.cred import checkers, credentials, error
from glisten.cred import portal as cred_portal
from glisten.internet import defer
from glisten.mail import smtp


class IDomain(Interface):
    """A domain the server receives mail for."""

    def exists(user: Any) -> Any:
        """:return: a no-argument callable making an ``IMessage`` for ``user``.

        :raises smtp.SMTPBadRcpt: if the user does not exist.
        """

    def addUser(user: str, password: str) -> None:
        """Add a user."""

    def getCredentialsCheckers() -> list[Any]:
        """:return: credentials checkers for this domain's users."""


class IAliasableDomain(IDomain):
    """A domain whose users may be aliases."""

    def setAliasGroup(aliases: dict[str, Any]) -> None:
        """Use ``aliases`` (local part -> alias) for names that are not users."""

    def exists(user: Any, memo: Any = None) -> Any:
        """As :meth:`IDomain.exists`; ``memo`` guards against alias loops."""


@implementer(IDomain)
class BounceDomain:
    """A domain that refuses every recipient."""

    def exists(self, user: Any, memo: Any = None) -> Any:
        raise smtp.SMTPBadRcpt(user)

    def willRelay(self, user: Any, protocol: Any) -> bool:
        return False

    def addUser(self, user: str, password: str) -> None:
        pass

    def getCredentialsCheckers(self) -> list[Any]:
        return []


class DomainWithDefaultDict(dict[bytes, Any]):
    """Domains by name (case-insensitive), with a default for names not listed."""

    def __init__(self, domains: dict[bytes, Any], default: Any) -> None:
        super().__init__()
        for name, domain in domains.items():
            self[name] = domain
        self.default = default

    @staticmethod
    def _key(name: Any) -> bytes:
        if isinstance(name, str):
            name = name.encode("idna")
        return bytes(name).lower()

    def __setitem__(self, name: Any, domain: Any) -> None:
        super().__setitem__(self._key(name), domain)

    def __getitem__(self, name: Any) -> Any:
        return self.get(name, self.default)

    def get(self, name: Any, default: Any = None) -> Any:
        return super().get(self._key(name), default)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self._key(name))

    def has_key(self, name: Any) -> bool:
        return name in self

    def setDefault(self, default: Any) -> None:
        self.default = default


@implementer(checkers.ICredentialsChecker)
class _DomainsChecker:
    """Checks a username/password against the checkers of the user's domain."""

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(self, service: MailService) -> None:
        self.service = service
        self.byDomain: dict[bytes, list[Any]] = {}
        #: Checkers for users of no particular domain (``glisten mail --auth``).
        self.extra: list[Any] = []

    def requestAvatarId(self, creds: Any) -> defer.Deferred[Any]:
        local, at, domain = bytes(creds.username).rpartition(b"@")
        if at and domain.lower() in self.byDomain:
            candidates = self.byDomain[domain.lower()]
            creds = credentials.UsernamePassword(local, creds.password)
        else:
            candidates = [c for cs in self.byDomain.values() for c in cs]
        candidates = candidates + self.extra

        def attempt(index: int) -> defer.Deferred[Any]:
            if index >= len(candidates):
                return defer.fail(error.UnauthorizedLogin("Invalid credentials"))
            d = defer.maybeDeferred(candidates[index].requestAvatarId, creds)
            d.addErrback(lambda f: f.trap(error.UnauthorizedLogin) and attempt(index + 1))
            return d

        return attempt(0)


class MailService(service.MultiService):
    """The mail service: the domains, their aliases and credential checkers, a relay queue.

    :ivar domains: Domain name -> ``IDomain`` (refusing unknown domains by default).
    :ivar queue: The relay queue (:class:`glisten.mail.relaymanager.Queue`), if relaying.
    :ivar portals: Domain name -> the portal of its users' mailboxes (POP3, IMAP4), for
        domains that are realms (maildir domains).
    :ivar smtpPortal: The :class:`glisten.cred.portal.Portal` for SMTP AUTH.
    """

    queue: Any = None
    domains: DomainWithDefaultDict

    def __init__(self) -> None:
        super().__init__()
        self.domains = DomainWithDefaultDict({}, BounceDomain())
        self.portals: dict[bytes, Any] = {}
        self.aliases: dict[str, Any] | None = None
        self._checker = _DomainsChecker(self)
        self.smtpPortal = cred_portal.Portal(self, [self._checker])
        self.relayNetworks: list[Any] = []

    def addDomain(self, name: bytes | str, domain: Any) -> None:
        """Receive mail for ``name`` through ``domain``; its users may authenticate (as
        ``user@name``, or ``user`` alone when only one domain knows them)."""
        self.domains[name] = domain
        key = DomainWithDefaultDict._key(name)
        domainCheckers = list(domain.getCredentialsCheckers())
        self._checker.byDomain[key] = domainCheckers
        if cred_portal.IRealm.providedBy(domain):
            # POP3 and IMAP log users in to their own domain's mailboxes.
            self.portals[key] = cred_portal.Portal(domain, domainCheckers)

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        """The realm of ``smtpPortal``: authenticated users get a delivery that may relay."""
        from glisten.mail.protocols import ESMTPDomainDelivery

        if smtp.IMessageDelivery in interfaces:
            delivery = ESMTPDomainDelivery(self, authenticatedUser=avatarId)
            return smtp.IMessageDelivery, delivery, lambda: None
        raise NotImplementedError("only IMessageDelivery avatars")

    def addChecker(self, checker: Any) -> None:
        """Let the users ``checker`` knows authenticate too (``--auth``)."""
        self._checker.extra.append(checker)

    def setQueue(self, queue: Any) -> None:
        self.queue = queue

    def lookupPortal(self, name: bytes) -> Any:
        return self.portals.get(name)

    def defaultPortal(self) -> Any:
        return self.smtpPortal


__all__ = [
    "BounceDomain",
    "DomainWithDefaultDict",
    "IAliasableDomain",
    "IDomain",
    "MailService",
]
