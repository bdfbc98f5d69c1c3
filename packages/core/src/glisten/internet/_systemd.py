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


_DOMAINS = {"INET": socket.AF_INET, "INET6": socket.AF_INET6, "UNIX": socket.AF_UNIX}


def _fieldError(field: str, why: str) -> ValueError:
    return ValueError(f"systemd endpoint: field {field!r}: {why}")


def checkedListeningSocket(
    domain: str,
    index: int | None = None,
    name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[int, int]:
    """Find a socket systemd passed, by position or by name, and check it can be listened on.

    :param domain: ``INET``, ``INET6`` or ``UNIX``: the socket must be of this family.
    :param index: the socket's position among those passed (``LISTEN_FDS``).
    :param name: the socket's name (``FileDescriptorName=`` / ``LISTEN_FDNAMES``).
    :return: the descriptor and its address family.
    :raises ValueError: naming the field (``domain``, ``index`` or ``name``) that does not
        match what systemd passed.
    """
    family = _DOMAINS.get(domain.upper())
    if family is None:
        raise _fieldError("domain", f"expected INET, INET6 or UNIX, not {domain!r}")
    if (index is None) == (name is None):
        raise ValueError("systemd endpoint: give exactly one of the fields 'index' and 'name'")
    passed = ListenFDs.fromEnvironment(environ)
    if index is not None:
        field = "index"
        if not 0 <= index < len(passed.descriptors):
            raise _fieldError(
                "index",
                f"systemd passed no socket number {index} "
                f"({len(passed.descriptors)} passed; LISTEN_FDS/LISTEN_PID)",
            )
        fd = passed.descriptors[index]
    else:
        field = "name"
        named = passed.inheritedNamedDescriptors()
        if name not in named:
            known = ", ".join(sorted(named)) or "none"
            raise _fieldError("name", f"systemd passed no socket named {name!r} (passed: {known})")
        fd = named[name]
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError as e:
        raise _fieldError(field, f"descriptor {fd} is not a usable socket: {e.strerror}") from None
    try:
        if sock.family != family:
            raise _fieldError(field, f"socket {fd} is not of domain {domain.upper()}")
        if sock.type != socket.SOCK_STREAM:
            raise _fieldError(field, f"socket {fd} is not a stream socket")
        if not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
            raise _fieldError(field, f"socket {fd} is not listening")
    finally:
        sock.close()
    return fd, family


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
