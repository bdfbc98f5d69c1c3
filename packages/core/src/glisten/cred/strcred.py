"""Credential checkers named by a string, as in ``twisted.cred.strcred``.

A server's command line says which accounts it accepts with ``--auth TYPE:ARGUMENTS``::

    --auth memory:alice:secret:bob:hunter2
    --auth file:/etc/glisten/passwd        # user:$scrypt$... lines (see checkers.scryptHash)
    --auth anonymous

:func:`makeChecker` turns such a string into an
:class:`~glisten.cred.checkers.ICredentialsChecker`, through the :class:`ICheckerFactory` of its
type: the built-in ``memory``, ``file`` and ``anonymous`` ones, plus any plugin providing
:class:`ICheckerFactory` in a ``glisten/plugins/`` module (other packages add theirs that way).
:class:`AuthOptionMixin` gives a :class:`~glisten.python.usage.Options` the ``--auth``,
``--help-auth`` and ``--help-auth-type`` options.

Where this differs from Twisted, on purpose:

- ``file:`` reads password files with hashed passwords (``user:$scrypt$...`` lines, made with
  :func:`~glisten.cred.checkers.scryptHash`); Twisted's held them in clear text.
- there is no ``unix`` type (system accounts through ``crypt``/``spwd``, modules Python 3.13
  removed).
- :class:`StrcredException` is also a :class:`ValueError`, so an ``argparse`` option can
  report it like any other bad value.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any

from zope.interface import Attribute, Interface, implementer

from glisten.cred import checkers, credentials
from glisten.plugin import IPlugin, getPlugins

__all__ = [
    "AuthOptionMixin",
    "ICheckerFactory",
    "InvalidAuthArgumentString",
    "InvalidAuthType",
    "StrcredException",
    "UnsupportedInterfaces",
    "findCheckerFactories",
    "findCheckerFactory",
    "makeChecker",
]


class ICheckerFactory(Interface):
    """Makes credential checkers of one type from an argument string."""

    authType = Attribute("The type's name, the part before the first colon: ``memory``.")
    authHelp = Attribute("What the type checks against, for ``--help-auth-type``.")
    argStringFormat = Attribute("The shape of the argument string, for help output.")
    credentialInterfaces = Attribute("The credential interfaces its checkers accept.")

    def generateChecker(argstring: str = "") -> checkers.ICredentialsChecker:
        """A checker configured by ``argstring`` (the part after the first colon).

        :raises InvalidAuthArgumentString: ``argstring`` does not fit the type.
        """


class StrcredException(ValueError):
    """A checker string could not be turned into a checker."""


class InvalidAuthType(StrcredException):
    """No checker factory has this type."""


class InvalidAuthArgumentString(StrcredException):
    """The argument string does not fit the checker type."""


class UnsupportedInterfaces(StrcredException):
    """The checker accepts none of the credential interfaces the program offers."""


@implementer(ICheckerFactory, IPlugin)
class InMemoryCheckerFactory:
    """``memory:USER:PASSWORD[:USER:PASSWORD...]``: accounts given on the command line
    (handy for tests and demos; the passwords show in the process list)."""

    authType = "memory"
    authHelp = (
        "Accounts listed in the argument itself, as alternating user names and passwords. "
        "The passwords are visible to anyone who can list processes: for testing only."
    )
    argStringFormat = "A colon-separated list (name:password:...)"
    credentialInterfaces = (
        credentials.IUsernamePassword,
        credentials.IUsernameHashedPassword,
    )

    def generateChecker(self, argstring: str = "") -> checkers.ICredentialsChecker:
        parts = argstring.split(":")
        if len(parts) < 2 or len(parts) % 2:
            raise InvalidAuthArgumentString(
                "memory: wants user names and passwords in pairs (user:password:...)"
            )
        return checkers.InMemoryUsernamePasswordDatabaseDontUse(
            **dict(zip(parts[::2], parts[1::2], strict=True))
        )


@implementer(ICheckerFactory, IPlugin)
class FileCheckerFactory:
    """``file:PATH``: a password file of ``user:$scrypt$...`` lines (hashed, never clear)."""

    authType = "file"
    authHelp = (
        "Accounts in a file of user:hash lines, the hash made by "
        "glisten.cred.checkers.scryptHash(password). The file is read at each login."
    )
    argStringFormat = "Path to a password file"
    credentialInterfaces = (credentials.IUsernamePassword,)

    def generateChecker(self, argstring: str = "") -> checkers.ICredentialsChecker:
        if not argstring.strip():
            raise InvalidAuthArgumentString("file: wants the path of a password file")
        return checkers.ScryptFilePasswordDB(argstring)


@implementer(ICheckerFactory, IPlugin)
class AnonymousCheckerFactory:
    """``anonymous``: everyone gets in, as nobody in particular."""

    authType = "anonymous"
    authHelp = "Lets every client in anonymously, without checking anything."
    argStringFormat = "No argument"
    credentialInterfaces = (credentials.IAnonymous,)

    def generateChecker(self, argstring: str = "") -> checkers.ICredentialsChecker:
        if argstring:
            raise InvalidAuthArgumentString("anonymous takes no argument")
        return checkers.AllowAnonymousAccess()


_BUILT_IN: tuple[ICheckerFactory, ...] = (
    InMemoryCheckerFactory(),
    FileCheckerFactory(),
    AnonymousCheckerFactory(),
)


def findCheckerFactories() -> list[ICheckerFactory]:
    """Every checker factory: the built-in ones, then the plugins'."""
    return [*_BUILT_IN, *getPlugins(ICheckerFactory)]


