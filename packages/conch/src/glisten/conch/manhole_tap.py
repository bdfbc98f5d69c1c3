"""
The ``glisten manhole`` plugin: a Python shell into the running process over Telnet and SSH,
with ``twist manhole``'s options (``--telnetPort``, ``--sshPort``, ``--passwd``,
``--sshKeyDir``) and safe defaults.

- A TCP endpoint without ``interface=`` listens on 127.0.0.1 only (``::1`` for ``tcp6``);
  Unix sockets are made with mode 0600 unless ``mode=`` says otherwise.
- A TCP (or any non-Unix) listener needs authentication: ``--passwd FILE`` (``user:password``
  lines; the password as a :func:`glisten.cred.checkers.scryptHash` string, or in clear text,
  which is accepted with a warning) or, for SSH, ``--authorizedKeys FILE``. Without either,
  only a Telnet listener on a Unix socket is allowed (its file mode is the access control);
  everything else is refused before anything listens.
- Every line entered in a manhole is logged with the peer's address.

Add a manhole to any application in one line::

    manhole_tap.makeService({"sshPort": "tcp:2222", "passwd": "manhole.passwd",
                             "namespace": {"app": app}}).setServiceParent(application)
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from zope.interface import implementer

from glisten.application import service, strports
from glisten.conch import checkers as conchCheckers
from glisten.conch import manhole, manhole_ssh, telnet
from glisten.conch.insults import insults
from glisten.conch.manhole_ssh import _text
from glisten.conch.tap import loadHostKeys
from glisten.cred import credentials, error
from glisten.cred.checkers import ScryptFilePasswordDB, scryptHash, scryptVerify
from glisten.cred.portal import IRealm, Portal
from glisten.internet import defer, protocol
from glisten.logger import Logger
from glisten.python import usage

__all__ = [
    "ManholeServiceMaker",
    "Options",
    "chainedProtocolFactory",
    "makeService",
    "serviceMaker",
]

_log = Logger()


def _defaultKeyDir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
    return os.path.join(base, "glisten", "manhole")


class Options(usage.Options):
    """The options of glisten manhole: those of twist manhole, plus --authorizedKeys."""

    synopsis = (
        "Usage: glisten manhole [--telnetPort ENDPOINT] [--sshPort ENDPOINT] [--passwd FILE]"
        " [--sshKeyDir DIR] [--authorizedKeys FILE]"
    )
    optParameters = [
        ["telnetPort", "t", None, "endpoint for Telnet connections (tcp:PORT is on 127.0.0.1)"],
        ["sshPort", "s", None, "endpoint for SSH connections (tcp:PORT is on 127.0.0.1)"],
        ["passwd", "p", None, "file of user:password lines (scrypt hashes or clear text)"],
        ["authorizedKeys", "k", None, "authorized_keys file for SSH public key logins"],
        ["sshKeyDir", None, _defaultKeyDir(), "directory of SSH host keys (made if missing)"],
    ]

    def postOptions(self) -> None:
        if self["telnetPort"] is None and self["sshPort"] is None:
            raise usage.UsageError("give --telnetPort or --sshPort (or both)")


class _PasswordFile(ScryptFilePasswordDB):
    """
    ``user:password`` lines where the password is a scrypt hash or, discouraged, clear text
    (compared in constant time). Unknown users cost a scrypt check too.
    """

    def requestAvatarId(self, creds: Any) -> defer.Deferred[Any]:
        try:
            _, stored = self.getUser(creds.username)
        except (KeyError, error.UnauthorizedLogin):
            return super().requestAvatarId(creds)
        if stored.startswith(b"$scrypt$"):
            return super().requestAvatarId(creds)
        scryptVerify(creds.password, _equalCost())  # the same cost as a hashed entry
        if hmac.compare_digest(stored, creds.password):
            return defer.succeed(creds.username)
        return defer.fail(error.UnauthorizedLogin("Invalid credentials"))


_EQUAL_COST: list[bytes] = []


def _equalCost() -> bytes:
    if not _EQUAL_COST:
        _EQUAL_COST.append(scryptHash(b"", salt=b"\x00" * 16))
    return _EQUAL_COST[0]


def _countClearPasswords(path: str) -> int:
    count = 0
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            if line and not line.startswith(b"#") and b":" in line:
                if not line.split(b":", 1)[1].startswith(b"$scrypt$"):
                    count += 1
    return count


_INTERFACE = re.compile(r"(?:^|:)interface=((?:\\.|[^:])*)")


def _isLoopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safeEndpoint(description: str, authenticated: bool, what: str) -> str:
    """
    The endpoint a manhole may listen on for ``description``: loopback when no interface is
    given, Unix sockets private by default.

    :raises usage.UsageError: a listener other than a Unix socket without authentication.
    """
    kind, _, rest = description.partition(":")
    if kind.isdigit():
        kind, rest = "tcp", description
    if kind == "unix":
        if not re.search(r"(?:^|:)mode=", rest):
            description += ":mode=600"
        return description
    if not authenticated:
        raise usage.UsageError(
            f"refusing to serve a manhole on {description!r} ({what}) without authentication:"
            " give --passwd or --authorizedKeys, or listen on a unix: socket"
        )
    if kind in ("tcp", "tcp6"):
        found = _INTERFACE.search(rest)
        if found is None:
            return f"{kind}:{rest}:interface=" + ("127.0.0.1" if kind == "tcp" else "\\:\\:1")
        host = found.group(1).replace("\\", "")
        if not _isLoopback(host):
            _log.warn(
                "manhole ({what}) listens on the non-loopback address {host}", what=what, host=host
            )
    return description


def chainedProtocolFactory(namespace: dict[str, Any]) -> Callable[[], insults.ServerProtocol]:
    """What each SSH manhole session runs: a ColoredManhole on ``namespace``."""

    def chainedProtocol() -> insults.ServerProtocol:
        return insults.ServerProtocol(manhole.ColoredManhole, namespace)

    return chainedProtocol


@implementer(IRealm)
class _TelnetRealm:
    """Logs Telnet users into a manhole terminal."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.namespace = namespace

    def requestAvatar(
        self, avatarId: Any, mind: Any, *interfaces: Any
    ) -> tuple[Any, Any, Callable[[], None]]:
        if telnet.ITelnetProtocol not in interfaces:
            raise error.UnhandledCredentials("no supported interface")
        _log.info("manhole login by {user}", user=_text(avatarId))
        return (
            telnet.ITelnetProtocol,
            telnet.TelnetBootstrapProtocol(
                insults.ServerProtocol, manhole.ColoredManhole, self.namespace
            ),
            lambda: None,
        )


