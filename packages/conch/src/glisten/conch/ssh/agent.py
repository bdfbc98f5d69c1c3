"""
The SSH agent protocol (draft-miller-ssh-agent, what ``ssh-agent`` speaks):
:class:`SSHAgentClient` lists keys and has them sign, :class:`SSHAgentServer` is an agent over
a key store (its factory's ``keys``).

Both are thin adapters over ``glisten.conch.ssh._agent``. The server refuses constrained keys
(``ssh-add -c``/``-t``: it could not honour the constraints) and extension requests.
"""

from __future__ import annotations

from typing import Any

from glisten.conch.error import ConchError, MissingKeyStoreError
from glisten.conch.ssh._agent._codec import (
    SSH_AGENT_FAILURE,
    SSH_AGENT_IDENTITIES_ANSWER,
    SSH_AGENT_RSA_SHA2_256,
    SSH_AGENT_RSA_SHA2_512,
    SSH_AGENT_SIGN_RESPONSE,
    SSH_AGENT_SUCCESS,
    SSH_AGENTC_ADD_IDENTITY,
    SSH_AGENTC_REMOVE_ALL_IDENTITIES,
    SSH_AGENTC_REMOVE_IDENTITY,
    SSH_AGENTC_REQUEST_IDENTITIES,
    SSH_AGENTC_SIGN_REQUEST,
    AgentCodec,
    AgentProtocolError,
    Limits,
)
from glisten.conch.ssh._ssh._errors import DecodeError
from glisten.conch.ssh._ssh._wire import Reader, string
from glisten.conch.ssh.keys import BadKeyError, Key
from glisten.internet import protocol
from glisten.internet.defer import Deferred
from glisten.internet.error import ConnectionLost
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = [
    "SSH_AGENTC_ADD_IDENTITY",
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
    "Limits",
    "SSHAgentClient",
    "SSHAgentServer",
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

    def addIdentity(self, blob: bytes, comment: bytes = b"") -> Deferred[None]:
        """Give the agent a key: ``blob`` is :meth:`Key.privateBlob`."""
        d = self.sendRequest(SSH_AGENTC_ADD_IDENTITY, blob + string(comment))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def removeIdentity(self, blob: bytes) -> Deferred[None]:
        """Remove the key of the public ``blob``."""
        d = self.sendRequest(SSH_AGENTC_REMOVE_IDENTITY, string(blob))
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)

    def removeAllIdentities(self) -> Deferred[None]:
        """Remove every key."""
        d = self.sendRequest(SSH_AGENTC_REMOVE_ALL_IDENTITIES, b"")
        return d.addCallback(self._expect(SSH_AGENT_SUCCESS)).addCallback(lambda _: None)


class SSHAgentServer(protocol.Protocol):
    """
    An agent over ``self.factory.keys``: public key blob to ``(Key, comment)``, as in
    Twisted.
    """

    _log = Logger()

    def __init__(self, limits: Limits | None = None) -> None:
        self._codec = AgentCodec(limits)

    def _keys(self) -> dict[bytes, tuple[Key, bytes]]:
        keys = getattr(getattr(self, "factory", None), "keys", None)
        if keys is None:
            raise MissingKeyStoreError("the agent's factory has no keys")
        return keys

    def dataReceived(self, data: bytes) -> None:
        try:
            for message in self._codec.receiveData(data):
                self.transport.write(self._handle(message.kind, message.body))
        except AgentProtocolError as e:
            self._log.info("agent protocol error: {error}", error=str(e))
            self.transport.loseConnection()

    def _handle(self, kind: int, body: bytes) -> bytes:
        keys = self._keys()
        if kind == SSH_AGENTC_REQUEST_IDENTITIES:
            identities = [(blob, comment) for blob, (_, comment) in keys.items()]
            return AgentCodec.send(
                SSH_AGENT_IDENTITIES_ANSWER, AgentCodec.packIdentities(identities)
            )
        if kind == SSH_AGENTC_SIGN_REQUEST:
            blob, data, flags = self._codec.parseSignRequest(body)
            entry = keys.get(blob)
            if entry is None:
                return AgentCodec.send(SSH_AGENT_FAILURE)
            key = entry[0]
            algorithm = None
            if key.type() == "RSA":
                if flags & SSH_AGENT_RSA_SHA2_512:
                    algorithm = b"rsa-sha2-512"
                elif flags & SSH_AGENT_RSA_SHA2_256:
                    algorithm = b"rsa-sha2-256"
                else:
                    algorithm = b"ssh-rsa"
            signature = key.sign(data, algorithm)
            return AgentCodec.send(SSH_AGENT_SIGN_RESPONSE, string(signature))
        if kind == SSH_AGENTC_ADD_IDENTITY:
            r = Reader(body, maxString=self._codec.limits.maxMessageLength)
            try:
                key = Key.readPrivateBlob(r)
                comment = r.string()
                r.done()
            except (BadKeyError, DecodeError):
                return AgentCodec.send(SSH_AGENT_FAILURE)
            if key.blob() not in keys and len(keys) >= self._codec.limits.maxKeys:
                return AgentCodec.send(SSH_AGENT_FAILURE)
            keys[key.blob()] = (key, comment)
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        if kind == SSH_AGENTC_REMOVE_IDENTITY:
            blob = self._codec.parseString(body)
            if keys.pop(blob, None) is None:
                return AgentCodec.send(SSH_AGENT_FAILURE)
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        if kind == SSH_AGENTC_REMOVE_ALL_IDENTITIES:
            keys.clear()
            return AgentCodec.send(SSH_AGENT_SUCCESS)
        # Constrained keys (ADD_ID_CONSTRAINED: their limits could not be kept), extensions,
        # smartcards and locking are refused.
        return AgentCodec.send(SSH_AGENT_FAILURE)
