"""
The ``glisten ssh`` command: an SSH server that runs commands and shells as the server's user.

``glisten ssh --listen tcp:2222 --host-keys DIR --authorized-keys FILE`` serves SSH on port 2222
with the host keys of ``DIR`` (an Ed25519 and an ECDSA key are made there on first start, mode
0600) and lets in the keys of ``FILE``. Passwords are off unless ``--password-file`` is given
(``user:scrypt-hash[:last-change[:max-days]]`` lines, hashes made with
:func:`glisten.cred.checkers.scryptHash`: :class:`glisten.conch.checkers.ScryptPasswordFile`);
they are then asked for by ``password`` and ``keyboard-interactive``, and a password that
has expired (``last-change`` ``0``, or past ``max-days``) is changed at login (the file is
rewritten with the new hash). ``--unix-passwords`` instead
checks the password of the UNIX user the server runs as (the only user it admits, since every
session runs as that user) against ``/etc/shadow`` (``--shadow-file FILE`` names another
file), through the system's libcrypt. Passwords are only ever asked for once the transport is
encrypted. ``--moduli FILE`` (OpenSSH's
``/etc/ssh/moduli``) gives the group exchange its groups instead of RFC 3526's.

``--sftp-root DIR`` turns the server into a file-transfer-only server: every user gets the
``sftp`` subsystem and the legacy ``scp -t``/``scp -f`` commands (``scp -O``), both confined to
``DIR``, and nothing else (no shells, no other commands), since a shell would make the
confinement meaningless.

OpenSSH certificates: ``--trusted-user-ca-keys FILE`` (OpenSSH's ``TrustedUserCAKeys``)
admits user certificates signed by the CAs of ``FILE`` for the users the certificate names;
``cert-authority`` lines of ``--authorized-keys`` do the same for that file's users.
``--revoked-keys FILE`` (OpenSSH's ``RevokedKeys``) refuses the keys a key revocation list
(KRL, ``ssh-keygen -k``) revokes, or the keys a list of public keys holds, their certificates
and the certificates of listed CAs. ``--authorized-principals-file PATH`` (OpenSSH's
``AuthorizedPrincipalsFile``, tokens ``%u``, ``%h``, ``%U``; relative to the user's home)
makes certificates of trusted CAs name a principal of the user's file instead of the user
name; that line's ``authorized_keys`` options apply. ``--host-certificate FILE`` (repeatable) serves a host certificate (``ssh-keygen -s CA -h``)
for the host key it certifies, under the ``*-cert-v01@openssh.com`` algorithms.

Forwarding is off unless allowed: ``--permit-open HOST:PORT`` (``ssh -L``),
``--permit-listen HOST:PORT`` (``ssh -R``), ``--permit-streamlocal PATTERN`` (``ssh -L`` to a
Unix socket), ``--permit-streamlocal-listen PATTERN`` (``ssh -R`` from a Unix socket at an
absolute path), ``--allow-agent-forwarding`` (``ssh -A``); a key's ``no-port-forwarding``,
``no-agent-forwarding`` or ``restrict`` option takes them away again.
"""

from __future__ import annotations

import argparse
import os
import pwd
from typing import Any

from zope.interface import implementer

from glisten.application import service, strports
from glisten.application.service import IShareableServiceMaker
from glisten.conch import checkers
from glisten.conch._processsession import DEFAULT_ENV_ALLOW, ProcessAvatar
from glisten.conch.avatar import ConchUser
from glisten.conch.interfaces import IConchUser, ISession
from glisten.conch.openssh_compat.primes import parseModuliFile
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.filetransfer import FileTransferServer, ISFTPServer
from glisten.conch.ssh.forwarding import ForwardingPolicy
from glisten.conch.ssh.keys import CERT_HOST, BadKeyError, Key
from glisten.conch.ssh.scp import SCPOnlySession
from glisten.conch.ssh.session import SSHSession
from glisten.conch.unix import SFTPServerForUnixConchUser
from glisten.cred import credentials, error
from glisten.cred.portal import IRealm, Portal
from glisten.internet.main import getReactor
from glisten.python.components import registerAdapter