class _TelnetFactory(protocol.ServerFactory):
    def __init__(self, portal: Portal | None, namespace: dict[str, Any]) -> None:
        self.portal = portal
        self.namespace = namespace

    def buildProtocol(self, addr: Any) -> Any:
        if self.portal is None:
            proto = telnet.TelnetTransport(
                telnet.TelnetBootstrapProtocol,
                insults.ServerProtocol,
                manhole.ColoredManhole,
                self.namespace,
            )
        else:
            proto = telnet.TelnetTransport(telnet.AuthenticatingTelnetProtocol, self.portal)
        proto.factory = self
        return proto


def makeService(options: Mapping[str, Any], reactor: Any = None) -> service.MultiService:
    """
    The manhole services for ``options`` (:class:`Options` or a dict with the same keys and
    an optional ``namespace``, the dict the shells see).

    :raises usage.UsageError: an unsafe or incomplete configuration.
    """
    namespace = options.get("namespace")
    if namespace is None:
        namespace = {}
    passwd = options.get("passwd")
    authorizedKeys = options.get("authorizedKeys")
    telnetPort = options.get("telnetPort")
    sshPort = options.get("sshPort")
    if telnetPort is None and sshPort is None:
        raise usage.UsageError("give telnetPort or sshPort")
    passwordChecker = None
    if passwd:
        clear = _countClearPasswords(passwd)
        if clear:
            _log.warn(
                "{count} clear-text password(s) in {file}: store scrypt hashes",
                count=clear,
                file=passwd,
            )
        passwordChecker = _PasswordFile(passwd)
    svc = service.MultiService()
    if telnetPort:
        endpoint = safeEndpoint(telnetPort, passwordChecker is not None, "telnet")
        portal = None
        if passwordChecker is not None:
            portal = Portal(_TelnetRealm(namespace), [passwordChecker])
        strports.service(
            endpoint, _TelnetFactory(portal, namespace), reactor=reactor
        ).setServiceParent(svc)
    if sshPort:
        if passwordChecker is None and not authorizedKeys:
            raise usage.UsageError("an SSH manhole needs --passwd or --authorizedKeys")
        endpoint = safeEndpoint(sshPort, True, "ssh")
        realm = manhole_ssh.TerminalRealm()
        realm.chainedProtocolFactory = chainedProtocolFactory(namespace)
        sshPortal = Portal(realm)
        if passwordChecker is not None:
            sshPortal.registerChecker(passwordChecker, credentials.IUsernamePassword)
        if authorizedKeys:
            sshPortal.registerChecker(
                conchCheckers.SSHPublicKeyChecker(
                    conchCheckers.AuthorizedKeysFileDB(authorizedKeys)
                )
            )
        factory = manhole_ssh.ConchFactory(sshPortal)
        factory.privateKeys = loadHostKeys(options.get("sshKeyDir") or _defaultKeyDir())
        factory.reactor = reactor
        strports.service(endpoint, factory, reactor=reactor).setServiceParent(svc)
    return svc


class ManholeServiceMaker:
    """The ``manhole`` plugin of the ``glisten`` command (options parsed by :class:`Options`)."""

    tapname = "manhole"
    description = "A Python shell into this process over Telnet or SSH."
    options = Options

    def makeService(self, options: Mapping[str, Any], reactor: Any = None) -> service.MultiService:
        return makeService(options, reactor)


#: The object the ``glisten.plugins`` entry point ``manhole`` names.
serviceMaker = ManholeServiceMaker()
