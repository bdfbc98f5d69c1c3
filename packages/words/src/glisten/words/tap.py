"""The ``glisten words`` command: an IRC chat server, as ``twist words``.

``glisten words --irc-port tcp:6667 --group lobby`` serves IRC; anyone can register any free
nickname unless ``--passwd FILE`` is given, whose ``name:password`` lines (passwords in clear
or as ``$scrypt$...`` hashes from :func:`glisten.cred.checkers.scryptHash`) are then the only
accounts, used as nicknames (server password or SASL PLAIN). With ``--group``, only those
channels exist; without, joining a channel creates it. ``--oper-passwd FILE`` (the same
format) names the IRC operators (``OPER name password``: ``KILL``, channel modes and kicks in
any channel).
"""

from __future__ import annotations

import argparse
import hmac
import socket
from typing import Any

from zope.interface import implementer

from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IService, IServiceMaker, MultiService
from glisten.cred import credentials, error
from glisten.cred.checkers import (
    FilePasswordDB,
    ICredentialsChecker,
    scryptHash,
    scryptVerify,
)
from glisten.cred.portal import Portal
from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.main import getReactor
from glisten.words import service

__all__ = ["PasswordFileChecker", "WordsServiceMaker", "makeService", "serviceMaker"]

_DUMMY = scryptHash(b"", salt=b"\x00" * 16)


@implementer(ICredentialsChecker)
class PasswordFileChecker:
    """Checks names and passwords against a ``name:password`` file, each password in clear
    or as a ``$scrypt$`` hash; compared in constant time, unknown names cost the same.

    :param filename: the file (re-read when it changes).
    """

    credentialInterfaces = (credentials.IUsernamePassword,)

    def __init__(self, filename: str) -> None:
        self._db = FilePasswordDB(filename, cache=True, caseSensitive=False)

    def requestAvatarId(self, creds: Any) -> Deferred[Any]:
        name = creds.username if isinstance(creds.username, bytes) else creds.username.encode()
        password = creds.password if isinstance(creds.password, bytes) else creds.password.encode()
        try:
            username, stored = self._db.getUser(name)
        except KeyError:
            scryptVerify(password, _DUMMY)
            return fail(error.UnauthorizedLogin("Invalid credentials"))
        except error.UnauthorizedLogin as e:
            return fail(e)
        if stored.startswith(b"$scrypt$"):
            ok = scryptVerify(password, stored)
        else:
            ok = hmac.compare_digest(password, stored)
        if ok:
            return succeed(name.decode("utf-8", "replace"))
        return fail(error.UnauthorizedLogin("Invalid credentials"))


def makeService(options: argparse.Namespace, reactor: Any = None) -> MultiService:
    """Build the chat service the options describe.

    :raises ValueError: with a message for the user.
    """
    from glisten.internet.endpoints import serverFromString

    # ``glisten`` has installed the reactor the user chose before calling this.
    reactor = getReactor(reactor)
    realm = service.InMemoryWordsRealm(options.hostname or socket.gethostname())
    realm.createUserOnRequest = True
    checker: Any
    if options.passwd:
        try:
            open(options.passwd, "rb").close()
        except OSError as e:
            raise ValueError(f"--passwd: cannot read {options.passwd!r}: {e.strerror}") from None
        checker = PasswordFileChecker(options.passwd)
    else:
        checker = service.OpenRegistrationChecker()
    portal = Portal(realm, [checker])
    factory = service.IRCFactory(realm, portal, reactor=reactor)
    factory.nickChangeAllowed = not options.passwd
    operPasswd = options.oper_passwd
    if operPasswd:
        try:
            open(operPasswd, "rb").close()
        except OSError as e:
            raise ValueError(f"--oper-passwd: cannot read {operPasswd!r}: {e.strerror}") from None
        factory.operatorChecker = PasswordFileChecker(operPasswd)
    if options.motd:
        try:
            with open(options.motd, encoding="utf-8", errors="replace") as f:
                factory.motd = [line.rstrip("\r\n")[:400] for line in f][:200]
        except OSError as e:
            raise ValueError(f"--motd: cannot read {options.motd!r}: {e.strerror}") from None
    groups = options.group or []
    realm.createGroupOnRequest = not groups
    for name in groups:
        realm.createGroup(name.lstrip("#"))
    top = MultiService()
    for description in options.irc_port or ["tcp:6667"]:
        endpoint = serverFromString(reactor, description)
        svc = StreamServerEndpointService(endpoint, factory)
        svc.setServiceParent(top)
    top.factory = factory  # type: ignore[attr-defined]
    return top


@implementer(IServiceMaker)
class WordsServiceMaker:
    """The ``words`` plugin of the ``glisten`` command."""

    tapname = "words"
    description = "An IRC chat server."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--irc-port",
            action="append",
            metavar="ENDPOINT",
            help="where to serve IRC, as an endpoint string (repeatable; default tcp:6667)",
        )
        parser.add_argument(
            "--group",
            action="append",
            metavar="NAME",
            help="a channel to create (repeatable); with any, only these channels exist",
        )
        parser.add_argument(
            "--passwd",
            metavar="FILE",
            help="name:password accounts (clear or $scrypt$ hashes); without it anyone may "
            "register a free nick",
        )
        parser.add_argument(
            "--oper-passwd",
            metavar="FILE",
            help="name:password lines (clear or $scrypt$ hashes) for OPER; without it there "
            "are no IRC operators",
        )
        parser.add_argument("--hostname", metavar="NAME", help="the server name (default: host)")
        parser.add_argument("--motd", metavar="FILE", help="the message of the day")

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> IService:
        return makeService(options, reactor)


#: The object the ``glisten.plugins`` entry point ``words`` names.
serviceMaker = WordsServiceMaker()