__all__ = [
    "SSHServiceMaker",
    "forwardingPolicyFromOptions",
    "addHostCertificates",
    "loadHostKeys",
    "makeFactory",
    "serviceMaker",
]

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


def addHostCertificates(hostKeys: dict[bytes, Key], paths: list[str]) -> dict[bytes, Key]:
    """
    ``hostKeys`` plus, under their certificate types, the host keys the host certificates of
    ``paths`` certify.

    :raises ValueError: a file is unreadable, not a host certificate, or certifies none of
        the host keys.
    """
    keys = dict(hostKeys)
    for path in paths:
        try:
            cert = Key.fromFile(path)
        except (OSError, BadKeyError):
            raise ValueError(f"cannot read the host certificate {path!r}") from None
        if cert.certificate is None or cert.certificate.type != CERT_HOST:
            raise ValueError(f"{path!r} is not a host certificate")
        for key in hostKeys.values():
            if key.certificate is None and key.public() == cert.certificate.key:
                keys[cert.sshType()] = key.withCertificate(cert)
                break
        else:
            raise ValueError(f"the host certificate {path!r} is for none of the host keys")
    return keys


class _SFTPOnlyAvatar(ConchUser):
    """A user of ``--sftp-root``: session channels serve only the confined ``sftp`` subsystem
    and ``scp -t``/``scp -f`` over the same confined file system."""

    def __init__(self, username: Any, sftpRoot: str) -> None:
        super().__init__()
        self.username = username
        self.sftpRoot = sftpRoot
        self.channelLookup[b"session"] = SSHSession
        self.subsystemLookup[b"sftp"] = FileTransferServer


registerAdapter(SFTPServerForUnixConchUser, _SFTPOnlyAvatar, ISFTPServer)
registerAdapter(SCPOnlySession, _SFTPOnlyAvatar, ISession)


@implementer(IRealm)
class _Realm:
    def __init__(
        self,
        reactor: Any,
        command: str | None,
        envAllow: tuple[str, ...],
        sftpRoot: str | None = None,
        forwardingPolicy: ForwardingPolicy | None = None,
    ) -> None:
        self.reactor = reactor
        self.command = command
        self.envAllow = envAllow
        self.sftpRoot = sftpRoot
        self.forwardingPolicy = forwardingPolicy or ForwardingPolicy()

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        if IConchUser not in interfaces:
            raise error.UnhandledCredentials("no supported interface")
        if self.sftpRoot is not None:
            return IConchUser, _SFTPOnlyAvatar(avatarId, self.sftpRoot), lambda: None
        self.reactor = getReactor(self.reactor)
        avatar = ProcessAvatar(
            avatarId, self.reactor, self.command, self.envAllow, self.forwardingPolicy
        )
        return IConchUser, avatar, avatar.stopForwarding


