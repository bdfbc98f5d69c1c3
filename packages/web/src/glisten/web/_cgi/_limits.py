"""The limits on what a CGI script may write before its body."""

from __future__ import annotations

import attrs


@attrs.frozen
class CGILimits:
    """How much header a script may write.

    :ivar maxHeaderBytes: The whole header block.
    :ivar maxHeaders: Header lines.
    """

    maxHeaderBytes: int = 64 * 1024
    maxHeaders: int = 100
