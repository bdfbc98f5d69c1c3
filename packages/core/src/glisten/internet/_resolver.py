"""
Hostname resolution: ``getaddrinfo`` in the reactor's thread pool, and adapters between the
many-address (IHostnameResolver) and one-address (IResolverSimple) resolver interfaces.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from typing import Any

from zope.interface import implementer

from glisten.internet import error
from glisten.internet.address import IPv4Address, IPv6Address
from glisten.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
    IResolverSimple,
)


@implementer(IHostResolution)
class HostResolution:
    """
    One resolution in progress; cancelling it completes the receiver at once and drops the
    late result.
    """

    def __init__(self, name: str, onCancel: Callable[[], None] | None = None) -> None:
        self.name = name
        self._onCancel = onCancel
        self.cancelled = False

    def cancel(self) -> None:
        if self.cancelled:
            return
        self.cancelled = True
        if self._onCancel is not None:
            self._onCancel()


_socktypes = {"TCP": socket.SOCK_STREAM, "UDP": socket.SOCK_DGRAM}
_families: dict[type, int] = {IPv4Address: socket.AF_INET, IPv6Address: socket.AF_INET6}


def _familyFor(addressTypes: Sequence[type] | None) -> int:
    if not addressTypes:
        return socket.AF_UNSPEC
    fams = {_families[t] for t in addressTypes if t in _families}
    if len(fams) == 1:
        return fams.pop()
    return socket.AF_UNSPEC


@implementer(IHostnameResolver)
class GAIResolver:
    """
    Resolve names with ``socket.getaddrinfo`` in the reactor's thread pool.
    """

    def __init__(
        self,
        reactor: Any,
        getThreadPool: Callable[[], Any] | None = None,
        getaddrinfo: Callable[..., Any] = socket.getaddrinfo,
    ) -> None:
        self._reactor = reactor
        self._getThreadPool = getThreadPool or reactor.getThreadPool
        self._getaddrinfo = getaddrinfo

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> IResolutionReceiver:
        """
        See :class:`~glisten.internet.interfaces.IHostnameResolver`. Failures (unknown names)
        end in ``resolutionComplete`` with no address, as in Twisted.
        """
        from glisten.internet.threads import deferToThreadPool

        family = _familyFor(addressTypes)
        socktype = _socktypes.get(transportSemantics, socket.SOCK_STREAM)
        finished = False

        def complete() -> None:
            nonlocal finished
            if not finished:
                finished = True
                resolutionReceiver.resolutionComplete()

        resolution = HostResolution(hostName, complete)
        resolutionReceiver.resolutionBegan(resolution)
        if isinstance(hostName, bytes):
            hostName = hostName.decode("ascii", "replace")

        def get() -> list[Any]:
            try:
                return self._getaddrinfo(hostName, portNumber, family, socktype)
            except (socket.gaierror, UnicodeError, OSError):
                return []

        d = deferToThreadPool(self._reactor, self._getThreadPool(), get)

        def deliver(result: list[Any]) -> None:
            if resolution.cancelled or finished:
                return
            for fam, _st, _proto, _canon, sockaddr in result:
                addr: IAddress
                if fam == socket.AF_INET:
                    addr = IPv4Address(transportSemantics, sockaddr[0], sockaddr[1])  # type: ignore[arg-type]
                elif fam == socket.AF_INET6:
                    addr = IPv6Address(transportSemantics, *sockaddr)  # type: ignore[arg-type]
                else:
                    continue
                resolutionReceiver.addressResolved(addr)
            complete()

        d.addCallback(deliver)
        return resolutionReceiver


@implementer(IResolutionReceiver)
class _FirstIPv4:
    def __init__(self, name: str) -> None:
        from glisten.internet.defer import Deferred

        self.name = name
        self.deferred: Deferred[str] = Deferred()
        self.addresses: list[IAddress] = []

    def resolutionBegan(self, resolutionInProgress: IHostResolution) -> None:
        pass

    def addressResolved(self, address: IAddress) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        for a in self.addresses:
            if isinstance(a, IPv4Address):
                self.deferred.callback(a.host)
                return
        self.deferred.errback(error.DNSLookupError(self.name))


@implementer(IResolverSimple)
class ComplexResolverSimplifier:
    """
    An IResolverSimple (one IPv4 address) on top of an IHostnameResolver.
    """

    def __init__(self, nameResolver: IHostnameResolver) -> None:
        self._nameResolver = nameResolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:
        """
        :return: a Deferred firing with one IPv4 address, or failing with DNSLookupError.
        """
        receiver = _FirstIPv4(name)
        self._nameResolver.resolveHostName(receiver, name, 0, [IPv4Address])
        return receiver.deferred


@implementer(IHostnameResolver)
class SimpleResolverComplexifier:
    """
    An IHostnameResolver on top of an IResolverSimple (which yields one IPv4 address).
    """

    def __init__(self, simpleResolver: Any) -> None:
        self._simpleResolver = simpleResolver

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type] | None = None,
        transportSemantics: str = "TCP",
    ) -> IResolutionReceiver:
        try:
            hostName = hostName.encode("idna").decode("ascii")
        except (UnicodeError, AttributeError):
            pass
        resolution = HostResolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)

        def ok(address: str) -> None:
            # Twisted's simple resolvers may give an IPv6 address (names prefers AAAA).
            kind: Any = IPv6Address if ":" in address else IPv4Address
            if addressTypes is None or kind in addressTypes:
                resolutionReceiver.addressResolved(kind(transportSemantics, address, portNumber))

        def fail(f: Any) -> None:
            if not f.check(error.DNSLookupError):
                from glisten.logger import Logger

                Logger().failure("while looking up {name}", failure=f, name=hostName)

        d = self._simpleResolver.getHostByName(hostName)
        d.addCallbacks(ok, fail)
        d.addCallback(lambda _: resolutionReceiver.resolutionComplete())
        return resolutionReceiver


__all__ = [
    "ComplexResolverSimplifier",
    "GAIResolver",
    "HostResolution",
    "SimpleResolverComplexifier",
]
