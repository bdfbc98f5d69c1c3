"""The ``glisten mail`` command: an SMTP server for local maildir domains, with aliases,
submission with AUTH and a relay queue, taking ``twist mail``'s options.

``glisten mail --maildirdbmdomain example.com=/var/mail/example.com --user alice=secret
--smtp tcp:25 --esmtp --certificate server.pem --submission tcp:587 --relay /var/spool/glisten``
receives mail for ``example.com`` into maildirs, lets ``alice`` submit mail for anywhere on
587 after STARTTLS and AUTH, and relays it from the durable queue.

``--pop3 tcp:110`` (or ``--pop3 ssl:995:privateKey=...`` for implicit TLS) lets the users
of the ``--maildirdbmdomain`` domains read their maildirs over POP3 (``STLS`` with
``--certificate``); ``--imap tcp:143`` (or ``ssl:993:...``) serves the same maildirs
over IMAP4, with ``STARTTLS`` given ``--certificate``.
"""

from __future__ import annotations

import argparse
import ipaddress
from typing import Any

from zope.interface import implementer

from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IService, IShareableServiceMaker
from glisten.cred.strcred import makeChecker
from glisten.internet import defer
from glisten.internet.main import getReactor
from glisten.mail import alias, mail, maildir, protocols, relaymanager, smtp


