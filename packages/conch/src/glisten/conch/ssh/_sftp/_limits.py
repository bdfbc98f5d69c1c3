"""Bounds on what an SFTP peer may send."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """
    What an SFTP peer may ask of us.

    :ivar maxPacketLength: the largest ``length`` field accepted; a longer one is a lie or an
        attack and ends the session (OpenSSH's limit is 256 KiB; a little more lets a 256 KiB
        write carry its header).
    :ivar maxReadLength: reads asking for more (up to 4 GiB in a ``uint32``) are answered with
        this much, as the protocol allows a short read.
    :ivar maxHandles: open files and directories per session.
    :ivar maxPathLength: the longest path or link target accepted.
    :ivar maxPendingRequests: requests waiting for a slow file system before we stop reading
        from the channel (the peer then waits for window).
    :ivar maxExtensions: extension pairs in ``INIT``/``VERSION`` and in attributes.
    :ivar maxNames: entries in one ``NAME`` reply (client side).
    """

    maxPacketLength: int = 256 * 1024 + 1024
    maxReadLength: int = 256 * 1024
    maxHandles: int = 256
    maxPathLength: int = 4096
    maxPendingRequests: int = 256
    maxExtensions: int = 64
    maxNames: int = 4096
