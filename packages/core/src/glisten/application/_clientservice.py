"""A service that keeps one client connection up, reconnecting with backoff."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from glisten.internet.main import getReactor

from ..logger import Logger
from .service import Service

_log = Logger()


class _State(enum.Enum):
    stopped = "stopped"
    connecting = "connecting"  # endpoint.connect in progress
    preparing = "preparing"  # connected, prepareConnection in progress
    connected = "connected"
    waiting = "waiting"  # retry delay
    stopping = "stopping"  # waiting for the connection (or attempt) to go away


class _LossNotifyingFactory:
    """Wraps the user's factory so the service hears when each connection is lost."""

    def __init__(self, factory: Any, onLost: Callable[[Any, Any], None]) -> None:
        self._factory = factory
        self._onLost = onLost

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory, name)

    def doStart(self) -> None:
        self._factory.doStart()

    def doStop(self) -> None:
        self._factory.doStop()

    def buildProtocol(self, addr: Any) -> Any:
        protocol = self._factory.buildProtocol(addr)
        if protocol is None:
            return None
        original = protocol.connectionLost
        onLost = self._onLost

        def connectionLost(reason: Any) -> None:
            try:
                original(reason)
            finally:
                onLost(protocol, reason)

        protocol.connectionLost = connectionLost
        return protocol


