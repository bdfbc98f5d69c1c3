"""
The SSH agent protocol (draft-miller-ssh-agent, what ``ssh-agent`` speaks):
:class:`SSHAgentClient` lists keys and has them sign, :class:`SSHAgentServer` is an agent over
a key store (its factory's ``keys``).

Both are thin adapters over ``glisten.conch.ssh._agent``. The server keeps ``ssh-add -t``
lifetimes on the reactor's clock, asks before a ``ssh-add -c`` key signs (no by default),
locks with a passphrase (``ssh-add -x``/``-X``), keeps ``ssh-add -h`` destination constraints
(``restrict-destination-v00@openssh.com``) against the ``session-bind@openssh.com`` bindings
``ssh`` sends, and refuses other extension constraints and requests, and smartcards.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import attrs

from glisten.conch.error import ConchError, MissingKeyStoreError
from glisten.conch.ssh._agent._codec import (
    SSH_AGENT_FAILURE,
    SSH_AGENT_IDENTITIES_ANSWER,
    SSH_AGENT_RSA_SHA2_256,
    SSH_AGENT_RSA_SHA2_512,
    SSH_AGENT_SIGN_RESPONSE,
    SSH_AGENT_SUCCESS,
    SSH_AGENTC_ADD_ID_CONSTRAINED,
    SSH_AGENTC_ADD_IDENTITY,
    SSH_AGENTC_EXTENSION,
    SSH_AGENTC_LOCK,
    SSH_AGENTC_REMOVE_ALL_IDENTITIES,
    SSH_AGENTC_REMOVE_IDENTITY,
    SSH_AGENTC_REQUEST_IDENTITIES,
    SSH_AGENTC_SIGN_REQUEST,
    SSH_AGENTC_UNLOCK,
    AgentCodec,
    AgentProtocolError,
    Limits,
)
from glisten.conch.ssh._agent._destinations import (
    SESSION_BIND,
    DestinationConstraint,
    Hop,
    HostKeySpec,
    SessionBinding,
    packSessionBind,
    parseSessionBind,
    parseUserauthRequest,
    permitted,
)
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string
from glisten.conch.ssh.keys import CERT_HOST, BadCertificateError, BadKeyError, Key
from glisten.cred.checkers import scryptHash, scryptVerify
from glisten.internet import protocol
from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionLost
from glisten.internet.interfaces import IDelayedCall
from glisten.internet.main import getReactor
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "SSH_AGENTC_ADD_IDENTITY",
    "SSH_AGENTC_ADD_ID_CONSTRAINED",
    "SSH_AGENTC_LOCK",
    "SSH_AGENTC_UNLOCK",
    "SSH_AGENTC_REMOVE_ALL_IDENTITIES",
    "SSH_AGENTC_REMOVE_IDENTITY",
    "SSH_AGENTC_REQUEST_IDENTITIES",
    "SSH_AGENTC_SIGN_REQUEST",
    "SSH_AGENT_FAILURE",
    "SSH_AGENT_IDENTITIES_ANSWER",
    "SSH_AGENT_RSA_SHA2_256",
    "SSH_AGENT_RSA_SHA2_512",
    "SSH_AGENT_SIGN_RESPONSE",
    "SSH_AGENT_SUCCESS",
    "DestinationConstraint",
    "Hop",
    "HostKeySpec",
    "KeyConstraints",
    "Limits",
    "SSHAgentClient",
    "SSHAgentServer",
    "hopHasHostKey",
    "signatureFlags",
]


def signatureFlags(algorithm: bytes) -> int:
    """The ``SIGN_REQUEST`` flags that ask an agent for ``algorithm`` (RSA's SHA-2 forms)."""
    if algorithm == b"rsa-sha2-256":
        return SSH_AGENT_RSA_SHA2_256
    if algorithm == b"rsa-sha2-512":
        return SSH_AGENT_RSA_SHA2_512
    return 0


class SSHAgentClient(protocol.Protocol):
    """
    Talks to an agent. Requests are answered in order, so any number may be outstanding; a
    ``FAILURE`` answer fails the request's Deferred with :class:`ConchError`.
    """

    _log = Logger()

    def __init__(self, limits: Limits | None = None) -> None:
        self._codec = AgentCodec(limits)
        self._waiting: list[Deferred[Any]] = []
        self._lost: Failure | None = None

    def dataReceived(self, data: bytes) -> None:
        try:
            for message in self._codec.receiveData(data):
                if not self._waiting:
                    raise AgentProtocolError("an answer nobody asked for")
                self._waiting.pop(0).callback(message)
        except AgentProtocolError as e:
            self._log.info("agent protocol error: {error}", error=str(e))
            self._failAll(Failure(ConchError(str(e))))
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._failAll(Failure(ConnectionLost("the agent connection closed")))

    def _failAll(self, failure: Failure) -> None:
        self._lost = self._lost or failure
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.errback(failure)

    def sendRequest(self, reqType: int, data: bytes) -> Deferred[Any]:
        """Send a request; fires with the answer's body (``FAILURE`` is an error)."""
        d: Deferred[Any] = Deferred()
        if self._lost is not None:
            d.errback(self._lost)
            return d
        self._waiting.append(d)
        self.transport.write(AgentCodec.send(reqType, data))
        return d.addCallback(self._answer)

    @staticmethod
    def _answer(message: Any) -> tuple[int, bytes]:
        if message.kind == SSH_AGENT_FAILURE:
            raise ConchError("the agent refused the request")
        return message.kind, message.body

    def _expect(self, kind: int) -> Any:
        def check(answer: tuple[int, bytes]) -> bytes:
            if answer[0] != kind:
                raise ConchError("unexpected agent answer")
            return answer[1]

        return check

    def _parse(self, parser: Any) -> Any:
        def parse(body: bytes) -> Any:
            try:
                return parser(body)
            except AgentProtocolError as e:
                if self.transport is not None:
                    self.transport.loseConnection()
                raise ConchError(str(e)) from None

        return parse

    def requestIdentities(self) -> Deferred[list[tuple[bytes, bytes]]]:
        """The agent's keys as ``(public key blob, comment)`` pairs."""
        d = self.sendRequest(SSH_AGENTC_REQUEST_IDENTITIES, b"")
        d.addCallback(self._expect(SSH_AGENT_IDENTITIES_ANSWER))
        return d.addCallback(self._parse(self._codec.parseIdentities))

    def signData(self, blob: bytes, data: bytes, flags: int = 0) -> Deferred[bytes]:
        """
        Have the agent sign ``data`` with the key of ``blob``; fires with the SSH signature.

        :param flags: ``SSH_AGENT_RSA_SHA2_256``/``_512`` for RSA's SHA-2 signatures (see
            :func:`signatureFlags`).
        """
        d = self.sendRequest(SSH_AGENTC_SIGN_REQUEST, AgentCodec.packSignRequest(blob, data, flags))
        d.addCallback(self._expect(SSH_AGENT_SIGN_RESPONSE))
        return d.addCallback(self._parse(self._codec.parseString))

    def addIdentity(
        self,
        blob: bytes,
        comment: bytes = b"",
        confirm: bool = False,
        lifetime: int | None = None,
        destinations: tuple[DestinationConstraint, ...] = (),
    ) -> Deferred[None]:
        """
        Give the agent a key: ``blob`` is :meth:`Key.privateBlob`.

        :param confirm: the agent must ask before each signature (``ssh-add -c``).
        :param lifetime: seconds after which the agent forgets the key (``ssh-add -t``).
        :param destinations: the only hops the key may be used for (``ssh-add -h``).
        """
        if confirm or lifetime is not None or destinations:
            constraints = AgentCodec.packConstraints(confirm, lifetime, destinations)
            d = self.sendRequest(
                SSH_AGENTC_ADD_ID_CONSTRAINED, blob + string(comment) + constraints
            )
        else:
            d = self.sendRequest(SSH_AGENTC_ADD_IDENTITY, blob + string(comment))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def bindSession(
        self, hostKey: bytes, sessionID: bytes, signature: bytes, forwarding: bool = False
    ) -> Deferred[None]:
        """
        Tell the agent which SSH session this connection serves
        (``session-bind@openssh.com``, as ``ssh`` does after key exchange), so keys with
        destination constraints can be checked.

        :param hostKey: the server's host key blob.
        :param signature: the host key's signature of ``sessionID`` from the key exchange.
        :param forwarding: the connection is forwarded to that server (``ssh -A``) rather
            than used to log in to it.
        """
        body = packSessionBind(hostKey, sessionID, signature, forwarding)
        d = self.sendRequest(SSH_AGENTC_EXTENSION, body)
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def lock(self, passphrase: bytes) -> Deferred[None]:
        """Lock the agent (``ssh-add -x``): no keys are listed or used until :meth:`unlock`."""
        d = self.sendRequest(SSH_AGENTC_LOCK, string(passphrase))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def unlock(self, passphrase: bytes) -> Deferred[None]:
        """Unlock the agent (``ssh-add -X``); a wrong passphrase fails with ConchError."""
        d = self.sendRequest(SSH_AGENTC_UNLOCK, string(passphrase))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def removeIdentity(self, blob: bytes) -> Deferred[None]:
        """Remove the key of the public ``blob``."""
        d = self.sendRequest(SSH_AGENTC_REMOVE_IDENTITY, string(blob))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def removeAllIdentities(self) -> Deferred[None]:
        """Remove every key."""
        d = self.sendRequest(SSH_AGENTC_REMOVE_ALL_IDENTITIES, b"")
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)


