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
