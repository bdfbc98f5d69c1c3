"""
User authentication (RFC 4252): the server through ``glisten.cred``, and the client.

The server offers ``publickey`` (with the query step), ``password`` and
``keyboard-interactive`` (RFC 4256: one password prompt) when the portal has a checker for
passwords, and ``keyboard-interactive`` driven by the checker (any number of rounds and
prompts, through :class:`glisten.conch.pam.PluggableAuthenticationModules` credentials) when
it has one for :class:`glisten.conch.pam.IPluggableAuthenticationModules`; it answers ``none`` with the list, counts failed attempts (disconnecting after
:attr:`SSHUserAuthServer.attemptsBeforeDisconnect`) and waits
:attr:`SSHUserAuthServer.passwordDelay` seconds before answering a failed password. A checker
that raises :class:`~glisten.conch.error.PasswordChangeRequired` for a right but expired
password makes the server ask for a new one, when the portal also has a checker for
:class:`~glisten.conch.checkers.IUsernamePasswordChange` credentials: PASSWD_CHANGEREQ for
``password`` (RFC 4252 section 8; the client's change request is checked as those
credentials, and a refused new password is asked for again, counted as a failed attempt), a
second round asking for the new password twice for ``keyboard-interactive``.

The client tries ``publickey``, ``password`` then ``keyboard-interactive``, answering prompts
through :meth:`SSHUserAuthClient.getGenericAnswers` and a server's request for a new password
(PASSWD_CHANGEREQ) through :meth:`SSHUserAuthClient.getPassword` with the server's prompt.
"""

from __future__ import annotations

from typing import Any

from glisten.conch import error, interfaces, pam
from glisten.conch.checkers import IUsernamePasswordChange, SSHPrivateKey, UsernamePasswordChange
from glisten.conch.ssh import service
from glisten.conch.ssh._ssh import _userauth as ua
from glisten.conch.ssh._ssh._certificates import CERT_ALGORITHM_FOR, plainAlgorithm
from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE,
    DISCONNECT_SERVICE_NOT_AVAILABLE,
    SSHProtocolError,
)
from glisten.conch.ssh._ssh._limits import DEFAULT_PUBLIC_KEY_ALGORITHMS
from glisten.conch.ssh.keys import BadKeyError, Key
from glisten.cred import credentials
from glisten.cred.error import UnauthorizedLogin
from glisten.internet.defer import Deferred, maybeDeferred
from glisten.python.failure import Failure

__all__ = [
    "MSG_USERAUTH_BANNER",
    "MSG_USERAUTH_FAILURE",
    "MSG_USERAUTH_INFO_REQUEST",
    "MSG_USERAUTH_INFO_RESPONSE",
    "MSG_USERAUTH_PASSWD_CHANGEREQ",
    "MSG_USERAUTH_PK_OK",
    "MSG_USERAUTH_REQUEST",
    "MSG_USERAUTH_SUCCESS",
    "SSHUserAuthClient",
    "SSHUserAuthServer",
]

MSG_USERAUTH_REQUEST = ua.MSG_USERAUTH_REQUEST
MSG_USERAUTH_FAILURE = ua.MSG_USERAUTH_FAILURE
MSG_USERAUTH_SUCCESS = ua.MSG_USERAUTH_SUCCESS
MSG_USERAUTH_BANNER = ua.MSG_USERAUTH_BANNER
MSG_USERAUTH_PK_OK = ua.MSG_USERAUTH_PK_OK
MSG_USERAUTH_PASSWD_CHANGEREQ = ua.MSG_USERAUTH_PASSWD_CHANGEREQ
MSG_USERAUTH_INFO_REQUEST = ua.MSG_USERAUTH_INFO_REQUEST
MSG_USERAUTH_INFO_RESPONSE = ua.MSG_USERAUTH_INFO_RESPONSE