@attrs.frozen
class KeyConstraints:
    """
    What ``ssh-add -c``/``-t`` asked of a key held by :class:`SSHAgentServer`.

    :ivar confirm: every signature needs :meth:`SSHAgentServer.confirmSignature`'s yes.
    :ivar expiry: the reactor's call that removes the key when its lifetime ends.
    :ivar destinations: the hops the key may be used for (``ssh-add -h``); empty for any.
    """

    confirm: bool = False
    expiry: IDelayedCall | None = None
    destinations: tuple[DestinationConstraint, ...] = ()


def hopHasHostKey(hop: Hop, blob: bytes) -> bool:
    """
    Whether the host key ``blob`` belongs to ``hop``, as OpenSSH's agent decides: a plain key
    listed as such, or a host certificate issued by one of the hop's CA keys, valid now for
    the hop's host name.
    """
    if hop.hasKey(blob):
        return True
    authorities = {spec.blob for spec in hop.keys if spec.isCA}
    if not authorities:
        return False
    try:
        certificate = Key.fromString(blob, type="blob").certificate
    except BadKeyError:
        return False
    if certificate is None or certificate.signatureKey.blob() not in authorities:
        return False
    try:
        certificate.checkAuthority(CERT_HOST, hop.hostname)
    except BadCertificateError:
        return False
    return True


