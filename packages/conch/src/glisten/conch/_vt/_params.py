"""Control sequence parameters, shared by both directions."""

from __future__ import annotations

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


#: What :func:`csiByte` says about a byte of a control sequence.
FINAL, MORE, CANCEL = range(3)


def csiByte(body: bytearray, b: int, limits: Limits) -> int:
    """
    Classify the next byte after ``CSI``: a final byte ends the sequence, a parameter or
    intermediate byte is appended to ``body``, anything else cancels it.

    :raises TerminalProtocolError: the body would go over ``limits.maxSequenceLength``.
    """
    if 0x40 <= b <= 0x7E:
        return FINAL
    if 0x20 <= b <= 0x3F:
        if len(body) >= limits.maxSequenceLength:
            raise TerminalProtocolError("control sequence too long")
        body.append(b)
        return MORE
    return CANCEL