def makeFactory(
    hostKeys: dict[bytes, Key],
    authorizedKeys: str | None,
    passwordFile: str | None = None,
    command: str | None = None,
    envAllow: tuple[str, ...] = DEFAULT_ENV_ALLOW,
    reactor: Any = None,
    sftpRoot: str | None = None,
    forwardingPolicy: ForwardingPolicy | None = None,
    moduli: str | None = None,
    trustedUserCAKeys: str | None = None,
    revokedKeys: str | None = None,
    unixPasswords: bool = False,
    shadowFile: str = "/etc/shadow",
    authorizedPrincipalsFile: str | None = None,
) -> SSHFactory:
    """
    An :class:`SSHFactory` for the ``glisten ssh`` server.

    :param sftpRoot: serve only SFTP, confined to this folder.
    :param forwardingPolicy: the forwarding users may do (none by default).
    :param moduli: an OpenSSH ``moduli`` file with the group exchange's groups.
    :param trustedUserCAKeys: a file of CA keys whose user certificates are accepted for
        the users they name.
    :param revokedKeys: a KRL or a file of public keys refused, with their certificates and
        the certificates of CAs listed (every key is refused when it cannot be read).
    :param authorizedPrincipalsFile: OpenSSH's ``AuthorizedPrincipalsFile`` path (``%u``,
        ``%h``, ``%U`` tokens): certificates of ``trustedUserCAKeys`` must list a principal of
        the user's file instead of the user name.
    :param unixPasswords: check passwords of the server's own UNIX user (the only user then
        admitted by password) against ``shadowFile`` (``/etc/passwd`` for a user it does not
        list).
    :raises ValueError: the SFTP root does not exist, the moduli file is unusable, both
        a password file and UNIX passwords are asked for, or a principals file without
        trusted CAs or with an unknown token.
    :raises glisten.conch.checkers.CryptUnavailable: UNIX passwords without a libcrypt.
    """
    if passwordFile and unixPasswords:
        raise ValueError("give --password-file or --unix-passwords, not both")
    if authorizedPrincipalsFile and not trustedUserCAKeys:
        raise ValueError("--authorized-principals-file needs --trusted-user-ca-keys")
    principals = (
        checkers.AuthorizedPrincipalsFile(authorizedPrincipalsFile)
        if authorizedPrincipalsFile
        else None
    )
    if sftpRoot is not None and not os.path.isdir(sftpRoot):
        raise ValueError("the --sftp-root folder does not exist")
    portal = Portal(_Realm(reactor, command, envAllow, sftpRoot, forwardingPolicy))
    if authorizedKeys or trustedUserCAKeys:
        portal.registerChecker(
            checkers.SSHPublicKeyChecker(
                checkers.AuthorizedKeysFileDB(authorizedKeys)
                if authorizedKeys
                else checkers.InMemorySSHKeyDB({}),
                checkers.TrustedUserCAKeysFile(trustedUserCAKeys) if trustedUserCAKeys else None,
                revokedKeys=checkers.RevokedKeysFile(revokedKeys) if revokedKeys else None,
                authorizedPrincipals=principals,
            )
        )
    if passwordFile:
        portal.registerChecker(checkers.ScryptPasswordFile(passwordFile))
    if unixPasswords:
        portal.registerChecker(
            checkers.UNIXPasswordDatabase(
                shadowFile=shadowFile, users=[pwd.getpwuid(os.getuid()).pw_name.encode("utf-8")]
            ),
            credentials.IUsernamePassword,
        )
    factory = SSHFactory() if moduli is None else _ModuliFactory(_readModuli(moduli))
    factory.privateKeys = hostKeys
    factory.portal = portal
    factory.reactor = reactor
    return factory


class _ModuliFactory(SSHFactory):
    def __init__(self, primes: dict[int, list[tuple[int, int]]]) -> None:
        self._primes = primes

    def getPrimes(self) -> dict[int, list[tuple[int, int]]] | None:
        return self._primes


def _readModuli(path: str) -> dict[int, list[tuple[int, int]]]:
    try:
        primes = parseModuliFile(path)
    except OSError as e:
        raise ValueError(f"cannot read the moduli file: {e.strerror}") from None
    if not primes:
        raise ValueError("the moduli file has no usable group")
    return primes


def _hostPort(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"not HOST:PORT: {text}")
    return host.strip("[]") or "*", int(port)


