"""Bounds on terminal input and output streams."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """
    :ivar maxSequenceLength: the longest control sequence body (parameters and intermediates);
        real terminals send a handful of bytes, so more is garbage or an attack.
    :ivar maxParameters: how many ``;``-separated parameters a sequence may carry.
    :ivar maxParameterValue: parameters above this are clamped (a ``CSI 999999999 C`` must not
        make anyone loop or allocate that much).
    :ivar maxPasteLength: the largest bracketed paste.
    """

    maxSequenceLength: int = 64
    maxParameters: int = 16
    maxParameterValue: int = 9999
    maxPasteLength: int = 1 << 20
