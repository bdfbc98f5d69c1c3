"""Hostile input against glisten-core's parsers (issue 29): cost must be linear in the input.

Each case feeds one buffer of 64 KiB, 256 KiB and 1 MiB made of the smallest units the
protocol allows, in one ``dataReceived``, and prints units decoded per CPU-second, with
Twisted's parser for the same protocol in the same run. A flat rate across the three sizes
means linear cost; a quadratic parser's rate falls about 4x from one size to the next.
The PROXY header case feeds the largest header glisten accepts one byte at a time instead
(its size is bounded, so per-byte cost is what matters). glisten-web's parsers are in
``web_hostile.py``.
"""

from __future__ import annotations

import struct
from typing import Any

from _harness import Case, cpuRate, main

SIZES = {"64 KiB": 64 * 1024, "256 KiB": 256 * 1024, "1 MiB": 1024 * 1024}


def _basic(impl: str) -> Any:
    if impl == "glisten":
        from glisten.protocols import basic
    else:
        from twisted.protocols import basic  # type: ignore[no-redef]
    return basic


def _transport(impl: str) -> Any:
    if impl == "glisten":
        from glisten.internet.testing import StringTransport
    else:
        from twisted.internet.testing import StringTransport  # type: ignore[no-redef]
    return StringTransport()


def _stream(impl: str, kind: str, unit: bytes, size: int) -> float:
    basic = _basic(impl)
    units = size // len(unit)
    data = unit * units
    count = [0]

    if kind == "line":

        class Receiver(basic.LineReceiver):  # type: ignore[name-defined,misc]
            def lineReceived(self, line: bytes) -> None:
                count[0] += 1

    else:
        base = {"int32": basic.Int32StringReceiver, "netstring": basic.NetstringReceiver}[kind]

        class Receiver(base):  # type: ignore[no-redef,valid-type,misc]
            def stringReceived(self, string: bytes) -> None:
                count[0] += 1

    def run() -> None:
        count[0] = 0
        proto = Receiver()
        proto.makeConnection(_transport(impl))
        proto.dataReceived(data)
        assert count[0] == units, (count[0], units)

    return cpuRate(units, run)


def ampBoxes(impl: str, size: int) -> float:
    box = b"\x00\x01a\x00\x00\x00\x00"  # one key "a" with an empty value, then the end
    units = size // len(box)
    data = box * units
    count = [0]
    if impl == "glisten":
        from glisten.protocols import amp
    else:
        from twisted.protocols import amp  # type: ignore[no-redef]

    class Receiver:
        def startReceivingBoxes(self, sender: object) -> None:
            pass

        def ampBoxReceived(self, box: object) -> None:
            count[0] += 1

        def stopReceivingBoxes(self, reason: object) -> None:
            pass

    def run() -> None:
        count[0] = 0
        proto = amp.BinaryBoxProtocol(Receiver())
        proto.makeConnection(_transport(impl))
        proto.dataReceived(data)
        assert count[0] == units, (count[0], units)

    return cpuRate(units, run)


def proxyHeaderBytewise(impl: str) -> float:
    """The largest header accepted by default, fed one byte at a time."""
    signature = b"\r\n\r\n\x00\r\nQUIT\n"
    tlvs = b"\x04" + struct.pack("!H", 4000) + b"x" * 4000  # PP2_TYPE_NOOP, 4000 bytes
    addresses = bytes([127, 0, 0, 1, 127, 0, 0, 2]) + struct.pack("!HH", 1234, 80)
    body = addresses + tlvs
    header = signature + b"\x21\x11" + struct.pack("!H", len(body)) + body + b"GET /"
    from glisten.internet._haproxy import HAProxyHeaderParser

    def run() -> None:
        parser = HAProxyHeaderParser()
        result = None
        for i in range(len(header)):
            result = parser.feed(header[i : i + 1])
            if result is not None:
                break
        assert result is not None

    return cpuRate(len(header), run)


def _cases() -> list[Case]:
    cases = []
    streams = [
        ("empty lines (LineReceiver)", "line", b"\r\n"),
        ("1-byte Int32 strings", "int32", struct.pack("!I", 1) + b"x"),
        ("empty netstrings", "netstring", b"0:,"),
    ]
    for title, kind, unit in streams:
        for label, size in SIZES.items():
            cases.append(
                Case(
                    f"{title}, {label}",
                    lambda impl, n, kind=kind, unit=unit, size=size: _stream(
                        impl, kind, unit, size
                    ),
                    selfTimed=True,
                    unit=" units/s",
                )
            )
    for label, size in SIZES.items():
        cases.append(
            Case(
                f"empty AMP boxes, {label}",
                lambda impl, n, size=size: ampBoxes(impl, size),
                selfTimed=True,
                unit=" boxes/s",
            )
        )
    cases.append(
        Case(
            "PROXY v2 header of 4 KiB, one byte at a time",
            lambda impl, n: proxyHeaderBytewise(impl),
            # Twisted's V2Parser rejects a header split inside its signature: no comparison.
            impls=("glisten",),
            selfTimed=True,
            unit=" bytes/s",
        )
    )
    return cases


if __name__ == "__main__":
    main(_cases())
