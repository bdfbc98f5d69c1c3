"""Relaying queued mail to other hosts (Twisted's ``twisted.mail.relaymanager``).

:class:`Queue` keeps messages durably on disk; :class:`SmartHostSMTPRelayingManager` takes
them out: through a smart host if one is set, else to the domain's mail exchangers found with
:class:`MXCalculator` (glisten-names; with the RFC 5321 5.1 fallback to the domain's own
address records, and RFC 7505 null MX as a permanent failure). Failed attempts are retried
with exponential back-off; recipients refused for good, and messages still undelivered when
they expire, go back to the sender as RFC 3464 bounces.
"""

from __future__ import annotations

import time
from typing import Any

from glisten.application import internet as app_internet
from glisten.internet import defer, endpoints, error
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.mail import smtp
from glisten.mail._queue import Envelope, FileMessage, Queue
from glisten.mail._relayclient import BatchResult, BatchSenderFactory, Outcome, Outgoing
from glisten.mail.bounce import generateBounce
from glisten.python.failure import Failure

_log = Logger(namespace="glisten.mail.relaymanager")


class CanonicalNameLoop(Exception):
    """CNAMEs pointed at each other while looking for mail exchangers."""


class CanonicalNameChainTooLong(Exception):
    """Too many CNAMEs while looking for mail exchangers."""


class _PermanentFailure(Exception):
    """Delivery to a domain can never work (no such domain, null MX)."""


class MXCalculator:
    """Finds the mail exchangers of a domain.

    :param resolver: A glisten-names resolver (``lookupMailExchange``); the system's by
        default.
    :ivar timeOutBadMX: Seconds a host marked bad is skipped.
    :ivar fallbackToDomain: With no MX records, use the domain itself (RFC 5321 5.1).
    """

    timeOutBadMX = 60 * 60
    fallbackToDomain = True

    def __init__(self, resolver: Any = None, clock: Any = None) -> None:
        self._resolver = resolver
        self.clock = clock
        self.badMXs: dict[str, float] = {}

    @property
    def resolver(self) -> Any:
        if self._resolver is None:
            from glisten.names import client

            self._resolver = client.createResolver()
        return self._resolver

    def _now(self) -> float:
        return self.clock.seconds() if self.clock is not None else time.time()

    def markBad(self, mx: str) -> None:
        self.badMXs[str(mx)] = self._now() + self.timeOutBadMX

    def markGood(self, mx: str) -> None:
        self.badMXs.pop(str(mx), None)

    async def getMXAll(self, domain: str) -> list[str]:
        """:return: the exchangers of ``domain``, best first, bad ones last.

        :raises _PermanentFailure: for a domain that does not exist or refuses mail.
        """
        from glisten.names import error as dnserror

        if domain.startswith("["):
            return [domain[1:-1].removeprefix("IPv6:").removeprefix("ipv6:")]
        try:
            answers, _auth, _add = await self.resolver.lookupMailExchange(domain)
        except dnserror.DNSNameError:
            raise _PermanentFailure(f"no such domain {domain}") from None
        records = sorted(
            (a.payload.preference, str(a.payload.name).rstrip("."))
            for a in answers
            if getattr(a.payload, "preference", None) is not None
        )
        if len(records) == 1 and records[0][1] in ("", "."):
            raise _PermanentFailure(f"{domain} accepts no mail (null MX)")
        hosts = [h for _p, h in records if h]
        if not hosts:
            if not self.fallbackToDomain:
                raise _PermanentFailure(f"no MX for {domain}")
            hosts = [domain]
        now = self._now()
        good = [h for h in hosts if self.badMXs.get(h, 0) <= now]
        return good + [h for h in hosts if h not in good]

    def getMX(self, domain: str, maximumCanonicalChainLength: int = 3) -> defer.Deferred[Any]:
        """:return: a Deferred firing with the best exchanger's name."""
        return defer.ensureDeferred(self.getMXAll(domain)).addCallback(lambda hosts: hosts[0])


