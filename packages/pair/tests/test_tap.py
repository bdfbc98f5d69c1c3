"""The ``glisten pair`` plugin."""

from __future__ import annotations

import argparse

import pytest
from zope.interface.verify import verifyObject

from glisten.application.service import IServiceMaker
from glisten.internet.testing import MemoryReactorClock
from glisten.pair import tap
from glisten.pair.responder import EthernetResponder, IPResponder
from glisten.pair.testing import MemoryIOSystem, Tunnel


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    tap.pairPlugin.addArguments(parser)
    return parser.parse_args(list(argv))


def test_providesIServiceMaker() -> None:
    assert verifyObject(IServiceMaker, tap.pairPlugin)
    assert tap.pairPlugin.tapname == "pair"
    assert "\n" not in tap.pairPlugin.description


def test_parseMAC() -> None:
    assert tap.parseMAC("02:00:00:00:00:0a") == b"\x02\x00\x00\x00\x00\x0a"
    for bad in ["02:00", "02:00:00:00:00:zz", "0200:00:00:00:00:0a", ""]:
        with pytest.raises(argparse.ArgumentTypeError):
            tap.parseMAC(bad)


def test_addressesChecked() -> None:
    with pytest.raises(argparse.ArgumentError):
        options("--ipv4", "fd00::1")
    with pytest.raises(argparse.ArgumentError):
        options("--ipv6", "10.0.0.1")


def test_makeServiceTap() -> None:
    svc = tap.pairPlugin.makeService(
        options("--device", "tap7", "--ipv4", "10.0.0.2", "--mac", "02:00:00:00:00:0a")
    )
    assert isinstance(svc.protocol, EthernetResponder)
    assert svc.protocol.mac == b"\x02\x00\x00\x00\x00\x0a"
    assert svc.interface == b"tap7"


def test_makeServiceTun() -> None:
    svc = tap.pairPlugin.makeService(options("--tun", "--ipv6", "fd00::2"))
    assert isinstance(svc.protocol, IPResponder)


def test_makeServiceNeedsAnAddress() -> None:
    with pytest.raises(ValueError, match="--ipv4 or --ipv6"):
        tap.pairPlugin.makeService(options())


def test_serviceOpensAndClosesTheDevice() -> None:
    system = MemoryIOSystem()
    system.registerSpecialDevice(Tunnel._DEVICE_NAME, Tunnel)
    reactor = MemoryReactorClock()
    svc = tap.TuntapService(b"tap0", EthernetResponder("10.0.0.2"), reactor, system=system)
    svc.privilegedStartService()
    port = svc.port
    assert port is not None and port.connected
    svc.startService()
    assert svc.port is port  # opened once
    d = svc.stopService()
    reactor.advance(0)
    fired: list[object] = []
    d.addCallback(fired.append)
    assert fired == [None]
    assert system._openFiles == {}
    assert svc.stopService() is None