def forwardingPolicyFromOptions(options: argparse.Namespace) -> ForwardingPolicy:
    """The :class:`ForwardingPolicy` the ``--permit-*`` options describe."""
    return ForwardingPolicy(
        connect=tuple(_hostPort(t) for t in getattr(options, "permit_open", None) or ()),
        listen=tuple(_hostPort(t) for t in getattr(options, "permit_listen", None) or ()),
        streamLocal=tuple(getattr(options, "permit_streamlocal", None) or ()),
        streamLocalListen=tuple(getattr(options, "permit_streamlocal_listen", None) or ()),
        agent=bool(getattr(options, "allow_agent_forwarding", False)),
    )


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
            "--trusted-user-ca-keys",
            metavar="FILE",
            help="accept user certificates of these CAs for the users they name",
        )
        parser.add_argument(
            "--authorized-principals-file",
            metavar="PATH",
            help="with --trusted-user-ca-keys: a certificate must list a principal of this"
            " file (%%u user, %%h home, %%U uid; relative to the home) instead of the user name",
        )
        parser.add_argument(
            "--revoked-keys",
            metavar="FILE",
            help="refuse the keys and certificates this KRL (ssh-keygen -k) revokes, or these"
            " public keys, their certificates and those of listed CAs",
        )
        parser.add_argument(
            "--host-certificate",
            action="append",
            metavar="FILE",
            help="serve this host certificate (ssh-keygen -s CA -h) with its host key",
        )
        parser.add_argument(
            "--password-file",
            metavar="FILE",
            help="enable passwords: user:scrypt-hash[:last-change[:max-days]] lines (off by"
            " default); expired passwords are changed at login",
        )
        parser.add_argument(
            "--unix-passwords",
            action="store_true",
            help="enable the password of the server's own UNIX user (/etc/shadow; off by default)",
        )
        parser.add_argument(
            "--shadow-file",
            metavar="FILE",
            default="/etc/shadow",
            help="with --unix-passwords: read password hashes from FILE (default /etc/shadow)",
        )
        parser.add_argument(
            "--command", metavar="CMD", help="run this instead of what clients ask for"
        )
        parser.add_argument(
            "--moduli",
            metavar="FILE",
            help="group exchange groups from an OpenSSH moduli file (default: RFC 3526's)",
        )
        parser.add_argument(
            "--accept-env",
            action="append",
            metavar="PATTERN",
            help="environment variables clients may set (default LANG, LC_*)",
        )

        parser.add_argument(
            "--sftp-root",
            metavar="DIR",
            help="serve only SFTP and scp, confined to DIR (no shells or other commands)",
        )
        parser.add_argument(
            "--permit-open",
            action="append",
            metavar="HOST:PORT",
            help="allow ssh -L to this destination (* host, 0 port: any); none by default",
        )
        parser.add_argument(
            "--permit-listen",
            action="append",
            metavar="HOST:PORT",
            help="allow ssh -R to listen there (port 0: any above 1023); none by default",
        )
        parser.add_argument(
            "--permit-streamlocal",
            action="append",
            metavar="PATTERN",
            help="allow ssh -L to Unix sockets matching PATTERN; none by default",
        )
        parser.add_argument(
            "--permit-streamlocal-listen",
            action="append",
            metavar="PATTERN",
            help="allow ssh -R to make Unix sockets at absolute paths matching PATTERN "
            "(mode 0600); none by default",
        )
        parser.add_argument(
            "--allow-agent-forwarding",
            action="store_true",
            help="allow ssh -A (off by default)",
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
        trusted = getattr(options, "trusted_user_ca_keys", None)
        unixPasswords = bool(getattr(options, "unix_passwords", False))
        if not (options.authorized_keys or options.password_file or trusted or unixPasswords):
            raise ValueError(
                "give --authorized-keys (or --password-file, --unix-passwords): nobody could log in"
            )
        factory = makeFactory(
            addHostCertificates(
                loadHostKeys(options.host_keys), getattr(options, "host_certificate", None) or []
            ),
            options.authorized_keys,
            options.password_file,
            options.command,
            tuple(options.accept_env) if options.accept_env else DEFAULT_ENV_ALLOW,
            reactor,
            getattr(options, "sftp_root", None),
            forwardingPolicyFromOptions(options),
            getattr(options, "moduli", None),
            trusted,
            getattr(options, "revoked_keys", None),
            unixPasswords,
            getattr(options, "shadow_file", None) or "/etc/shadow",
            getattr(options, "authorized_principals_file", None),
        )
        top = service.MultiService()
        for description in options.listen or [DEFAULT_LISTEN]:
            strports.service(description, factory, reactor=reactor).setServiceParent(top)
        return top


#: The object the ``glisten.plugins`` entry point ``ssh`` names.
serviceMaker = SSHServiceMaker()