class SmartHostSMTPRelayingManager:
    """Delivers the messages of a :class:`Queue`.

    :param queue: The queue.
    :param maxConnections: Deliveries at the same time.
    :param maxMessagesPerConnection: Due messages for one domain sent over one connection,
        one transaction each.
    :param smartHostAddr: ``(host, port)`` to send everything to, else MX lookups.
    :param reactor: The reactor (the global one by default).
    :param resolver: A glisten-names resolver for MX lookups.
    :param expiry: Seconds after which an undelivered message bounces.
    :param retryBase: The first retry delay; each failure doubles it.
    :param retryMax: The longest retry delay.
    :param tlsPolicy: Domain -> ``"verify"`` to demand STARTTLS with a certificate valid for
        the exchanger (an MTA-STS-like policy); other domains get opportunistic TLS.
    :param port: The port of exchangers (25).
    :param bounceTo: Send bounces here instead of to the sender (``--bounce-to-postmaster``).
    :param localDelivery: ``callable(envelope, path) -> Deferred | None``; a non-``None``
        result means the message's domain is local and was delivered by it.
    :param identity: The name to give in ``EHLO``.
    :param delayWarning: Seconds a message may wait in the queue before its sender is told
        it is delayed (RFC 3464 ``Action: delayed``; at most once per recipient per period,
        checked after each failed attempt and at each :meth:`checkState`); ``None`` or
        ``0``: never.
    """

    PORT = 25

    def __init__(
        self,
        queue: Queue,
        maxConnections: int = 2,
        maxMessagesPerConnection: int = 10,
        *,
        smartHostAddr: tuple[str, int] | None = None,
        reactor: Any = None,
        resolver: Any = None,
        expiry: float = 5 * 86400,
        retryBase: float = 60,
        retryMax: float = 4 * 3600,
        tlsPolicy: dict[str, str] | None = None,
        port: int = PORT,
        bounceTo: str | None = None,
        localDelivery: Any = None,
        identity: bytes | None = None,
        delayWarning: float | None = 4 * 3600,
    ) -> None:
        self.queue = queue
        self.maxConnections = maxConnections
        self.maxMessagesPerConnection = maxMessagesPerConnection
        self.smartHostAddr = smartHostAddr
        self._reactor = reactor
        self.mxcalc = MXCalculator(resolver, clock=reactor)
        self.expiry = expiry
        self.retryBase = retryBase
        self.retryMax = retryMax
        self.tlsPolicy = tlsPolicy or {}
        self.port = port
        self.bounceTo = bounceTo
        self.localDelivery = localDelivery
        self.identity = identity
        self.delayWarning = delayWarning
        self._active = 0
        self._idle: list[defer.Deferred[None]] = []

    @property
    def reactor(self) -> Any:
        self._reactor = getReactor(self._reactor)
        return self._reactor

    def _now(self) -> float:
        return float(self.reactor.seconds())

    def retryDelay(self, attempts: int) -> float:
        """:return: seconds to wait after the ``attempts``-th failure."""
        return float(min(self.retryBase * 2 ** max(0, attempts - 1), self.retryMax))

    def checkState(self) -> None:
        """Start deliveries that are due, up to ``maxConnections`` at once.

        Due messages for one domain go out together: up to ``maxMessagesPerConnection`` of
        them over one connection.
        """
        now = time.time()
        byDomain: dict[str, list[str]] = {}
        for name in sorted(self.queue.getWaiting()):
            envelope = self.queue.getEnvelope(name)
            if envelope.nextAttempt <= now:
                byDomain.setdefault(envelope.domain, []).append(name)
            elif self._noticeDelay(name, envelope, envelope.lastError):
                # Late while it waits for its next attempt (hours away, with back-off).
                self.queue.updateEnvelope(name, envelope)
        size = max(1, self.maxMessagesPerConnection)
        for domain, names in byDomain.items():
            for start in range(0, len(names), size):
                if self._active >= self.maxConnections:
                    return
                # Some may be taken (or finished) by a nested call while this loop ran.
                batch = [n for n in names[start : start + size] if n in self.queue.waiting]
                if not batch:
                    continue
                for name in batch:
                    self.queue.setRelaying(name)
                self._active += 1
                d = defer.ensureDeferred(self._deliverBatch(domain, batch))
                d.addErrback(self._crashed, batch)
                d.addBoth(self._finished)

    def _crashed(self, failure: Any, names: list[str]) -> None:
        for name in names:
            _log.failure("Relaying {id} failed", failure, id=name)
            if name not in self.queue.relayed:
                continue
            try:
                # Counted as an attempt, so a bug that always strikes backs off too.
                self._tempFail(name, self.queue.getEnvelope(name), "internal error")
            except Exception:
                _log.failure("Deferring {id} failed", id=name)
                if name in self.queue.relayed:
                    self.queue.setWaiting(name)

    def _finished(self, _: Any) -> None:
        self._active -= 1
        self.checkState()
        if not self._active:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def whenIdle(self) -> defer.Deferred[None]:
        """:return: a Deferred firing when no delivery is running (for tests and shutdown)."""
        if not self._active:
            return defer.succeed(None)
        d: defer.Deferred[None] = defer.Deferred()
        self._idle.append(d)
        return d

    # -- one batch: messages for one domain ---------------------------------------------

    async def _deliverBatch(self, domain: str, names: list[str]) -> None:
        remaining: list[tuple[str, Envelope]] = []
        for name in names:
            envelope = self.queue.getEnvelope(name)
            if not await self._deliverLocally(name, envelope):
                remaining.append((name, envelope))
        if not remaining:
            return
        try:
            hosts = await self._hosts(domain)
        except _PermanentFailure as e:
            for name, envelope in remaining:
                self._bounce(name, envelope, envelope.recipients, str(e), "5.1.2")
            return
        except Exception as e:
            for name, envelope in remaining:
                self._tempFail(name, envelope, f"MX lookup failed: {type(e).__name__}")
            return
        lastError = "no exchanger answered"
        for host, port in hosts:
            try:
                result = await self._send(host, port, domain, remaining)
            except Exception as e:
                # Could not even start (a bad host name for TLS, say): the next one may do.
                self.mxcalc.markBad(host)
                lastError = f"{host}: {type(e).__name__}: {e}"
                continue
            if result.outcomes:
                self.mxcalc.markGood(host)
            unanswered = []
            for name, envelope in remaining:
                outcome = result.outcomes.get(name)
                if outcome is None:
                    unanswered.append((name, envelope))
                else:
                    self._settleOutcome(name, envelope, host, outcome, result.dsn)
            remaining = unanswered
            if not remaining:
                return
            # The session ended before these were answered: the next exchanger may do better.
            error = result.error
            if error is None:
                lastError = f"{host}: the session ended before the message was answered"
            else:
                if not result.outcomes:
                    self.mxcalc.markBad(host)
                lastError = f"{host}: {type(error).__name__}: {error}"
        for name, envelope in remaining:
            self._tempFail(name, envelope, lastError)

    async def _deliverLocally(self, name: str, envelope: Envelope) -> bool:
        """:return: whether the message was local (delivered, bounced or deferred here)."""
        if self.localDelivery is None:
            return False
        path = self.queue.getPath(name)
        try:
            local = self.localDelivery(envelope, path)
            if local is None:
                return False
            await local
        except smtp.SMTPBadRcpt as e:
            self._bounce(name, envelope, envelope.recipients, str(e), "5.1.1")
            return True
        except Exception as e:
            sub = getattr(e, "subFailure", None)
            if isinstance(sub, Failure) and sub.check(smtp.SMTPBadRcpt):
                self._bounce(name, envelope, envelope.recipients, "no such user", "5.1.1")
            else:
                self._tempFail(name, envelope, f"local delivery failed: {e}")
            return True
        _log.info("Delivered {id} locally", id=name)
        self.queue.done(name)
        return True

    async def _hosts(self, domain: str) -> list[tuple[str, int]]:
        if self.smartHostAddr is not None:
            return [self.smartHostAddr]
        return [(h, self.port) for h in await self.mxcalc.getMXAll(domain)]

    def _send(
        self, host: str, port: int, domain: str, messages: list[tuple[str, Envelope]]
    ) -> defer.Deferred[BatchResult]:
        """Send ``messages`` over one connection to ``host``.

        :return: a Deferred firing with the session's :class:`BatchResult` (never failing).
        """
        from glisten.internet import ssl

        verify = self.tlsPolicy.get(domain) == "verify"
        context = ssl.optionsForClientTLS(host) if verify else ssl.ClientContextFactory()
        batch = [
            Outgoing(
                name,
                envelope.sender,
                list(envelope.recipients),
                self.queue.getPath(name),
                {"ret": envelope.ret, "envid": envelope.envid, "notify": envelope.notify},
            )
            for name, envelope in messages
        ]
        factory = BatchSenderFactory(
            batch, context, self.identity, requireTransportSecurity=verify, timeout=300
        )
        # Every address of the exchanger, IPv6 and IPv4 (RFC 5321 5.1: try them all), not
        # only the first IPv4 one a plain connectTCP would resolve.
        endpoint = endpoints.HostnameEndpoint(self.reactor, host, port, timeout=30)
        endpoint.connect(factory).addErrback(
            lambda failure: factory.clientConnectionFailed(None, failure)
        )
        return factory.deferred

    def _settleOutcome(
        self, name: str, envelope: Envelope, host: str, outcome: Outcome, dsn: bool = True
    ) -> None:
        if isinstance(outcome, smtp.SMTPDeliveryError):
            results = list(outcome.addresses or [])
            if not results:
                # The sender (or the message) was refused: that decides for every recipient.
                if outcome.code >= 500:
                    self._bounce(name, envelope, envelope.recipients, str(outcome), "5.0.0")
                else:
                    self._tempFail(name, envelope, f"{host}: {outcome}")
                return
            if any(200 <= c < 300 for _a, c, _r in results):
                # Refused after the recipients were taken: the data's reply decides for them.
                results = [
                    (a, outcome.code, outcome.resp) if 200 <= c < 300 else (a, c, r)
                    for a, c, r in results
                ]
        else:
            results = outcome
        self._settle(name, envelope, host, results, dsn)

    def _settle(
        self, name: str, envelope: Envelope, host: str, results: list[Any], dsn: bool = True
    ) -> None:
        accepted = {
            str(a.decode() if isinstance(a, bytes) else a) for a, c, _ in results if 200 <= c < 300
        }
        permanent = [
            (a.decode() if isinstance(a, bytes) else str(a), c, r)
            for a, c, r in results
            if c >= 500
        ]
        temporary = [
            (a.decode() if isinstance(a, bytes) else str(a), c, r)
            for a, c, r in results
            if 400 <= c < 500
        ]
        if not results:
            accepted = set(envelope.recipients)
        _log.info(
            "Delivered {id} to {host} for {n} recipient(s)", id=name, host=host, n=len(accepted)
        )
        if accepted and not dsn and "SUCCESS" in envelope.notify and envelope.sender:
            # RFC 3461 5.2.2: the next hop will not report success, so say it was relayed.
            relayed = [r for r in envelope.recipients if r in accepted]
            notice = self._report(
                name, envelope, relayed, f"relayed to {host}", "2.0.0", action="relayed"
            )
            _log.info("Told the sender {id} was relayed, as {notice}", id=name, notice=notice)
        if permanent:
            self._bounceOnly(
                name,
                envelope,
                [a for a, _c, _r in permanent],
                "; ".join(f"{c} {r!r}" for _a, c, r in permanent),
            )
        if temporary:
            remaining = [a for a, _c, _r in temporary]
            envelope.recipients = remaining
            self._tempFail(name, envelope, "; ".join(f"{c} {r!r}" for _a, c, r in temporary))
            return
        self.queue.done(name)

    def _tempFail(self, name: str, envelope: Envelope, reason: str) -> None:
        envelope.attempts += 1
        envelope.lastError = reason[:500]
        if time.time() - envelope.created >= self.expiry:
            self._bounce(
                name,
                envelope,
                envelope.recipients,
                f"gave up after {envelope.attempts} attempts: {reason}",
                "4.4.7",
            )
            return
        envelope.nextAttempt = time.time() + self.retryDelay(envelope.attempts)
        self._noticeDelay(name, envelope, reason)
        self.queue.updateEnvelope(name, envelope)
        self.queue.setWaiting(name)
        _log.info(
            "Deferred {id} (attempt {n}): {reason}", id=name, n=envelope.attempts, reason=reason
        )

    def _noticeDelay(self, name: str, envelope: Envelope, reason: str) -> bool:
        """Tell the sender the message is late (RFC 3464 ``Action: delayed``), once per
        recipient per ``delayWarning`` period, for recipients whose ``NOTIFY`` includes
        ``DELAY`` (or who gave no ``NOTIFY``: RFC 3461 4.1 lets that mean FAILURE,DELAY).
        The caller stores the envelope, and with it when each recipient was told.

        :return: whether a notice was queued.
        """
        period = self.delayWarning
        if not period or not envelope.sender:
            return False
        if envelope.notify and "DELAY" not in envelope.notify:
            return False
        now = time.time()
        due = [
            r
            for r in envelope.recipients
            if now - envelope.delayNotified.get(r, envelope.created) >= period
        ]
        if not due:
            return False
        notice = self._report(
            name,
            envelope,
            due,
            f"still trying after {envelope.attempts} attempt(s): {reason}",
            "4.0.0",
            action="delayed",
        )
        for r in due:
            envelope.delayNotified[r] = now
        _log.info(
            "Told {to} that {id} is delayed for {n} recipient(s), as {notice}",
            to=self.bounceTo or envelope.sender,
            id=name,
            n=len(due),
            notice=notice,
        )
        return True

    def _bounce(
        self, name: str, envelope: Envelope, failed: list[str], reason: str, status: str
    ) -> None:
        self._bounceOnly(name, envelope, failed, reason, status)
        self.queue.done(name)

    def _bounceOnly(
        self, name: str, envelope: Envelope, failed: list[str], reason: str, status: str = "5.0.0"
    ) -> None:
        if not envelope.sender:
            _log.warn("Dropped bounce {id}: {reason}", id=name, reason=reason)
            return
        if envelope.notify and "FAILURE" not in envelope.notify:
            # RFC 3461: NOTIFY=NEVER (or only SUCCESS/DELAY) asks for no failure report.
            _log.info("No bounce for {id}: NOTIFY={n}", id=name, n=",".join(envelope.notify))
            return
        bounce = self._report(name, envelope, failed, reason, status)
        _log.info(
            "Bounced {id} for {n} recipient(s) to {to} as {bounce}",
            id=name,
            n=len(failed),
            to=self.bounceTo or envelope.sender,
            bounce=bounce,
        )

    def _report(
        self,
        name: str,
        envelope: Envelope,
        recipients: list[str],
        reason: str,
        status: str,
        action: str = "failed",
    ) -> str:
        """Queue an RFC 3464 report about ``recipients`` of message ``name`` for its sender.

        :return: the report's queue id.
        """
        with open(self.queue.getPath(name), "rb") as f:
            original = f.read()
        to = self.bounceTo or envelope.sender
        _from, _to, text = generateBounce(
            original,
            to,
            recipients,
            reason,
            ret=envelope.ret,
            envid=envelope.envid,
            status=status,
            arrival=envelope.created,
            action=action,
            retryUntil=envelope.created + self.expiry,
        )
        message = self.queue.createNewMessage("", [to])
        for line in text.split(b"\r\n"):
            message.lineReceived(line)
        message.eomReceived()
        return message.name


#: Twisted's name for the ESMTP flavour: the manager always speaks ESMTP (with HELO fallback).
SmartHostESMTPRelayingManager = SmartHostSMTPRelayingManager


class RelayStateHelper(app_internet.TimerService):
    """Calls ``manager.checkState`` every ``interval`` seconds (Twisted's name)."""

    def __init__(self, manager: SmartHostSMTPRelayingManager, interval: float) -> None:
        super().__init__(interval, manager.checkState)
        self.manager = manager


__all__ = [
    "CanonicalNameChainTooLong",
    "CanonicalNameLoop",
    "Envelope",
    "FileMessage",
    "MXCalculator",
    "Queue",
    "RelayStateHelper",
    "SmartHostESMTPRelayingManager",
    "SmartHostSMTPRelayingManager",
    "error",
]
