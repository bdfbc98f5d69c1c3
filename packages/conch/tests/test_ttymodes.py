"""The terminal modes ``glisten conch`` sends in its ``pty-req`` (RFC 4254 section 8)."""

from __future__ import annotations

import os
import pty
import termios

from glisten.conch.ssh import ttymodes
from glisten.conch.ssh._ssh._wire import Reader


def _decode(modes: bytes) -> dict[str, int]:
    r = Reader(modes)
    found: dict[str, int] = {}
    while (opcode := r.byte()) != ttymodes.TTY_OP_END:
        found[ttymodes.TTYMODES[opcode]] = r.uint32()
    assert r.remaining() == 0
    return found


def _attributes() -> list[object]:
    main, other = pty.openpty()
    try:
        attributes = termios.tcgetattr(other)
    finally:
        os.close(main)
        os.close(other)
    return attributes


def test_encodeModes() -> None:
    """Control characters (disabled ones as 255), flags from their words, speeds in baud."""
    attributes = _attributes()
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attributes
    cc = list(cc)
    cc[termios.VERASE] = b"\x08"
    cc[termios.VINTR] = b"\x07"
    cc[termios.VQUIT] = b"\x00"
    lflag = (lflag | termios.ECHO) & ~termios.ICANON
    iflag |= termios.ICRNL
    cflag = (cflag & ~termios.CSIZE) | termios.CS8
    encoded = ttymodes.encodeModes([iflag, oflag, cflag, lflag, termios.B9600, termios.B38400, cc])
    found = _decode(encoded)
    assert (found["VERASE"], found["VINTR"], found["VQUIT"]) == (8, 7, 255)
    assert (found["ECHO"], found["ICANON"], found["ICRNL"]) == (1, 0, 1)
    assert (found["CS8"], found["CS7"]) == (1, 0)
    assert (found["TTY_OP_ISPEED"], found["TTY_OP_OSPEED"]) == (9600, 38400)
    assert found["OPOST"] == int(bool(oflag & termios.OPOST))


def test_rawControlCharacters() -> None:
    """Where VMIN/VTIME share a slot with VEOF/VEOL (BSDs) the slot holds a number."""
    attributes = _attributes()
    cc = list(attributes[6])
    cc[termios.VEOF] = 1
    found = _decode(ttymodes.encodeModes([*attributes[:6], cc]))
    assert found["VEOF"] == 1
    assert "VINTR" in found


def test_applyModes() -> None:
    """Received modes laid over a PTY's attributes; the encoding read back is the same."""
    attributes = _attributes()
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attributes
    cc = list(cc)
    cc[termios.VERASE] = b"\x08"
    cc[termios.VQUIT] = b"\x00"
    wanted = [
        iflag & ~termios.ICRNL,
        oflag,
        (cflag & ~termios.CSIZE) | termios.CS7,
        lflag & ~termios.ECHO,
        termios.B9600,
        termios.B9600,
        cc,
    ]
    modes = list(_decode(ttymodes.encodeModes(wanted)).items())
    byOpcode = {name: opcode for opcode, name in ttymodes.TTYMODES.items()}
    pairs = [(byOpcode[name], value) for name, value in modes]
    applied = ttymodes.applyModes(attributes, [*pairs, (200, 1), (1, 4096)])
    assert applied[6][termios.VERASE] == b"\x08"
    assert applied[6][termios.VQUIT] == b"\x00"
    assert not applied[0] & termios.ICRNL
    assert not applied[3] & termios.ECHO
    assert applied[2] & termios.CSIZE == termios.CS7
    assert applied[4:6] == [termios.B9600, termios.B9600]
    assert _decode(ttymodes.encodeModes(applied)) == dict(modes)