class SSHAgentServer(protocol.Protocol):
    """
    An agent over ``self.factory.keys``: public key blob to ``(Key, comment)``, as in
    Twisted. Other attributes of the factory, set on first use when missing, hold what all
    connections share:

    - ``keyConstraints``: blob to :class:`KeyConstraints` for constrained keys;
    - ``lockHash``: the scrypt hash of the passphrase the agent is locked with, or ``None``;
    - ``reactor`` (optional): the clock that ends key lifetimes;
    - ``confirmSignature`` (optional): ``(key, comment) -> bool`` or a ``Deferred``, asked
      before a confirm-constrained key signs; without it such keys never sign.

    A locked agent lists no keys and refuses everything but ``UNLOCK`` (the passphrase is
    stored hashed and compared in constant time).

    Keys added with destination constraints (``ssh-add -h``) are listed and sign only as
    OpenSSH's agent allows: each connection keeps the ``session-bind@openssh.com`` bindings
    ``ssh`` sent on it (host key signatures checked); such a key signs only a ``publickey``
    login request on a bound connection, for the session bound last, as a user and to a host
    its hops allow (through the forwarding hosts bound before); a connection whose binding
    failed gets none of them.
    """

    _log = Logger()

    def __init__(self, limits: Limits | None = None) -> None:
        self._codec = AgentCodec(limits)
        self._queue: deque[Any] = deque()
        self._busy = False
        self._bindings: list[SessionBinding] = []
        self._bindingFailed = False

    def _keys(self) -> dict[bytes, tuple[Key, bytes]]:
        keys = getattr(getattr(self, "factory", None), "keys", None)
        if keys is None:
            raise MissingKeyStoreError("the agent's factory has no keys")
        return keys

    def _shared(self, name: str, default: Any) -> Any:
        """An attribute of the factory shared by every connection (made when missing)."""
        factory = self.factory
        if not hasattr(factory, name):
            setattr(factory, name, default)
        return getattr(factory, name)

    def _constraints(self) -> dict[bytes, KeyConstraints]:
        constraints: dict[bytes, KeyConstraints] = self._shared("keyConstraints", {})
        return constraints

    def confirmSignature(self, key: Key, comment: bytes) -> bool | Deferred[bool]:
        """
        Whether a key added with ``ssh-add -c`` may sign now: the factory's
        ``confirmSignature`` decides; without one the answer is no.
        """
        confirm = getattr(getattr(self, "factory", None), "confirmSignature", None)
        if confirm is None:
            return False
        result: bool | Deferred[bool] = confirm(key, comment)
        return result

    def dataReceived(self, data: bytes) -> None:
        try:
            messages = self._codec.receiveData(data)
            if len(self._queue) + len(messages) > self._codec.limits.maxPending:
                raise AgentProtocolError("too many requests waiting")
        except AgentProtocolError as e:
            self._protocolError(e)
            return
        self._queue.extend(messages)
        self._work()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._queue.clear()

    def _protocolError(self, e: AgentProtocolError) -> None:
        self._log.info("agent protocol error: {error}", error=str(e))
        self._queue.clear()
        self.transport.loseConnection()

    def _work(self) -> None:
        """Answer the waiting requests in order; a confirmation holds the ones after it."""
        while self._queue and not self._busy:
            message = self._queue.popleft()
            try:
                answer = self._handle(message.kind, message.body)
            except AgentProtocolError as e:
                self._protocolError(e)
                return
            if isinstance(answer, Deferred):
                self._busy = True
                answer.addErrback(self._confirmFailed)
                answer.addCallback(self._answered)
                return
            self.transport.write(answer)

    def _confirmFailed(self, failure: Failure) -> bytes:
        self._log.failure("confirming a signature failed", failure)
        return AgentCodec.send(SSH_AGENT_FAILURE)

    def _answered(self, answer: bytes) -> None:
        self._busy = False
        if self.transport is not None and not getattr(self.transport, "disconnected", False):
            self.transport.write(answer)
        self._work()

    def _handle(self, kind: int, body: bytes) -> bytes | Deferred[bytes]:
        keys = self._keys()
        lockHash = self._shared("lockHash", None)
        if lockHash is not None:
            if kind == SSH_AGENTC_UNLOCK:
                passphrase = self._codec.parseString(body)
                if not scryptVerify(passphrase, lockHash):
                    return AgentCodec.send(SSH_AGENT_FAILURE)
                self.factory.lockHash = None
                return AgentCodec.send(SSH_AGENT_SUCCESS)
            if kind == SSH_AGENTC_REQUEST_IDENTITIES:
                return AgentCodec.send(SSH_AGENT_IDENTITIES_ANSWER, AgentCodec.packIdentities([]))
            return AgentCodec.send(SSH_AGENT_FAILURE)
        if kind == SSH_AGENTC_REQUEST_IDENTITIES:
            identities = [
                (blob, comment)
                for blob, (_, comment) in keys.items()
                if self._permitted(blob, None)
            ]
            return AgentCodec.send(
                SSH_AGENT_IDENTITIES_ANSWER, AgentCodec.packIdentities(identities)
            )
        if kind == SSH_AGENTC_SIGN_REQUEST:
            return self._sign(keys, body)
        if kind in (SSH_AGENTC_ADD_IDENTITY, SSH_AGENTC_ADD_ID_CONSTRAINED):
            return self._add(keys, body, kind == SSH_AGENTC_ADD_ID_CONSTRAINED)
        if kind == SSH_AGENTC_REMOVE_IDENTITY:
            blob = self._codec.parseString(body)
            if keys.pop(blob, None) is None:
                return AgentCodec.send(SSH_AGENT_FAILURE)
            self._dropConstraints(blob)
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        if kind == SSH_AGENTC_REMOVE_ALL_IDENTITIES:
            for blob in list(keys):
                self._dropConstraints(blob)
            keys.clear()
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        if kind == SSH_AGENTC_LOCK:
            passphrase = self._codec.parseString(body)
            self.factory.lockHash = scryptHash(passphrase)
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        if kind == SSH_AGENTC_EXTENSION:
            return self._extension(body)
        # Unlocking an agent that is not locked, other extensions and smartcards are refused.
        return AgentCodec.send(SSH_AGENT_FAILURE)

    def _permitted(self, blob: bytes, user: bytes | None) -> bool:
        """Whether this connection's bindings allow the key (``user``: to sign a login)."""
        constraints = self._constraints().get(blob)
        if constraints is None or not constraints.destinations:
            return True
        if self._bindingFailed:
            return False
        return permitted(constraints.destinations, self._bindings, user, hopHasHostKey)

    def _extension(self, body: bytes) -> bytes:
        """``session-bind@openssh.com``; any other extension is refused."""
        r = Reader(body, maxString=self._codec.limits.maxMessageLength)
        try:
            name = r.string()
        except DecodeError:
            raise AgentProtocolError("malformed extension request") from None
        if name != SESSION_BIND:
            return AgentCodec.send(SSH_AGENT_FAILURE)
        if self._bind(r):
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        self._bindingFailed = True
        return AgentCodec.send(SSH_AGENT_FAILURE)

    def _bind(self, r: Reader) -> bool:
        """Record a binding, as OpenSSH's agent does; ``False`` when it is refused."""
        try:
            hostKey, sessionID, signature, forwarding = parseSessionBind(r)
            key = Key.fromString(hostKey, type="blob")
        except (ValueError, BadKeyError):
            return False
        if not key.verify(signature, sessionID):
            self._log.info("agent: a session binding with a bad host key signature")
            return False
        for bound in self._bindings:
            if not bound.forwarding:
                return False  # bound for a login already: nothing may follow
            if bound.sessionID == sessionID:
                return bound.hostKey == hostKey  # the same binding again is fine
        if len(self._bindings) >= self._codec.limits.maxSessionBindings:
            return False
        self._bindings.append(SessionBinding(hostKey, sessionID, forwarding))
        return True

    def _destinationAllows(self, blob: bytes, data: bytes) -> bool:
        """Whether a destination-constrained key may sign ``data`` on this connection."""
        if not self._bindings:
            return False  # only bound connections sign with such keys
        try:
            sessionID, user, hostKey = parseUserauthRequest(data, blob)
        except ValueError:
            return False  # only login requests are signed with such keys
        last = self._bindings[-1]
        if not self._permitted(blob, user) or sessionID != last.sessionID:
            return False
        if hostKey is None:
            # Only the first hop may leave the host key out of the request.
            return len(self._bindings) == 1
        return hostKey == last.hostKey

    def _sign(self, keys: dict[bytes, tuple[Key, bytes]], body: bytes) -> bytes | Deferred[bytes]:
        blob, data, flags = self._codec.parseSignRequest(body)
        entry = keys.get(blob)
        if entry is None:
            return AgentCodec.send(SSH_AGENT_FAILURE)
        key, comment = entry
        algorithm = None
        if key.type() == "RSA":
            if flags & SSH_AGENT_RSA_SHA2_512:
                algorithm = b"rsa-sha2-512"
            elif flags & SSH_AGENT_RSA_SHA2_256:
                algorithm = b"rsa-sha2-256"
            else:
                algorithm = b"ssh-rsa"

        def sign(allowed: bool) -> bytes:
            # The key may have been removed while the user was asked.
            if allowed is not True or keys.get(blob) is not entry:
                return AgentCodec.send(SSH_AGENT_FAILURE)
            return AgentCodec.send(SSH_AGENT_SIGN_RESPONSE, string(key.sign(data, algorithm)))

        constraints = self._constraints().get(blob)
        if constraints is not None and constraints.destinations:
            if not self._destinationAllows(blob, data):
                self._log.info("agent: a destination-constrained key refused to sign")
                return AgentCodec.send(SSH_AGENT_FAILURE)
        if constraints is None or not constraints.confirm:
            return sign(True)
        try:
            allowed = self.confirmSignature(key, comment)
        except Exception:
            self._log.failure("confirming a signature failed", Failure())
            return AgentCodec.send(SSH_AGENT_FAILURE)
        if isinstance(allowed, Deferred):
            return allowed.addCallback(sign)
        return sign(allowed)

    def _add(self, keys: dict[bytes, tuple[Key, bytes]], body: bytes, constrained: bool) -> bytes:
        r = Reader(body, maxString=self._codec.limits.maxMessageLength)
        try:
            key = Key.readPrivateBlob(r)
            comment = r.string()
            destinations: tuple[DestinationConstraint, ...] = ()
            if constrained:
                confirm, lifetime, destinations = AgentCodec.parseConstraints(
                    r, self._codec.limits.maxDestinations
                )
            else:
                confirm, lifetime = False, None
            r.done()
        except (BadKeyError, DecodeError, ValueError):
            return AgentCodec.send(SSH_AGENT_FAILURE)
        blob = key.blob()
        if blob not in keys and len(keys) >= self._codec.limits.maxKeys:
            return AgentCodec.send(SSH_AGENT_FAILURE)
        self._dropConstraints(blob)
        keys[blob] = (key, comment)
        if confirm or lifetime is not None or destinations:
            expiry = None
            if lifetime is not None:
                reactor = getReactor(getattr(self.factory, "reactor", None))
                entry = keys[blob]
                expiry = reactor.callLater(lifetime, self._expire, keys, blob, entry)
            self._constraints()[blob] = KeyConstraints(confirm, expiry, destinations)
        return AgentCodec.send(SSH_AGENT_SUCCESS)

    def _expire(
        self, keys: dict[bytes, tuple[Key, bytes]], blob: bytes, entry: tuple[Key, bytes]
    ) -> None:
        if keys.get(blob) is entry:
            del keys[blob]
            self._constraints().pop(blob, None)

    def _dropConstraints(self, blob: bytes) -> None:
        constraints = self._constraints().pop(blob, None)
        if constraints is not None and constraints.expiry is not None:
            if constraints.expiry.active():
                constraints.expiry.cancel()
