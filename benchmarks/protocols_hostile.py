"""Hostile input against the protocol packages' sans-IO parsers (issue 29): linear cost.

Like ``hostile.py`` for core: each case feeds one buffer of 64 KiB, 256 KiB and 1 MiB made of
the smallest units the protocol allows, in one call, and prints units decoded per CPU-second.
A flat rate across the three sizes means linear cost; a quadratic parser's rate falls about
4x from one size to the next. These are glisten's codecs alone (Twisted has no sans-IO
equivalent to hold them against; its protocol classes are measured in ``ssh.py``,
``smtp.py`` and ``irc.py``).

- SSH: unencrypted ``SSH_MSG_IGNORE`` packets of 16 bytes through the packet reader;
- SMTP: ``NOOP`` commands, and a message body of one-character lines after ``DATA``;
- IRC: ``PING`` lines through the line decoder.

A decoder that returns one object per unit (IRC's events) loses some rate at 1 MiB to
Python's garbage collector walking the 131,072 events alive at once; with ``gc`` disabled
the rate is flat, so the parsing itself is linear.
"""

from __future__ import annotations

import struct

from _harness import Case, cpuRate, main

SIZES = {"64 KiB": 64 * 1024, "256 KiB": 256 * 1024, "1 MiB": 1024 * 1024}


def sshPackets(impl: str, size: int) -> float:
    from glisten.conch.ssh._ssh._packets import PacketReader

    # packet_length 12: padding length 10, message 2 (IGNORE), 10 bytes of padding.
    unit = struct.pack("!IB", 12, 10) + b"\x02" + b"\x00" * 10
    units = size // len(unit)
    data = unit * units

    def run() -> None:
        reader = PacketReader(35000)
        reader.feed(data)
        count = 0
        while reader.next() is not None:
            count += 1
        assert count == units, (count, units)

    return cpuRate(units, run)


def _smtpSession() -> object:
    from glisten.mail._smtp import ServerConnection

    conn = ServerConnection(b"mx.example")
    conn.greeting()
    conn.receiveData(b"EHLO client.example\r\n")
    conn.dataToSend()
    return conn


def smtpCommands(impl: str, size: int) -> float:
    unit = b"NOOP\r\n"
    units = size // len(unit)
    data = unit * units

    def run() -> None:
        conn = _smtpSession()
        conn.receiveData(data)  # type: ignore[attr-defined]
        replies = conn.dataToSend()  # type: ignore[attr-defined]
        assert replies.count(b"250") == units, replies[:100]

    return cpuRate(units, run)


def smtpDataLines(impl: str, size: int) -> float:
    from glisten.mail._smtp import MessageComplete, MessageData

    unit = b"x\r\n"
    units = size // len(unit)
    data = unit * units + b".\r\n"

    def run() -> None:
        conn = _smtpSession()
        conn.receiveData(b"MAIL FROM:<a@example.org>\r\n")  # type: ignore[attr-defined]
        conn.acceptMail()  # type: ignore[attr-defined]
        conn.receiveData(b"RCPT TO:<b@example.org>\r\n")  # type: ignore[attr-defined]
        conn.acceptRecipient()  # type: ignore[attr-defined]
        conn.receiveData(b"DATA\r\n")  # type: ignore[attr-defined]
        events = conn.receiveData(data)  # type: ignore[attr-defined]
        body = b"".join(e.data for e in events if isinstance(e, MessageData))
        assert len(body) == len(data) - 3 and isinstance(events[-1], MessageComplete), events[-1]

    return cpuRate(units, run)


def ircLines(impl: str, size: int) -> float:
    from glisten.words.protocols._irc import LineDecoder

    unit = b"PING x\r\n"
    units = size // len(unit)
    data = unit * units

    def run() -> None:
        events = LineDecoder().receiveData(data)
        assert len(events) == units

    return cpuRate(units, run)


def _cases() -> list[Case]:
    kinds = [
        ("SSH IGNORE packets", sshPackets, " packets/s"),
        ("SMTP NOOP commands", smtpCommands, " commands/s"),
        ("SMTP DATA of 1-character lines", smtpDataLines, " lines/s"),
        ("IRC PING lines", ircLines, " lines/s"),
    ]
    return [
        Case(
            f"{title}, {label}",
            lambda impl, n, func=func, size=size: func(impl, size),
            impls=("glisten",),
            selfTimed=True,
            unit=unit,
        )
        for title, func, unit in kinds
        for label, size in SIZES.items()
    ]


if __name__ == "__main__":
    main(_cases())
