"""Services that listen, connect and repeat: the networking members of a service tree."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from glisten.internet.main import getReactor

from ..logger import Logger
from .service import Service

_log = Logger()


class StreamServerEndpointService(Service):
    """Listens on ``endpoint`` with ``factory`` while running.

    Listening starts in :meth:`privilegedStartService` (so a low port can be bound before
    privileges are dropped). A listen error is logged; with ``_raiseSynchronously`` set (the
    ``glisten`` runner sets it) an error that happens at once is raised instead, so the
    command can fail with it.
    """

    _raiseSynchronously = False

    def __init__(self, endpoint: Any, factory: Any) -> None:
        self.endpoint = endpoint
        self.factory = factory
        self._waitingForPort: Any = None

    def privilegedStartService(self) -> None:
        Service.privilegedStartService(self)
        self._waitingForPort = self.endpoint.listen(self.factory)
        raisedNow: list[Any] = []

        def handleIt(err: Any) -> None:
            from ..internet.defer import CancelledError

            if self._raiseSynchronously:
                raisedNow.append(err)
            elif not err.check(CancelledError):
                _log.failure("Error listening on {endpoint}", err, endpoint=self.endpoint)

        self._waitingForPort.addErrback(handleIt)
        if raisedNow:
            raisedNow[0].raiseException()

    def startService(self) -> None:
        Service.startService(self)
        if self._waitingForPort is None:
            self.privilegedStartService()

    def stopService(self) -> Any:
        """Stop listening (or stop trying to); the Deferred fires once the port is closed."""
        from ..internet.defer import succeed

        if self._waitingForPort is None:
            Service.stopService(self)
            return succeed(None)
        self._waitingForPort.cancel()

        def stopIt(port: Any) -> Any:
            if port is not None:
                return port.stopListening()
            return None

        d = self._waitingForPort.addCallback(stopIt)
        self._waitingForPort = None

        def stopped(passthrough: Any) -> Any:
            self.running = False
            return passthrough

        d.addBoth(stopped)
        return d


class TimerService(Service):
    """Calls ``callable(*args, **kwargs)`` every ``step`` seconds while running, first at once.

    If the call raises (or its Deferred fails), the failure is logged and the timer stops.

    :ivar clock: the reactor to schedule on; the global reactor if ``None``.
    """

    clock: Any = None

    def __init__(self, step: float, callable: Callable[..., Any], *args: Any, **kwargs: Any):
        self.step = step
        self.call = (callable, args, kwargs)
        self._loop: Any = None
        self._loopFinished: Any = None

    def startService(self) -> None:
        from ..internet.task import LoopingCall

        Service.startService(self)
        callable, args, kwargs = self.call
        self._loop = LoopingCall(callable, *args, **kwargs)
        self._loop.clock = getReactor(self.clock)
        self._loopFinished = self._loop.start(self.step, now=True)
        self._loopFinished.addErrback(self._failed)

    def _failed(self, why: Any) -> None:
        self._loop.running = False
        _log.failure("Timed call {call} failed", why, call=self.call[0])

    def stopService(self) -> Any:
        """Stop the timer; the Deferred fires after a call in progress has finished."""
        from ..internet.defer import succeed

        if self._loop is None:
            Service.stopService(self)
            return succeed(None)
        if self._loop.running:
            self._loop.stop()
        d = self._loopFinished
        d.addCallback(lambda _: Service.stopService(self))
        return d


def backoffPolicy(
    initialDelay: float = 1.0,
    maxDelay: float = 60.0,
    factor: float = 1.5,
    jitter: Callable[[], float] = random.random,
) -> Callable[[int], float]:
    """A retry policy: exponential growth from ``initialDelay`` up to ``maxDelay``, plus jitter.

    The jitter (one random second by default) keeps many clients that lost the same server
    from reconnecting in lock step.

    :return: a function from the number of failed attempts to the delay in seconds.
    """

    def policy(attempt: int) -> float:
        try:
            delay = min(initialDelay * (factor ** min(100, attempt)), maxDelay)
        except OverflowError:
            delay = maxDelay
        return delay + jitter()

    return policy


_defaultPolicy = backoffPolicy()

from ._clientservice import ClientService  # noqa: E402
from ._oldstyle import (  # noqa: E402
    SSLClient,
    SSLServer,
    TCPClient,
    TCPServer,
    UDPServer,
    UNIXClient,
    UNIXDatagramServer,
    UNIXServer,
)

__all__ = [
    "ClientService",
    "SSLClient",
    "SSLServer",
    "StreamServerEndpointService",
    "TCPClient",
    "TCPServer",
    "TimerService",
    "UDPServer",
    "UNIXClient",
    "UNIXDatagramServer",
    "UNIXServer",
    "backoffPolicy",
]