class SSHUserAuthServer(service.SSHService):
    """
    The server side of ``ssh-userauth``.

    :cvar attemptsBeforeDisconnect: failed attempts before DISCONNECT.
    :cvar passwordDelay: seconds to wait before answering a failed password.
    :cvar bannerText: shown to users before they log in, when set.
    :cvar supportedPublicKeyAlgorithms: signature algorithms accepted (``ssh-rsa`` is opt-in).
    :cvar keyboardInteractivePrompt: the prompt ``keyboard-interactive`` shows for the
        password (checked as ``IUsernamePassword``); ``None`` turns the method off.
    """

    name = b"ssh-userauth"
    attemptsBeforeDisconnect = 20
    passwordDelay = 1.0
    bannerText: str | None = None
    supportedPublicKeyAlgorithms: tuple[bytes, ...] = DEFAULT_PUBLIC_KEY_ALGORITHMS
    interfaceToMethod = {
        credentials.ISSHPrivateKey: b"publickey",
        credentials.IUsernamePassword: b"password",
        pam.IPluggableAuthenticationModules: b"keyboard-interactive",
    }
    clock: Any = None
    keyboardInteractivePrompt: str | None = "Password: "

    def serviceStarted(self) -> None:
        self.portal = self.transport.factory.portal
        self._machine = ua.UserAuthServerMachine(
            self.transport.sessionID, self.attemptsBeforeDisconnect
        )
        self.supportedAuthentications: list[bytes] = []
        for iface in self.portal.listCredentialsInterfaces():
            method = self.interfaceToMethod.get(iface)
            if method is not None and method not in self.supportedAuthentications:
                self.supportedAuthentications.append(method)
        kbdInt = b"keyboard-interactive"
        if (
            b"password" in self.supportedAuthentications
            and self.keyboardInteractivePrompt
            and kbdInt not in self.supportedAuthentications
        ):
            self.supportedAuthentications.append(kbdInt)
        self._pamRequest: ua.AuthRequest | None = None
        self._kbdRequest: ua.AuthRequest | None = None
        self._answers: Deferred[list[bytes]] | None = None
        if self.clock is None:
            self.clock = self.transport._reactor()
        self._pending: Any = None
        if self.bannerText:
            self.transport.sendPacket(*self._machine.banner(self.bannerText))

    def serviceStopped(self) -> None:
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None and pending.active():
            pending.cancel()

    def packetReceived(self, messageNum: int, packet: bytes) -> None:
        try:
            request = self._machine.receive(messageNum, packet)
        except SSHProtocolError:
            self._answers = None
            raise
        if isinstance(request, ua.InfoResponse):
            answers, self._answers = self._answers, None
            assert answers is not None
            answers.callback(request.responses)
            return
        # A new request abandons a keyboard-interactive exchange; its Deferred never fires.
        self._answers = None
        self._pamRequest = None
        self._kbdRequest = None
        self.user = request.username
        self.nextService = request.service
        d = self.tryAuth(request)
        d.addCallbacks(self._cbFinishedAuth, self._ebBadAuth, errbackArgs=(request,))

    def tryAuth(self, request: ua.AuthRequest) -> Deferred[Any]:
        """Log in through the portal with the credentials of ``request``."""
        method = request.method
        if method not in self.supportedAuthentications:
            return _failed(error.ConchError("unsupported method"))
        if method == b"password" and request.newPassword is not None:
            if not self._canChangePasswords():
                return _failed(error.ConchError("password changes not supported"))
            creds: Any = UsernamePasswordChange(
                request.username, request.password or b"", request.newPassword
            )
        elif method == b"password":
            creds = credentials.UsernamePassword(request.username, request.password or b"")
        elif method == b"keyboard-interactive":
            return self._keyboardInteractive(request)
        else:
            assert request.algorithm is not None and request.blob is not None
            # A certificate algorithm is allowed when its plain algorithm is.
            if plainAlgorithm(request.algorithm) not in self.supportedPublicKeyAlgorithms:
                return _failed(error.ConchError("signature algorithm not allowed"))
            try:
                key = Key.fromString(request.blob, "blob")
            except BadKeyError:
                return _failed(error.ConchError("bad public key"))
            if request.algorithm not in key.supportedSignatureAlgorithms():
                return _failed(error.ConchError("signature algorithm does not match the key"))
            if request.signature is not None:
                sigAlg = _signatureAlgorithm(request.signature)
                if sigAlg != plainAlgorithm(request.algorithm):
                    return _failed(error.ConchError("signature algorithm mismatch"))
            creds = SSHPrivateKey(
                request.username,
                request.algorithm,
                request.blob,
                request.signedData,
                request.signature,
                self._peerAddress(),
            )
        return self.portal.login(creds, None, interfaces.IConchUser)

    def _keyboardInteractive(self, request: ua.AuthRequest) -> Deferred[Any]:
        """
        With a checker for PAM-style credentials, let it converse; otherwise ask for the
        password in one INFO_REQUEST, then log in with the answer.
        """
        if pam.IPluggableAuthenticationModules in self.portal.listCredentialsInterfaces():
            self._pamRequest = request
            creds = pam.PluggableAuthenticationModules(
                request.username, lambda items: self._pamConversation(request, items)
            )
            return self.portal.login(creds, None, interfaces.IConchUser)
        assert self.keyboardInteractivePrompt is not None
        self._kbdRequest = request
        self._answers = Deferred()
        self.transport.sendPacket(
            *self._machine.infoRequest("", "", [(self.keyboardInteractivePrompt, False)])
        )

        def login(responses: list[bytes]) -> Deferred[Any]:
            creds = credentials.UsernamePassword(request.username, responses[0])
            d = self.portal.login(creds, None, interfaces.IConchUser)
            return d.addErrback(self._keyboardInteractiveChange, request, responses[0])

        return self._answers.addCallback(login)

    def _canChangePasswords(self) -> bool:
        """Whether the portal has a checker that changes passwords."""
        return IUsernamePasswordChange in self.portal.listCredentialsInterfaces()

    def _keyboardInteractiveChange(
        self, reason: Failure, request: ua.AuthRequest, old: bytes
    ) -> Deferred[Any] | Failure:
        """
        A right but expired password given to ``keyboard-interactive``: ask for the new one
        twice in a second round (with why as the instruction), then change it.
        """
        changeRequired = reason.value
        if not isinstance(changeRequired, error.PasswordChangeRequired):
            return reason
        if not self._canChangePasswords():
            return reason
        if self._answers is not None or request is not self._kbdRequest:
            return reason
        instruction = changeRequired.prompt
        prompts = [("New password: ", False), ("Retype new password: ", False)]
        self._answers = Deferred()
        self.transport.sendPacket(*self._machine.infoRequest("", instruction, prompts))

        def change(responses: list[bytes]) -> Deferred[Any]:
            if responses[0] != responses[1]:
                return _failed(UnauthorizedLogin("the new passwords differ"))
            creds = UsernamePasswordChange(request.username, old, responses[0])
            return self.portal.login(creds, None, interfaces.IConchUser)

        return self._answers.addCallback(change)

    def _pamConversation(
        self, request: ua.AuthRequest, items: Any
    ) -> Deferred[list[tuple[bytes, int]]]:
        """
        One round of a checker's conversation: its prompts as one INFO_REQUEST, its
        information and error messages as the round's instruction.
        """
        if self._pamRequest is not request:
            # The client abandoned this login for another request; it is answered no more.
            return Deferred()
        if self._answers is not None:
            return _failed(error.ConchError("a conversation round is already waiting"))
        prompts: list[tuple[str, bool]] = []
        messages: list[str] = []
        kinds: list[int] = []
        for message, kind in items:
            text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
            if kind in (pam.PAM_PROMPT_ECHO_OFF, pam.PAM_PROMPT_ECHO_ON):
                prompts.append((text, kind == pam.PAM_PROMPT_ECHO_ON))
            elif kind in (pam.PAM_TEXT_INFO, pam.PAM_ERROR_MSG):
                messages.append(text)
            else:
                return _failed(error.ConchError("unknown PAM message kind"))
            kinds.append(kind)
        try:
            packet = self._machine.infoRequest("", "\n".join(messages), prompts)
        except ValueError:
            return _failed(error.ConchError("too many prompts, or no login to ask for"))
        self._answers = Deferred()
        self.transport.sendPacket(*packet)

        def pair(responses: list[bytes]) -> list[tuple[bytes, int]]:
            answers = iter(responses)
            return [
                (
                    next(answers)
                    if kind in (pam.PAM_PROMPT_ECHO_OFF, pam.PAM_PROMPT_ECHO_ON)
                    else b"",
                    0,
                )
                for kind in kinds
            ]

        return self._answers.addCallback(pair)

    def _peerAddress(self) -> str | None:
        """The client's IP address (for ``from=`` options), when the connection has one."""
        peer = getattr(self.transport.transport, "getPeer", lambda: None)()
        host = getattr(peer, "host", None)
        return host if isinstance(host, str) else None

    def _cbFinishedAuth(self, result: Any) -> None:
        iface, avatar, logout = result
        serviceClass = self.transport.factory.services.get(self.nextService)
        if serviceClass is None or self.nextService == self.name:
            logout()
            self.transport.sendDisconnect(DISCONNECT_SERVICE_NOT_AVAILABLE, b"unknown service")
            return
        self.transport.avatar = avatar
        self.transport.logoutFunction = logout
        self.transport.sendPacket(*self._machine.success())
        self.transport.setService(serviceClass())

    def _ebBadAuth(self, reason: Failure, request: ua.AuthRequest) -> None:
        if reason.check(error.ValidPublicKey):
            assert request.algorithm is not None and request.blob is not None
            self.transport.sendPacket(*self._machine.publicKeyOK(request.algorithm, request.blob))
            return
        if reason.check(error.NotEnoughAuthentication):
            self._sendFailure(partial=True, counts=False)
            return
        changeRequired = reason.value
        if (
            isinstance(changeRequired, error.PasswordChangeRequired)
            and request.method == b"password"
            and self._canChangePasswords()
        ):
            # The password was right: ask for a new one (RFC 4252 section 8). A refused new
            # password counts as an attempt, so the loop ends.
            try:
                packet = self._machine.passwordChangeRequest(
                    changeRequired.prompt, counts=request.newPassword is not None
                )
            except SSHProtocolError as e:
                self.transport.sendDisconnect(e.reasonCode, e.message.encode())
                return
            self.transport.sendPacket(*packet)
            return
        counts = request.method not in (b"none",) and not reason.check(error.IgnoreAuthentication)
        if not reason.check(UnauthorizedLogin, error.ConchError, error.IgnoreAuthentication):
            self._log.failure("error checking credentials", reason)
        if request.method in (b"password", b"keyboard-interactive") and self.passwordDelay > 0:
            self._pending = self.clock.callLater(
                self.passwordDelay, self._sendFailure, False, counts
            )
            return
        self._sendFailure(False, counts)

    def _sendFailure(self, partial: bool = False, counts: bool = True) -> None:
        self._pending = None
        try:
            packet = self._machine.failure(self.supportedAuthentications, partial, counts)
        except SSHProtocolError as e:
            self.transport.sendDisconnect(e.reasonCode, e.message.encode())
            return
        self.transport.sendPacket(*packet)