def findCheckerFactory(authType: str) -> ICheckerFactory:
    """The checker factory of ``authType``.

    :raises InvalidAuthType: There is none.
    """
    for factory in findCheckerFactories():
        if factory.authType == authType:
            return factory
    raise InvalidAuthType(f"unknown authentication type {authType!r}")


def makeChecker(description: str) -> checkers.ICredentialsChecker:
    """A checker from ``TYPE:ARGUMENTS`` (or just ``TYPE``).

    :raises InvalidAuthType: No factory has that type.
    :raises InvalidAuthArgumentString: The arguments do not fit it.
    """
    authType, _, argstring = description.partition(":")
    return findCheckerFactory(authType).generateChecker(argstring)


class AuthOptionMixin:
    """``--auth``, ``--help-auth`` and ``--help-auth-type`` for a
    :class:`~glisten.python.usage.Options`.

    Each ``--auth`` adds a checker to ``self["credCheckers"]`` and, per credential interface
    it accepts, to ``self["credInterfaces"][interface]``.

    :cvar supportedInterfaces: The credential interfaces the program can use (``None``: any).
    :cvar authOutput: Where the help options write.
    """

    supportedInterfaces: Sequence[type[Interface]] | None = None
    authOutput: IO[str] = sys.stdout

    def supportsInterface(self, interface: type[Interface]) -> bool:
        """Whether the program can use credentials of ``interface``."""
        return self.supportedInterfaces is None or interface in self.supportedInterfaces

    def supportsCheckerFactory(self, factory: ICheckerFactory) -> bool:
        """Whether the program can use a checker of ``factory``'s type."""
        return any(self.supportsInterface(i) for i in factory.credentialInterfaces)

    def addChecker(self, checker: checkers.ICredentialsChecker) -> None:
        """Use ``checker`` for every supported credential interface it accepts.

        :raises UnsupportedInterfaces: It accepts none of them.
        """
        options: Any = self
        interfaces = [i for i in checker.credentialInterfaces if self.supportsInterface(i)]
        if not interfaces:
            raise UnsupportedInterfaces(
                f"{type(checker).__name__} checks no credentials this program uses"
            )
        options.setdefault("credCheckers", []).append(checker)
        byInterface = options.setdefault("credInterfaces", {})
        for interface in interfaces:
            byInterface.setdefault(interface, []).append(checker)

    def opt_auth(self, description: str) -> None:
        """Accept the accounts of a checker, TYPE:ARGUMENTS (see --help-auth)."""
        from glisten.python.usage import UsageError

        try:
            self.addChecker(makeChecker(description))
        except StrcredException as e:
            raise UsageError(str(e)) from None

    def _factoriesShown(self) -> list[ICheckerFactory]:
        return [f for f in findCheckerFactories() if self.supportsCheckerFactory(f)]

    def opt_help_auth(self) -> None:
        """Show the checker types --auth takes, then exit."""
        out = self.authOutput
        out.write("Checker types --auth TYPE:ARGUMENTS takes:\n\n")
        for factory in self._factoriesShown():
            out.write(f"  {factory.authType:<12}{factory.argStringFormat}\n")
        out.write("\nMore about one type: --help-auth-type TYPE\n")
        raise SystemExit(0)

    def opt_help_auth_type(self, authType: str) -> None:
        """Show what one checker type of --auth takes, then exit."""
        from glisten.python.usage import UsageError

        try:
            factory = findCheckerFactory(authType)
        except InvalidAuthType as e:
            raise UsageError(str(e)) from None
        if not self.supportsCheckerFactory(factory):
            raise UsageError(f"this program cannot use {authType!r} checkers")
        out = self.authOutput
        out.write(
            f"--auth {authType}: {factory.authHelp}\n\nArguments: {factory.argStringFormat}\n"
        )
        raise SystemExit(0)
