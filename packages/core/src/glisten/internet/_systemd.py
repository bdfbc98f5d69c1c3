"""systemd integration: inherited sockets (``LISTEN_FDS``) and readiness (``NOTIFY_SOCKET``).

Both are small environment-variable protocols documented in ``sd_listen_fds(3)`` and
``sd_notify(3)``; this module speaks them without libsystemd.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence

import attrs

#: The first file descriptor systemd passes (``SD_LISTEN_FDS_START``).
SD_LISTEN_FDS_START = 3

#: The most descriptors we believe: more than this is a corrupt environment, not a real setup.
_MAX_LISTEN_FDS = 4096


@attrs.frozen
class ListenFDs:
    """The descriptors systemd passed to this process, with their names.

    :ivar descriptors: the file descriptor numbers, in order.
    :ivar names: one name per descriptor (``LISTEN_FDNAMES``; ``"unknown"`` when not given).
    """

    descriptors: Sequence[int]
    names: Sequence[str]

    @classmethod
    def fromEnvironment(
        cls, environ: Mapping[str, str] | None = None, start: int | None = None
    ) -> ListenFDs:
        """Read ``LISTEN_PID``, ``LISTEN_FDS`` and ``LISTEN_FDNAMES``.

        The descriptors only count when ``LISTEN_PID`` is this process: a child that inherited
        the variables must not take its parent's sockets. Malformed values give no descriptors.
        """
        if environ is None:
            environ = os.environ
        if start is None:
            start = SD_LISTEN_FDS_START
        try:
            pid = int(environ.get("LISTEN_PID", ""))
            count = int(environ.get("LISTEN_FDS", ""))
        except ValueError:
            return cls((), ())
        if pid != os.getpid() or not 0 < count <= _MAX_LISTEN_FDS:
            return cls((), ())
        descriptors = list(range(start, start + count))
        rawNames = environ.get("LISTEN_FDNAMES")
        names = rawNames.split(":") if rawNames else []
        if len(names) != count:
            names = ["unknown"] * count
        return cls(tuple(descriptors), tuple(names))

    def inheritedDescriptors(self) -> list[int]:
        """The descriptor numbers, in the order systemd passed them."""
        return list(self.descriptors)

    def inheritedNamedDescriptors(self) -> dict[str, int]:
        """Descriptors by name (for a repeated name, the first one)."""
        named: dict[str, int] = {}
        for name, fd in zip(self.names, self.descriptors, strict=True):
            named.setdefault(name, fd)
        return named


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``"READY=1"``, ``"STOPPING=1"``, ...) to systemd's notify socket.

    :return: ``True`` if a notify socket was configured and the message was sent; ``False``
        when not running under a notifying service manager or when sending failed (readiness
        is a courtesy to the manager; failing to send must not stop the program).
    """
    if environ is None:
        environ = os.environ
    address = environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(state.encode("utf-8"))
    except OSError:
        return False
    return True
