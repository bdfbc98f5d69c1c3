"""
OpenSSH's destination constraints for agent keys (``ssh-add -h``), after its
``PROTOCOL.agent``: the ``restrict-destination-v00@openssh.com`` key constraint, the
``session-bind@openssh.com`` extension through which ``ssh`` tells the agent which server
(host key, session ID) a connection to the agent serves, and the check of a key's use against
the chain of such bindings.

A constraint lists hops ``from -> to``: a key may be used to log in to the ``to`` host
(named by its host keys) as a matching user, reached from ``from`` (no ``from`` host: from
the agent's own machine; else from a host with one of ``from``'s keys, through agent
forwarding). Every binding but the last is a forwarding one; each must be allowed by some
constraint, the last one with the user the signature logs in as.

Sans-IO: bytes in, values and yes/no out; malformed input is a :class:`ValueError` whose
message never holds the peer's bytes.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wildcards import wildcard
from glisten.conch.ssh._ssh._wire import Reader, boolean, string

RESTRICT_DESTINATION = b"restrict-destination-v00@openssh.com"
SESSION_BIND = b"session-bind@openssh.com"

#: The userauth request a signature for ``publickey`` authentication signs (RFC 4252 7).
_USERAUTH_REQUEST = 50
_PUBLICKEY_METHODS = (b"publickey", b"publickey-hostbound-v00@openssh.com")
#: The longest session ID accepted in a binding (the largest hash is 64 bytes).
MAX_SESSION_ID = 128


@attrs.frozen
class HostKeySpec:
    """A host key of a hop: its public blob; ``isCA`` for a CA key of host certificates."""

    blob: bytes
    isCA: bool = False


@attrs.frozen
class Hop:
    """One end of a destination constraint: a user pattern, a host name and its keys."""

    user: bytes = b""
    hostname: bytes = b""
    keys: tuple[HostKeySpec, ...] = ()

    def hasKey(self, blob: bytes) -> bool:
        """
        Whether ``blob`` is one of this hop's plain host keys (host certificates, vouched for
        by CA keys, are the agent's to check: see :data:`HostKeyMatcher`).
        """
        return any(not spec.isCA and spec.blob == blob for spec in self.keys)


#: Whether a host key blob belongs to a hop: :meth:`Hop.hasKey`, or a check that also
#: takes host certificates of the hop's CA keys.
HostKeyMatcher = Callable[[Hop, bytes], bool]


@attrs.frozen
class DestinationConstraint:
    """One permitted hop: a key may go from ``source`` to ``destination``."""

    source: Hop
    destination: Hop

    def allows(
        self,
        fromKey: bytes | None,
        toKey: bytes | None,
        user: bytes | None,
        hasKey: HostKeyMatcher = Hop.hasKey,
    ) -> bool:
        """
        Whether this hop fits a binding.

        :param fromKey: the host key of the hop before (``None``: the agent's own machine).
        :param toKey: the bound host key (``None``: any, when only ``from`` matters).
        :param user: the user logged in as, when checking a signature.
        :param hasKey: how a host key is matched with a hop.
        """
        if fromKey is None:
            if self.source.hostname or self.source.keys:
                return False
        elif not hasKey(self.source, fromKey):
            return False
        if toKey is not None and not hasKey(self.destination, toKey):
            return False
        if user is not None and self.destination.user:
            # OpenSSH's match_pattern: case-sensitive, only ``*`` and ``?`` are wildcards.
            pattern = wildcard(self.destination.user.decode("latin-1"))
            return pattern.match(user.decode("latin-1")) is not None
        return True


@attrs.frozen
class SessionBinding:
    """What one ``session-bind@openssh.com`` told the agent."""

    hostKey: bytes
    sessionID: bytes
    forwarding: bool


def _hop(data: bytes) -> Hop:
    r = Reader(data, maxString=len(data))
    user, hostname = r.string(), r.string()
    r.string()  # reserved
    keys = []
    while r.remaining():
        keys.append(HostKeySpec(r.string(), r.boolean()))
    return Hop(user, hostname, tuple(keys))


def parseDestinations(data: bytes, maxConstraints: int = 1024) -> tuple[DestinationConstraint, ...]:
    """
    The body of a ``restrict-destination-v00@openssh.com`` constraint.

    :raises ValueError: malformed, more than ``maxConstraints`` hops, or a hop OpenSSH would
        refuse too (a ``to`` without host name or keys, a ``from`` with one but not the other).
    """
    constraints: list[DestinationConstraint] = []
    try:
        r = Reader(data, maxString=len(data))
        while r.remaining():
            if len(constraints) >= maxConstraints:
                raise ValueError("too many destination constraints")
            c = Reader(r.string(), maxString=len(data))
            source, destination = _hop(c.string()), _hop(c.string())
            c.string()  # reserved
            c.done()
            if not destination.hostname or not destination.keys:
                raise ValueError("a destination constraint without a host")
            if bool(source.hostname) != bool(source.keys):
                raise ValueError("a destination constraint's source is incomplete")
            constraints.append(DestinationConstraint(source, destination))
    except DecodeError:
        raise ValueError("malformed destination constraints") from None
    if not constraints:
        raise ValueError("an empty destination constraint")
    return tuple(constraints)


def _packHop(hop: Hop) -> bytes:
    keys = b"".join(string(k.blob) + boolean(k.isCA) for k in hop.keys)
    return string(string(hop.user) + string(hop.hostname) + string(b"") + keys)


def packDestinations(constraints: tuple[DestinationConstraint, ...]) -> bytes:
    """The body of a ``restrict-destination-v00@openssh.com`` constraint."""
    return b"".join(
        string(_packHop(c.source) + _packHop(c.destination) + string(b"")) for c in constraints
    )


def parseSessionBind(r: Reader) -> tuple[bytes, bytes, bytes, bool]:
    """
    The rest of a ``session-bind@openssh.com`` request after its name.

    :return: host key blob, session ID, the host key's signature of it, whether the agent
        connection is being forwarded.
    :raises ValueError: malformed, or a session ID longer than :data:`MAX_SESSION_ID`.
    """
    try:
        hostKey, sessionID, signature = r.string(), r.string(), r.string()
        forwarding = r.boolean()
        r.done()
    except DecodeError:
        raise ValueError("malformed session binding") from None
    if not sessionID or len(sessionID) > MAX_SESSION_ID:
        raise ValueError("bad session ID length")
    return hostKey, sessionID, signature, forwarding


def packSessionBind(hostKey: bytes, sessionID: bytes, signature: bytes, forwarding: bool) -> bytes:
    """The body of an ``SSH_AGENTC_EXTENSION`` ``session-bind@openssh.com`` request."""
    return (
        string(SESSION_BIND)
        + string(hostKey)
        + string(sessionID)
        + string(signature)
        + boolean(forwarding)
    )


def parseUserauthRequest(data: bytes, keyBlob: bytes) -> tuple[bytes, bytes, bytes | None]:
    """
    Data to sign read as a ``publickey`` userauth request for the key ``keyBlob``.

    :return: session ID, user name, and for ``publickey-hostbound-v00@openssh.com`` the
        server's host key blob (else ``None``).
    :raises ValueError: it is anything else.
    """
    try:
        r = Reader(data, maxString=len(data))
        sessionID = r.string()
        if r.byte() != _USERAUTH_REQUEST:
            raise ValueError("not a userauth request")
        user, service, method = r.string(), r.string(), r.string()
        if service != b"ssh-connection" or method not in _PUBLICKEY_METHODS:
            raise ValueError("not a public key userauth request")
        if not r.boolean():
            raise ValueError("a public key query has no signature")
        r.string()  # the algorithm
        if r.string() != keyBlob:
            raise ValueError("a userauth request for another key")
        hostKey = r.string() if method != _PUBLICKEY_METHODS[0] else None
        r.done()
    except DecodeError:
        raise ValueError("malformed userauth request") from None
    return sessionID, user, hostKey


def permitted(
    constraints: tuple[DestinationConstraint, ...],
    bindings: list[SessionBinding],
    user: bytes | None,
    hasKey: HostKeyMatcher = Hop.hasKey,
) -> bool:
    """
    Whether a key with ``constraints`` may be used on an agent connection with ``bindings``.

    :param user: the user a signature logs in as; ``None`` for listing the key.
    :param hasKey: how a host key is matched with a hop.
    """
    if not constraints or not bindings:
        # Unconstrained, or a local use (the caller refuses unbound signatures).
        return True
    fromKey: bytes | None = None
    for index, binding in enumerate(bindings):
        last = index == len(bindings) - 1
        if last and binding.forwarding and user is not None:
            return False  # a signature on a connection bound for forwarding
        if not last and not binding.forwarding:
            return False  # forwarded beyond a connection bound for a login
        hopUser = user if last else None
        if not any(c.allows(fromKey, binding.hostKey, hopUser, hasKey) for c in constraints):
            return False
        fromKey = binding.hostKey
    final = bindings[-1]
    if final.forwarding and user is None:
        # Listed to the forwarding host only when some hop goes on from it.
        return any(c.allows(final.hostKey, None, None, hasKey) for c in constraints)
    return True
