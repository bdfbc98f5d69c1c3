"""Bounds on what an scp peer may send."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """
    What an scp peer may send us.

    :ivar maxLineLength: the longest control record or status message, its newline included
        (OpenSSH's own buffer is 2 KiB).
    :ivar maxNameLength: the longest file name in a ``C`` or ``D`` record (a name, not a path).
    :ivar maxDepth: how deep ``D`` records may nest.
    :ivar maxFileSize: the largest size a ``C`` record may announce.
    """

    maxLineLength: int = 4096
    maxNameLength: int = 255
    maxDepth: int = 64
    maxFileSize: int = (1 << 63) - 1
