"""stopListening's Deferred fires (with the error) when stopping the factory raises."""

from __future__ import annotations

from typing import Any

import pytest

from glisten.internet.defer import Deferred
from glisten.internet.protocol import DatagramProtocol, Factory, Protocol


class BadStop(Factory):
    protocol = Protocol
    noisy = False

    def stopFactory(self) -> None:
        raise RuntimeError("stopFactory failed")


class BadStopDatagram(DatagramProtocol):
    def stopProtocol(self) -> None:
        raise RuntimeError("stopProtocol failed")


@pytest.mark.parametrize("kind", ["tcp", "unix", "udp"])
def test_stop_listening_reports_stop_error(
    reactor: Any, wait: Any, tmp_path: Any, kind: str
) -> None:
    async def scenario() -> str:
        if kind == "tcp":
            port = reactor.listenTCP(0, BadStop(), interface="127.0.0.1")
        elif kind == "unix":
            port = reactor.listenUNIX(str(tmp_path / "s"), BadStop())
        else:
            port = reactor.listenUDP(0, BadStopDatagram(), interface="127.0.0.1")
        d: Deferred[None] = port.stopListening()
        try:
            await d
        except RuntimeError as e:
            return str(e)
        return "no error"

    message = wait(lambda: Deferred.fromCoroutine(scenario()))
    assert message in ("stopFactory failed", "stopProtocol failed")
    # Nothing is left open (the plugin's dirty-reactor check would fail the test).
