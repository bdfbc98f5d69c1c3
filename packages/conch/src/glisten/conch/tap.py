"""
The ``glisten ssh`` command: an SSH server that runs commands and shells as the server's user.

``glisten ssh --listen tcp:2222 --host-keys DIR --authorized-keys FILE`` serves SSH on port 2222
with the host keys of ``DIR`` (an Ed25519 and an ECDSA key are made there on first start, mode
0600) and lets in the keys of ``FILE``. Passwords are off unless ``--password-file`` is given
(``user:scrypt-hash`` lines made with :func:`glisten.cred.checkers.scryptHash`).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from zope.interface import implementer

from glisten.application import service, strports
from glisten.application.service import IShareableServiceMaker
from glisten.conch import checkers
from glisten.conch._processsession import DEFAULT_ENV_ALLOW, ProcessAvatar
from glisten.conch.interfaces import IConchUser
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import Key
from glisten.cred import credentials, error
from glisten.cred.checkers import ScryptFilePasswordDB
from glisten.cred.portal import IRealm, Portal
from glisten.internet.main import getReactor

__all__ = ["SSHServiceMaker", "loadHostKeys", "makeFactory", "serviceMaker"]

_HOST_KEY_FILES = (
    ("ssh_host_ed25519_key", "ed25519", None),
    ("ssh_host_ecdsa_key", "ecdsa", 256),
)


def loadHostKeys(directory: str) -> dict[bytes, Key]:
    """
    The host keys in ``directory`` by type; makes the directory and the default keys (mode
    0600) when missing. Files named ``ssh_host_*_key`` are loaded.
    """
    os.makedirs(directory, mode=0o700, exist_ok=True)
    for filename, kind, bits in _HOST_KEY_FILES:
        path = os.path.join(directory, filename)
        if not os.path.exists(path):
            key = Key.generate(kind, bits)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key.toString("openssh"))
            with open(path + ".pub", "wb") as f:
                f.write(key.public().toString("openssh") + b"\n")
    keys: dict[bytes, Key] = {}
    for name in sorted(os.listdir(directory)):
        if name.startswith("ssh_host_") and name.endswith("_key"):
            key = Key.fromFile(os.path.join(directory, name))
            keys.setdefault(key.sshType(), key)
    return keys


@implementer(IRealm)
class _Realm:
    def __init__(self, reactor: Any, command: str | None, envAllow: tuple[str, ...]) -> None:
        self.reactor = reactor
        self.command = command
        self.envAllow = envAllow

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        if IConchUser not in interfaces:
            raise error.UnhandledCredentials("no supported interface")
        self.reactor = getReactor(self.reactor)
        avatar = ProcessAvatar(avatarId, self.reactor, self.command, self.envAllow)
        return IConchUser, avatar, lambda: None


def makeFactory(
    hostKeys: dict[bytes, Key],
    authorizedKeys: str | None,
    passwordFile: str | None = None,
    command: str | None = None,
    envAllow: tuple[str, ...] = DEFAULT_ENV_ALLOW,
    reactor: Any = None,
) -> SSHFactory:
    """An :class:`SSHFactory` for the ``glisten ssh`` server."""
    portal = Portal(_Realm(reactor, command, envAllow))
    if authorizedKeys:
        portal.registerChecker(
            checkers.SSHPublicKeyChecker(checkers.AuthorizedKeysFileDB(authorizedKeys))
        )
    if passwordFile:
        portal.registerChecker(ScryptFilePasswordDB(passwordFile), credentials.IUsernamePassword)
    factory = SSHFactory()
    factory.privateKeys = hostKeys
    factory.portal = portal
    factory.reactor = reactor
    return factory


#: Where ``glisten ssh`` listens when not told.
DEFAULT_LISTEN = "tcp:2222"


@implementer(IShareableServiceMaker)
class SSHServiceMaker:
    """The ``ssh`` plugin of the ``glisten`` command (runs with ``glisten --workers N``)."""

    tapname = "ssh"
    description = "An SSH server running commands and shells as this user."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--listen", action="append", metavar="ENDPOINT", help="endpoint (default tcp:2222)"
        )
        parser.add_argument(
            "--host-keys", required=True, metavar="DIR", help="host key directory (made if missing)"
        )
        parser.add_argument(
            "--authorized-keys", metavar="FILE", help="authorized_keys file for every user"
        )
        parser.add_argument(
            "--password-file",
            metavar="FILE",
            help="enable passwords: user:scrypt-hash lines (off by default)",
        )
        parser.add_argument(
            "--command", metavar="CMD", help="run this instead of what clients ask for"
        )
        parser.add_argument(
            "--accept-env",
            action="append",
            metavar="PATTERN",
            help="environment variables clients may set (default LANG, LC_*)",
        )

    def listeningEndpoints(self, options: argparse.Namespace) -> list[str]:
        """The ``--listen`` endpoints (``tcp:2222`` if none), for ``glisten --workers``.

        :raises ValueError: when the host keys do not exist yet: each worker would make its
            own, and clients would see the host key change from one connection to the next.
        """
        missing = [
            name
            for name, _, _ in _HOST_KEY_FILES
            if not os.path.exists(os.path.join(options.host_keys, name))
        ]
        if missing:
            raise ValueError(
                f"the host keys are not in {options.host_keys!r} yet ({', '.join(missing)}); "
                "run 'glisten ssh' once without --workers to make them"
            )
        return list(options.listen or [DEFAULT_LISTEN])

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> service.MultiService:
        if not options.authorized_keys and not options.password_file:
            raise ValueError("give --authorized-keys (or --password-file): nobody could log in")
        factory = makeFactory(
            loadHostKeys(options.host_keys),
            options.authorized_keys,
            options.password_file,
            options.command,
            tuple(options.accept_env) if options.accept_env else DEFAULT_ENV_ALLOW,
            reactor,
        )
        top = service.MultiService()
        for description in options.listen or [DEFAULT_LISTEN]:
            strports.service(description, factory, reactor=reactor).setServiceParent(top)
        return top


#: The object the ``glisten.plugins`` entry point ``ssh`` names.
serviceMaker = SSHServiceMaker()