def _failed(exc: Exception) -> Deferred[Any]:
    from glisten.internet.defer import fail

    return fail(Failure(exc))


def _signatureAlgorithm(signature: bytes) -> bytes | None:
    from glisten.conch.ssh._ssh._wire import Reader

    try:
        return Reader(signature).string()
    except SSHProtocolError:
        return None


class SSHUserAuthClient(service.SSHService):
    """
    The client side of ``ssh-userauth``.

    Override :meth:`getPublicKey`, :meth:`getPrivateKey`, :meth:`getPassword` and
    :meth:`getGenericAnswers`; methods are tried in :attr:`preferredOrder` among those the
    server allows.

    :param user: the user name.
    :param instance: the service to start once logged in (usually an SSHConnection).
    """

    name = b"ssh-userauth"
    preferredOrder = [b"publickey", b"password", b"keyboard-interactive"]

    def __init__(self, user: bytes | str, instance: Any) -> None:
        self.user = user.encode("utf-8") if isinstance(user, str) else user
        self.instance = instance
        self.authenticatedWith: list[bytes] = []
        self.triedPublicKeys: list[Key] = []
        self.lastAuth: bytes | None = None
        self.lastPublicKey: Key | None = None
        self._lastKey: Key | None = None
        self._lastAlg: bytes = b""
        self._noMoreAnswers = False
        # The password of the pending ``password`` request: the old one of a change request.
        self._sentPassword: bytes | None = None
        self._changeRequests = 0
        self._noMorePasswords = False

    def serviceStarted(self) -> None:
        self.askForAuth(b"none", b"")

    def askForAuth(self, kind: bytes, extraData: bytes) -> None:
        """Send a USERAUTH_REQUEST of method ``kind``."""
        self.lastAuth = kind
        self.transport.sendPacket(*ua.encodeRequest(self.user, self.instance.name, kind, extraData))

    def packetReceived(self, messageNum: int, packet: bytes) -> None:
        if messageNum == ua.MSG_USERAUTH_SUCCESS:
            self._sentPassword = None
            self.transport.setService(self.instance)
        elif messageNum == ua.MSG_USERAUTH_FAILURE:
            self._sentPassword = None
            methods, partial = ua.decodeFailure(packet)
            if partial and self.lastAuth:
                self.authenticatedWith.append(self.lastAuth)
            self._tryNext(methods)
        elif messageNum == ua.MSG_USERAUTH_PK_OK and self.lastAuth == b"publickey":
            self._signAndSend()
        elif (
            messageNum == ua.MSG_USERAUTH_INFO_REQUEST and self.lastAuth == b"keyboard-interactive"
        ):
            self._answerInfoRequest(ua.decodeInfoRequest(packet))
        elif (
            messageNum == ua.MSG_USERAUTH_PASSWD_CHANGEREQ
            and self.lastAuth == b"password"
            and self._sentPassword is not None
        ):
            self._changePassword(ua.decodePasswordChangeRequest(packet))
        elif messageNum == ua.MSG_USERAUTH_BANNER:
            self.displayBanner(ua.decodeBanner(packet))
        else:
            raise SSHProtocolError(2, "unexpected authentication message")

    def displayBanner(self, text: bytes) -> None:
        """Show the server's banner; ignored by default (it is the peer's text)."""

    def _tryNext(self, methods: list[bytes]) -> None:
        for method in self.preferredOrder:
            if method in methods and method not in self.authenticatedWith:
                if method == b"publickey" and self._tryPublicKey():
                    return
                if method == b"password" and not self._noMorePasswords and self._tryPassword():
                    return
                if method == b"keyboard-interactive" and not self._noMoreAnswers:
                    self.askForAuth(method, ua.encodeKeyboardInteractive())
                    return
        self.transport.sendDisconnect(
            DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, b"no more authentication methods available"
        )

    def _tryPublicKey(self) -> bool:
        offered = self.getPublicKey()
        if offered is None:
            return False
        if isinstance(offered, bytes):
            # Twisted clients may return a blob (or an OpenSSH public key line).
            try:
                key = Key.fromString(offered, "blob")
            except BadKeyError:
                key = Key.fromString(offered)
        else:
            key = offered
        self.triedPublicKeys.append(key)
        self.lastPublicKey = key
        self._lastKey = key
        self._lastAlg = self._signatureAlgorithmFor(key)
        self.lastAuth = b"publickey"
        self.askForAuth(b"publickey", ua.encodePublicKey(self._lastAlg, key.blob(), None))
        return True

    def _signatureAlgorithmFor(self, key: Key) -> bytes:
        if key.type() != "RSA":
            return key.sshType()
        serverAlgs = getattr(self.transport, "peerExtensions", {}).get(b"server-sig-algs", b"")
        allowed = serverAlgs.split(b",") if serverAlgs else []
        chosen = b"rsa-sha2-256"
        for alg in (b"rsa-sha2-512", b"rsa-sha2-256"):
            if not allowed or alg in allowed:
                chosen = alg
                break
        # A certificate is offered under the certificate form of the same algorithm.
        return CERT_ALGORITHM_FOR[chosen] if key.certificate is not None else chosen

    def _signAndSend(self) -> None:
        key = self._lastKey
        if key is None:
            raise SSHProtocolError(2, "unexpected PK_OK")
        blob = key.blob()
        data = ua.publicKeySignedData(
            self.transport.sessionID, self.user, self.instance.name, self._lastAlg, blob
        )
        d: Deferred[Any] = maybeDeferred(self.signData, key, data)

        def send(signature: bytes) -> None:
            self.askForAuth(b"publickey", ua.encodePublicKey(self._lastAlg, blob, signature))

        d.addCallbacks(send, lambda f: self._tryNext([b"password"]))

    def signData(self, publicKey: Key, signData: bytes) -> Deferred[bytes]:
        """Sign with the private key of :meth:`getPrivateKey`."""
        d: Deferred[Any] = maybeDeferred(self.getPrivateKey)
        return d.addCallback(lambda key: key.sign(signData, self._lastAlg))

    def _tryPassword(self) -> bool:
        d = self.getPassword()
        if d is None:
            return False
        self.lastAuth = b"password"

        def send(password: bytes | str) -> None:
            if isinstance(password, str):
                password = password.encode("utf-8")
            self._sentPassword = password
            self._changeRequests = 0
            self.askForAuth(b"password", ua.encodePassword(password))

        d.addCallbacks(send, lambda f: self._tryNext([]))
        return True

    #: Change requests answered for one password before giving the method up (a server may
    #: ask again when it refuses the new password).
    maxPasswordChangeRequests = 3

    def _changePassword(self, prompt: bytes) -> None:
        """
        PASSWD_CHANGEREQ (RFC 4252 section 8): the password was right but has expired. The new
        one comes from :meth:`getPassword`, given the server's prompt; the old one is the
        password just sent (Twisted asks for it again with ``b"Old Password: "``; glisten
        does not make the user type it twice).
        """
        old = self._sentPassword
        assert old is not None
        self._changeRequests += 1
        d = None
        if self._changeRequests <= self.maxPasswordChangeRequests:
            d = self.getPassword(prompt)
        if d is None:
            self._giveUpPassword()
            return

        def send(new: bytes | str) -> None:
            if isinstance(new, str):
                new = new.encode("utf-8")
            self.lastAuth = b"password"
            self.askForAuth(b"password", ua.encodePasswordChange(old, new))

        d.addCallbacks(send, lambda f: self._giveUpPassword())

    def _giveUpPassword(self) -> None:
        # Without a new password the old one cannot log in: try the other methods left.
        self._sentPassword = None
        self._noMorePasswords = True
        self.askForAuth(b"none", b"")

    def _answerInfoRequest(self, request: ua.InfoRequest) -> None:
        if not request.prompts:
            # Servers may send an empty round (an instruction, or a last step): answer it.
            self.transport.sendPacket(*ua.encodeInfoResponse([]))
            return
        d = self.getGenericAnswers(request.name, request.instruction, request.prompts)
        if d is None:
            self._giveUpKeyboardInteractive()
            return

        def send(answers: list[bytes | str]) -> None:
            encoded = [a.encode("utf-8") if isinstance(a, str) else a for a in answers]
            if len(encoded) != len(request.prompts):
                self._giveUpKeyboardInteractive()
                return
            self.transport.sendPacket(*ua.encodeInfoResponse(encoded))

        d.addCallbacks(send, lambda f: self._giveUpKeyboardInteractive())

    def _giveUpKeyboardInteractive(self) -> None:
        # A new request abandons the exchange; the server's answer lists what is left to try.
        self._noMoreAnswers = True
        self.askForAuth(b"none", b"")

    def getGenericAnswers(
        self, name: bytes, instruction: bytes, prompts: list[tuple[bytes, bool]]
    ) -> Deferred[list[bytes]] | None:
        """
        Answer a ``keyboard-interactive`` round (RFC 4256).

        :param name: the server's title for the round (the peer's text: show, never interpret).
        :param instruction: the server's instructions (likewise).
        :param prompts: ``(prompt, echo)`` pairs; ``echo`` false means a secret.
        :return: a Deferred firing with one answer per prompt, or ``None`` to stop using
            ``keyboard-interactive`` on this connection (the default).
        """
        return None

    def getPublicKey(self) -> Key | bytes | None:
        """The next public key to try, or ``None``."""
        return None

    def getPrivateKey(self) -> Deferred[Key]:
        """A Deferred firing with the private key of the last public key."""
        return _failed(error.ConchError("no private key"))

    def getPassword(self, prompt: bytes | None = None) -> Deferred[bytes] | None:
        """
        A Deferred firing with the password, or ``None`` to skip passwords.

        :param prompt: ``None`` for a login; the server's prompt (its text: show it with
            control characters replaced, never interpret it) when it asks for a new password
            because the one sent has expired. ``None`` returned then gives the password up.
        """
        return None