class _Ordered(argparse.Action):
    """Keeps the options whose meaning depends on order (``--user`` and ``--aliases`` apply
    to the ``--maildirdbmdomain`` before them) in one list, in command-line order."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        items = list(getattr(namespace, "ordered", None) or [])
        items.append((self.dest, values))
        namespace.ordered = items


def _pair(text: str, what: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"{what} wants NAME=VALUE, got {text!r}")
    return name, value


def _hostPort(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, 25
    if not port.isdigit():
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return host.strip("[]"), int(port)


def _localDelivery(service: mail.MailService) -> Any:
    """Delivers queued messages (bounces, forwarded aliases) whose domain is local."""

    def deliver(envelope: relaymanager.Envelope, path: str) -> Any:
        if envelope.domain not in service.domains:
            return None
        ds = []
        with open(path, "rb") as f:
            data = f.read()
        for rcpt in envelope.recipients:
            user = smtp.User(rcpt, (b"localhost", "127.0.0.1"), None, envelope.sender or "")
            message = service.domains[envelope.domain].exists(user)()
            for line in data.split(b"\r\n")[:-1]:
                message.lineReceived(line)
            ds.append(defer.maybeDeferred(message.eomReceived))
        return defer.gatherResults(ds, consumeErrors=True)

    return deliver


@implementer(IShareableServiceMaker)
class MailServiceMaker:
    """The ``mail`` plugin of the ``glisten`` command (runs with ``glisten --workers N`` when
    it only delivers into maildirs, which several processes can write at once)."""

    tapname = "mail"
    description = (
        "An SMTP, POP3 and IMAP4 server: maildir domains, aliases, submission, a relay queue."
    )

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add(
            "--smtp",
            action="append",
            metavar="ENDPOINT",
            help="an SMTP endpoint to listen on (repeatable; default tcp:8025)",
        )
        add("--no-smtp", action="store_true", help="do not listen for SMTP")
        add(
            "--imap",
            action="append",
            default=[],
            metavar="ENDPOINT",
            help="an IMAP4 endpoint to listen on (repeatable), e.g. tcp:143 or ssl:993:...",
        )
        add(
            "--pop3",
            action="append",
            default=[],
            metavar="ENDPOINT",
            help="a POP3 endpoint to listen on (repeatable), e.g. tcp:110 or ssl:995:...",
        )
        add(
            "--submission",
            action="append",
            default=[],
            metavar="ENDPOINT",
            help="a message submission endpoint (RFC 6409: AUTH required), e.g. tcp:587",
        )
        add("-E", "--esmtp", action="store_true", help="use ESMTP on --smtp (always on 587)")
        add("-H", "--hostname", default=None, help="the name in greetings and headers")
        add(
            "-c",
            "--certificate",
            default=None,
            metavar="FILE",
            help="PEM file with certificate and key: offer STARTTLS",
        )
        add(
            "-d",
            "--maildirdbmdomain",
            action=_Ordered,
            type=lambda t: _pair(t, "--maildirdbmdomain"),
            metavar="DOMAIN=PATH",
            help="receive for DOMAIN into maildirs under PATH",
        )
        add(
            "-u",
            "--user",
            action=_Ordered,
            type=lambda t: _pair(t, "--user"),
            metavar="USER=PASS",
            help="add a user to the previous --maildirdbmdomain",
        )
        add(
            "-a",
            "--aliases",
            action=_Ordered,
            metavar="FILE",
            help="an aliases file for the previous --maildirdbmdomain",
        )
        add(
            "-b",
            "--bounce-to-postmaster",
            action="store_true",
            help="unknown users' mail goes to postmaster; bounces go to postmaster",
        )
        add(
            "-A",
            "--auth",
            action="append",
            default=[],
            metavar="CHECKER",
            help="who may authenticate: memory:USER:PASS or file:PATH (scrypt hashes), or another"
            " glisten.cred.strcred checker type",
        )
        add(
            "-R",
            "--relay",
            default=None,
            metavar="QUEUEDIR",
            help="relay mail for other domains through a durable queue in QUEUEDIR",
        )
        add(
            "--smarthost",
            type=_hostPort,
            default=None,
            metavar="HOST[:PORT]",
            help="relay everything through this host instead of MX lookups",
        )
        add(
            "--relay-network",
            action="append",
            default=[],
            type=ipaddress.ip_network,
            metavar="CIDR",
            help="clients that may relay without AUTH (default loopback)",
        )
        add(
            "--relay-interval",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="how often the queue is looked at",
        )
        add(
            "--tls-verify",
            action="append",
            default=[],
            metavar="DOMAIN",
            help="relay to DOMAIN only over STARTTLS with a certificate valid for the exchanger "
            "(an MTA-STS-like policy; other domains get opportunistic TLS)",
        )
        add(
            "--relay-retry",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="the first retry delay; it doubles on each failure (up to 4 hours)",
        )
        add(
            "--delay-warning",
            type=float,
            default=4 * 3600.0,
            metavar="SECONDS",
            help="tell the sender when a message waits this long in the relay queue (DSN "
            "'delayed', repeated at most once per period; unless NOTIFY leaves out DELAY; 0: never)",
        )
        add(
            "--relay-batch",
            type=int,
            default=10,
            metavar="N",
            help="send up to N queued messages for one domain over one connection",
        )
        add(
            "--insecure-auth",
            action="store_true",
            help="offer SMTP AUTH, POP3 and IMAP4 logins without TLS (passwords in clear text: "
            "tests only)",
        )
        add("--max-message-size", type=int, default=None, metavar="BYTES")

    def listeningEndpoints(self, options: argparse.Namespace) -> list[str]:
        """The SMTP and submission endpoints, for ``glisten --workers``.

        :raises ValueError: with ``--relay``: the queue has one relaying manager, which
            several processes would run at once.
        """
        if options.relay:
            raise ValueError(
                "--relay keeps one queue with one relaying manager; "
                "run a relaying glisten mail in one process"
            )
        return _smtpEndpoints(options) + list(options.submission)

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> IService:
        """:raises ValueError: for options that cannot work together."""
        # ``glisten`` has installed the reactor the user chose before calling this.
        reactor = getReactor(reactor)
        service = mail.MailService()
        lastDomain: Any = None
        for kind, value in getattr(options, "ordered", None) or []:
            if kind == "maildirdbmdomain":
                name, path = value
                lastDomain = maildir.MaildirDirdbmDomain(
                    service, path, postmaster=options.bounce_to_postmaster
                )
                lastDomain.reactor = reactor
                service.addDomain(name, lastDomain)
            elif lastDomain is None:
                raise ValueError(f"--{kind} must follow a --maildirdbmdomain")
            elif kind == "user":
                lastDomain.addUser(*value)
            elif kind == "aliases":
                lastDomain.setAliasGroup(alias.loadAliasFile(service.domains, value))
        for description in options.auth:
            service.addChecker(makeChecker(description))
        service.relayNetworks = list(options.relay_network)
        context = None
        if options.certificate:
            from glisten.internet import ssl

            context = ssl.DefaultOpenSSLContextFactory(options.certificate, options.certificate)
        if options.submission and context is None and not options.insecure_auth:
            raise ValueError("--submission needs --certificate (or --insecure-auth)")
        hostname = options.hostname.encode("idna") if options.hostname else smtp.DNSNAME
        limits = (
            smtp.Limits(maxMessageSize=options.max_message_size)
            if options.max_message_size
            else None
        )
        if options.relay:
            queue = relaymanager.Queue(options.relay, reactor)
            service.setQueue(queue)
            postmaster = None
            if options.bounce_to_postmaster:
                domain = next(iter(dict.keys(service.domains)), hostname)
                postmaster = "postmaster@" + domain.decode("idna")
            manager = relaymanager.SmartHostSMTPRelayingManager(
                queue,
                smartHostAddr=options.smarthost,
                reactor=reactor,
                bounceTo=postmaster,
                localDelivery=_localDelivery(service),
                identity=hostname,
                retryBase=options.relay_retry,
                delayWarning=options.delay_warning or None,
                maxMessagesPerConnection=max(1, options.relay_batch),
                tlsPolicy={d.lower(): "verify" for d in options.tls_verify},
            )
            relaymanager.RelayStateHelper(manager, options.relay_interval).setServiceParent(service)
            queue.listeners.append(lambda: reactor.callLater(0, manager.checkState))

        def factory(submission: bool) -> Any:
            f: Any
            if options.esmtp or submission or context is not None:
                f = protocols.ESMTPFactory(service, context=context)
                f.authOverPlaintext = options.insecure_auth
                f.requireAuthentication = submission
            else:
                f = protocols.SMTPFactory(service)
            f.domain = hostname
            f.limits = limits
            return f

        from glisten.internet.endpoints import serverFromString

        for description in _smtpEndpoints(options):
            StreamServerEndpointService(
                serverFromString(reactor, description), factory(False)
            ).setServiceParent(service)
        for description in options.submission:
            StreamServerEndpointService(
                serverFromString(reactor, description), factory(True)
            ).setServiceParent(service)
        for description in options.imap:
            imapFactory = protocols.IMAP4Factory(service, context)
            imapFactory.authOverPlaintext = options.insecure_auth
            StreamServerEndpointService(
                serverFromString(reactor, description), imapFactory
            ).setServiceParent(service)
        for description in options.pop3:
            pop3Factory = protocols.POP3Factory(service, context)
            pop3Factory.authOverPlaintext = options.insecure_auth
            StreamServerEndpointService(
                serverFromString(reactor, description), pop3Factory
            ).setServiceParent(service)
        return service


def _smtpEndpoints(options: argparse.Namespace) -> list[str]:
    return [] if options.no_smtp else list(options.smtp or ["tcp:8025"])


#: The object the ``glisten.plugins`` entry point ``mail`` names.
mailPlugin = MailServiceMaker()
