"""
Terminal programs over SSH, under Twisted's names: a :class:`TerminalRealm` gives each user
a session running ``chainedProtocolFactory()`` (an
:class:`~glisten.conch.insults.insults.ServerProtocol` around, say, a
:class:`~glisten.conch.manhole.ColoredManhole`) on the client's terminal, with window
changes passed on as ``terminalSize``. :class:`ConchFactory` serves it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import implementer

from glisten.conch import avatar
from glisten.conch._turns import pauseInput
from glisten.conch.error import ConchError
from glisten.conch.insults import insults
from glisten.conch.interfaces import IConchUser, ISession
from glisten.conch.ssh import factory, session
from glisten.cred import error as credError
from glisten.cred.portal import IRealm
from glisten.logger import Logger
from glisten.python import components

__all__ = [
    "ConchFactory",
    "TerminalRealm",
    "TerminalSession",
    "TerminalSessionTransport",
    "TerminalUser",
]


_log = Logger()


def _text(avatarId: Any) -> str:
    return avatarId.decode("utf-8", "replace") if isinstance(avatarId, bytes) else str(avatarId)


class _Glue:
    """A minimal transport made of the callables it is given."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"{self.__dict__.get('name', 'glue')} has no {name}")


class TerminalSessionTransport:
    """
    Joins an SSH session's process protocol ``proto`` and a terminal protocol
    ``chainedProtocol`` (a ServerProtocol): client bytes go to the terminal protocol, its
    output goes to the channel.
    """

    def __init__(
        self, proto: Any, chainedProtocol: Any, avatar: Any, width: int, height: int
    ) -> None:
        self.proto = proto
        self.avatar = avatar
        self.chainedProtocol = chainedProtocol
        channel = proto.session

        def peer() -> Any:
            return channel.getPeer()

        def host() -> Any:
            return channel.getHost()

        proto.makeConnection(
            _Glue(
                write=chainedProtocol.dataReceived,
                # The channel is closing already; TerminalSession.closed ends the program.
                loseConnection=lambda: None,
                closeStdin=lambda: None,
                name="SSH session",
            )
        )
        chainedProtocol.makeConnection(
            _Glue(
                write=proto.write,
                loseConnection=proto.loseConnection,
                # The terminal pauses its input by keeping the channel's window closed.
                pauseProducing=lambda: pauseInput(proto, True),
                resumeProducing=lambda: pauseInput(proto, False),
                getPeer=peer,
                getHost=host,
                name="terminal",
            )
        )
        terminalProtocol = getattr(chainedProtocol, "terminalProtocol", None)
        if terminalProtocol is not None:
            terminalProtocol.terminalSize(width, height)


@implementer(ISession)
class TerminalSession(components.Adapter):
    """The session of a :class:`TerminalUser`: a shell is the terminal program; commands are refused."""

    transportFactory: Callable[..., Any] = TerminalSessionTransport
    chainedProtocolFactory: Callable[[], Any] = insults.ServerProtocol

    def __init__(self, original: Any) -> None:
        super().__init__(original)
        self.width = 80
        self.height = 24
        self.chainedProtocol: Any = None
        self._proto: Any = None

    def getPty(self, term: bytes, windowSize: tuple[int, int, int, int], attrs: Any) -> None:
        self.height, self.width = windowSize[:2]

    def openShell(self, proto: Any) -> None:
        user = IConchUser(self.original)
        try:
            peer = proto.session.getPeer()
        except Exception:
            peer = None
        _log.info(
            "terminal session for {user} from {peer}",
            user=_text(getattr(user, "avatarId", None)),
            peer=peer,
        )
        self._proto = proto
        self.chainedProtocol = self.chainedProtocolFactory()
        self.transportFactory(proto, self.chainedProtocol, user, self.width, self.height)

    def execCommand(self, proto: Any, cmd: bytes) -> None:
        raise ConchError("cannot run commands here")

    def windowChanged(self, newWindowSize: tuple[int, int, int, int]) -> None:
        self.height, self.width = newWindowSize[:2]
        terminalProtocol = getattr(self.chainedProtocol, "terminalProtocol", None)
        if terminalProtocol is not None:
            terminalProtocol.terminalSize(self.width, self.height)

    def eofReceived(self) -> None:
        """The client has no more input: end the session."""
        if self._proto is not None:
            self._proto.loseConnection()

    def closed(self) -> None:
        chained, self.chainedProtocol = self.chainedProtocol, None
        if chained is not None:
            chained.connectionLost(None)


class TerminalUser(avatar.ConchUser, components.Componentized):
    """An SSH user whose session channels run a terminal program."""

    def __init__(self, original: Any, avatarId: Any) -> None:
        components.Componentized.__init__(self)
        avatar.ConchUser.__init__(self)
        self.channelLookup[b"session"] = session.SSHSession
        self.original = original
        self.avatarId = avatarId

    def __conform__(self, interface: Any) -> Any:
        return self.original.getComponent(interface)


@implementer(IRealm)
class TerminalRealm:
    """
    Logs users into terminal sessions.

    :ivar chainedProtocolFactory: makes the terminal-side protocol per session, usually
        ``lambda: insults.ServerProtocol(ColoredManhole, namespace)``.
    """

    userFactory: Callable[..., Any] = TerminalUser
    sessionFactory: Callable[..., Any] = TerminalSession
    transportFactory: Callable[..., Any] = TerminalSessionTransport
    chainedProtocolFactory: Callable[[], Any] = insults.ServerProtocol

    def _getAvatar(self, avatarId: Any) -> Any:
        comp = components.Componentized()
        user = self.userFactory(comp, avatarId)
        sess = self.sessionFactory(comp)
        sess.transportFactory = self.transportFactory
        sess.chainedProtocolFactory = self.chainedProtocolFactory
        comp.setComponent(IConchUser, user)
        comp.setComponent(ISession, sess)
        return user

    def requestAvatar(
        self, avatarId: Any, mind: Any, *interfaces: Any
    ) -> tuple[Any, Any, Callable[[], None]]:
        if IConchUser in interfaces:
            return IConchUser, self._getAvatar(avatarId), lambda: None
        raise credError.UnhandledCredentials("no supported interface")


class ConchFactory(factory.SSHFactory):
    """An SSH server factory for a portal (set ``privateKeys`` before listening)."""

    publicKeys: dict[bytes, Any] = {}
    privateKeys: dict[bytes, Any] = {}

    def __init__(self, portal: Any) -> None:
        self.portal = portal