class ClientService(Service):
    """Keeps a connection to ``endpoint`` open while running, reconnecting when it drops.

    Failed attempts are retried after ``retryPolicy(failedAttempts)`` seconds (jittered
    exponential backoff by default); a lost connection is retried the same way.

    :param endpoint: an ``IStreamClientEndpoint``.
    :param factory: builds the protocol for each connection.
    :param retryPolicy: failed attempts so far -> seconds to wait.
    :param clock: the reactor for delays; the global reactor if ``None``.
    :param prepareConnection: called with each new protocol; the connection counts as
        established (for :meth:`whenConnected`) once its result (maybe a Deferred) is ready.
        If it fails, the connection is closed and retried.
    """

    def __init__(
        self,
        endpoint: Any,
        factory: Any,
        retryPolicy: Callable[[int], float] | None = None,
        clock: Any = None,
        prepareConnection: Callable[[Any], Any] | None = None,
    ) -> None:
        from .internet import _defaultPolicy

        self._endpoint = endpoint
        self._factory = factory
        self._retryPolicy = retryPolicy if retryPolicy is not None else _defaultPolicy
        self._clock = clock
        self._prepareConnection = prepareConnection
        self._state = _State.stopped
        self._failedAttempts = 0
        self._attempt: Any = None
        self._retryCall: Any = None
        self._protocol: Any = None
        self._waiters: list[tuple[Any, int | None]] = []
        self._stopWaiters: list[Any] = []

    def startService(self) -> None:
        if self.running:
            return
        Service.startService(self)
        self._clock = getReactor(self._clock)
        if self._state is _State.stopped:
            self._failedAttempts = 0
            self._connect()

    # -- connecting

    def _connect(self) -> None:
        from ..internet.defer import maybeDeferred

        self._state = _State.connecting
        self._retryCall = None
        factory = _LossNotifyingFactory(self._factory, self._connectionLost)
        attempt = maybeDeferred(self._endpoint.connect, factory)
        self._attempt = attempt
        attempt.addCallbacks(self._connectionMade, self._connectionFailed)

    def _connectionMade(self, protocol: Any) -> None:
        from ..internet.defer import maybeDeferred

        self._attempt = None
        self._protocol = protocol
        if self._state is _State.stopping:
            protocol.transport.loseConnection()
            return
        if self._prepareConnection is None:
            self._established(protocol)
            return
        self._state = _State.preparing
        prepared = maybeDeferred(self._prepareConnection, protocol)
        prepared.addCallbacks(
            lambda _: self._established(protocol),
            lambda f: self._prepareFailed(protocol, f),
        )

    def _established(self, protocol: Any) -> None:
        if self._state is not _State.preparing and self._state is not _State.connecting:
            return
        if self._protocol is not protocol:
            return
        self._state = _State.connected
        self._failedAttempts = 0
        waiters, self._waiters = self._waiters, []
        for d, _ in waiters:
            d.callback(protocol)

    def _prepareFailed(self, protocol: Any, failure: Any) -> None:
        if self._protocol is not protocol or self._state is not _State.preparing:
            return
        _log.failure("prepareConnection failed for {protocol}", failure, protocol=protocol)
        self._countFailure(failure)
        protocol.transport.loseConnection()

    def _connectionFailed(self, failure: Any) -> None:
        from ..internet.defer import CancelledError

        self._attempt = None
        if self._state is _State.stopping:
            self._finishStopping()
            return
        if not failure.check(CancelledError):
            _log.info(
                "Connection to {endpoint} failed: {reason}",
                endpoint=self._endpoint,
                reason=failure.getErrorMessage(),
            )
        self._countFailure(failure)
        self._wait()

    def _countFailure(self, failure: Any) -> None:
        self._failedAttempts += 1
        keep: list[tuple[Any, int | None]] = []
        for d, failAfter in self._waiters:
            if failAfter is not None and failAfter <= self._failedAttempts:
                d.errback(failure)
            else:
                keep.append((d, failAfter))
        self._waiters = keep

    def _wait(self) -> None:
        self._state = _State.waiting
        delay = self._retryPolicy(self._failedAttempts)
        self._retryCall = self._clock.callLater(delay, self._connect)

    def _connectionLost(self, protocol: Any, reason: Any) -> None:
        if protocol is not self._protocol:
            return
        self._protocol = None
        if self._state is _State.stopping:
            self._finishStopping()
        elif self._state is _State.preparing:
            # Lost during preparation (or closed because it failed): a failed attempt.
            if self._failedAttempts == 0:
                self._countFailure(reason)
            self._wait()
        elif self._state is _State.connected:
            self._wait()

    # -- public API

    def whenConnected(self, failAfterFailures: int | None = None) -> Any:
        """A Deferred firing with the connected protocol (at once if there is one).

        :param failAfterFailures: fail the Deferred with the connection error once this many
            consecutive attempts have failed; ``None`` waits for a connection indefinitely.
        :return: fails with ``CancelledError`` if the service is stopped first.
        """
        from ..internet.defer import CancelledError, Deferred, fail, succeed

        if self._state is _State.connected:
            return succeed(self._protocol)
        if self._state is _State.stopped or self._state is _State.stopping:
            return fail(CancelledError())

        def cancel(d: Any) -> None:
            self._waiters = [(w, n) for (w, n) in self._waiters if w is not d]

        d: Any = Deferred(cancel)
        self._waiters.append((d, failAfterFailures))
        return d

    def stopService(self) -> Any:
        """Stop connecting, or close the connection; fires once it is closed.

        Pending :meth:`whenConnected` Deferreds fail with ``CancelledError``.
        """
        from ..internet.defer import CancelledError, Deferred, succeed

        if not self.running and self._state is _State.stopped:
            return succeed(None)
        Service.stopService(self)
        waiters, self._waiters = self._waiters, []
        for d, _ in waiters:
            d.errback(CancelledError())
        done: Any = Deferred()
        state = self._state
        if state is _State.stopping:
            self._stopWaiters.append(done)
            return done
        self._state = _State.stopping
        self._stopWaiters.append(done)
        if state is _State.connecting:
            self._attempt.cancel()
        elif state is _State.waiting:
            if self._retryCall is not None and self._retryCall.active():
                self._retryCall.cancel()
            self._retryCall = None
            self._finishStopping()
        elif state in (_State.connected, _State.preparing):
            self._protocol.transport.loseConnection()
        else:
            self._finishStopping()
        return done

    def _finishStopping(self) -> None:
        self._state = _State.stopped
        stopWaiters, self._stopWaiters = self._stopWaiters, []
        for d in stopWaiters:
            d.callback(None)
