"""Shared helpers for glisten-mail's tests: deliveries that record, reactors, certificates."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from zope.interface import implementer

from glisten.internet.defer import Deferred, succeed
from glisten.mail import smtp


@implementer(smtp.IMessage)
class RecordingMessage:
    def __init__(self, box: list[bytes], user: Any) -> None:
        self.box = box
        self.user = user
        self.lines: list[bytes] = []
        self.lost = False

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> Deferred[None]:
        self.box.append(b"\n".join(self.lines))
        return succeed(None)

    def connectionLost(self) -> None:
        self.lost = True


@implementer(smtp.IMessageDelivery)
class RecordingDelivery:
    """Accepts senders except ``bad@...``, recipients in ``domain`` except ``nobody``."""

    def __init__(self, *domains: bytes) -> None:
        self.domains = domains or (b"example.com",)
        self.messages: list[bytes] = []
        self.recipients: list[str] = []

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: from " + helo[0] + b" by test"

    def validateFrom(self, helo: Any, origin: smtp.Address) -> Any:
        if origin.local == b"bad":
            raise smtp.SMTPBadSender(origin)
        return origin

    def validateTo(self, user: smtp.User) -> Any:
        if user.dest.domain not in self.domains or user.dest.local == b"nobody":
            raise smtp.SMTPBadRcpt(user)
        self.recipients.append(str(user.dest))
        return lambda: RecordingMessage(self.messages, user)


def makeReactor() -> Any:
    from glisten.internet.epollreactor import EPollReactor

    return EPollReactor()


def runUntil(reactor: Any, d: Deferred[Any], timeout: float = 20.0) -> Any:
    """Run ``reactor`` until ``d`` fires; return its result or raise its failure."""
    box: list[Any] = []

    def done(result: Any) -> None:
        box.append(result)
        reactor.stop()

    d.addBoth(done)
    if not box:
        guard = reactor.callLater(timeout, reactor.stop)
        reactor.run(installSignalHandlers=False)
        if guard.active():
            guard.cancel()
    if not box:
        raise AssertionError("the Deferred did not fire in time")
    result = box[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result


def makeCertificate(folder: Path, name: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` (and 127.0.0.1): ``(cert, key)`` paths."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("openssl is required in CI")
        pytest.skip("openssl is not installed")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            f"subjectAltName=DNS:{name},IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def feed(codec: Any, data: bytes, byteAtATime: bool) -> list[object]:
    """Give a sans-I/O codec ``data`` whole or one byte at a time; :return: the events."""
    if not byteAtATime:
        return list(codec.receiveData(data))
    events: list[object] = []
    for i in range(len(data)):
        events.extend(codec.receiveData(data[i : i + 1]))
    return events


def results(d: Any) -> Any:
    """The result of a Deferred that has fired (a Failure as it is)."""
    got: list[Any] = []
    d.addBoth(got.append)
    assert got, "the Deferred has not fired"
    return got[0]
