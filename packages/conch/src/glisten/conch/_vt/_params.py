"""Control sequence parameters, shared by both directions."""

from __future__ import annotations

import re

from glisten.conch._vt._errors import TerminalProtocolError
from glisten.conch._vt._limits import Limits


def parseParameters(body: bytes, limits: Limits) -> list[int | None] | None:
    """
    Split ``1;;5`` into ``[1, None, 5]``; values above the limit are clamped.

    :return: ``None`` when the body is not plain numeric parameters (private markers and
        intermediates are the caller's business).
    :raises TerminalProtocolError: too many parameters.
    """
    if not body:
        return []
    parts = body.split(b";")
    if len(parts) > limits.maxParameters:
        raise TerminalProtocolError("too many control sequence parameters")
    out: list[int | None] = []
    for part in parts:
        if not part:
            out.append(None)
        elif part.isdigit():
            out.append(min(int(part), limits.maxParameterValue))
        else:
            return None
    return out


#: What :func:`csiScan` found: the sequence goes on, ends with a final byte, or is cancelled.
FINAL, MORE, CANCEL = range(3)

_BODY = re.compile(rb"[\x20-\x3f]*")


def csiScan(body: bytearray, data: bytes, i: int, limits: Limits) -> tuple[int, int]:
    """
    Read the parameter and intermediate bytes of a control sequence from ``data[i:]`` into
    ``body``.

    :return: the index of the first byte after them, and ``MORE`` when ``data`` ended there,
        ``FINAL`` when a final byte stands there, ``CANCEL`` for anything else (a control
        character ends the sequence unfinished).
    :raises TerminalProtocolError: ``body`` would go over ``limits.maxSequenceLength``.
    """
    match = _BODY.match(data, i)
    end = match.end() if match is not None else i
    if len(body) + end - i > limits.maxSequenceLength:
        raise TerminalProtocolError("control sequence too long")
    body += data[i:end]
    if end == len(data):
        return end, MORE
    return end, FINAL if 0x40 <= data[end] <= 0x7E else CANCEL
