"""A chat service: users, groups and an IRC front end, as ``twisted.words.service``.

:class:`InMemoryWordsRealm` holds :class:`User` and :class:`Group` objects; a
:class:`~glisten.cred.portal.Portal` in front of it checks passwords; :class:`IRCFactory`
makes an :class:`IRCUser` per connection, which logs in through the portal (server password,
or SASL PLAIN) and then speaks IRC for its user.

Group names are kept without the ``#`` IRC shows in front of them, as in Twisted. Names are
compared case-insensitively (ASCII case mapping).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from zope.interface import implementer

from glisten.cred.checkers import ICredentialsChecker
from glisten.cred.credentials import IUsernamePassword
from glisten.cred.portal import IRealm
from glisten.internet import protocol
from glisten.internet.defer import Deferred, fail, succeed
from glisten.internet.main import getReactor
from glisten.words import ewords, iwords
from glisten.words._certauth import (
    CertificateFingerprintChecker,
    ClientCertificate,
    certificateFingerprint,
)
from glisten.words._ircuser import IRCUser
from glisten.words.protocols._irc._masks import matchMask

__all__ = [
    "CertificateFingerprintChecker",
    "ClientCertificate",
    "Group",
    "IRCFactory",
    "IRCUser",
    "InMemoryWordsRealm",
    "OpenRegistrationChecker",
    "User",
    "WordsRealm",
    "certificateFingerprint",
]


def _lower(name: str) -> str:
    return name.lower()


@implementer(iwords.IGroup)
class Group:
    """A chat room.

    :ivar users: members by lower-cased name.
    :ivar meta: ``topic``, ``topic_author`` and ``topic_date``.
    :ivar modes: channel modes in effect (``m``, ``t``, ``n``; ``k`` and ``l`` with values).
    :ivar key: the ``+k`` key, if set.
    :ivar limit: the ``+l`` member limit, if set.
    :ivar ops: members with ``+o``.
    :ivar voiced: members with ``+v``.
    :ivar transient: created on request: removed from the realm when the last member leaves.
    :ivar bans: ``(mask, setBy, setAt)`` of the ``+b`` list; masks are normalised
        ``nick!user@host`` with wildcards.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.users: dict[str, User] = {}
        self.meta: dict[str, Any] = {"topic": "", "topic_author": "", "topic_date": 0}
        self.modes: set[str] = {"n", "t"}
        self.key: str | None = None
        self.limit: int | None = None
        self.ops: set[User] = set()
        self.voiced: set[User] = set()
        self.created = time.time()
        self.transient = False
        self.realm: WordsRealm | None = None
        self.bans: list[tuple[str, str, int]] = []

    def isBanned(self, hostmask: str) -> bool:
        """Whether a ``nick!user@host`` matches one of the ``+b`` masks."""
        return any(matchMask(mask, hostmask) for mask, _, _ in self.bans)

    def __repr__(self) -> str:
        return f"<Group #{self.name}>"

    def _minds(self, exclude: User | None = None) -> Iterator[Any]:
        for user in list(self.users.values()):
            if user is not exclude and user.mind is not None:
                yield user.mind

    def add(self, user: User) -> Deferred[None]:
        """Add ``user`` and tell every member (the newcomer included)."""
        key = _lower(user.name)
        if key not in self.users:
            self.users[key] = user
            for mind in self._minds():
                mind.userJoined(self, user)
        return succeed(None)

    def remove(self, user: User, reason: str | None = None) -> Deferred[None]:
        """Remove ``user``; members (the leaver included) are told."""
        key = _lower(user.name)
        if self.users.get(key) is not user:
            return fail(ewords.NoSuchUser(user.name))
        for mind in self._minds():
            mind.userLeft(self, user, reason)
        self._drop(user)
        return succeed(None)

    def _drop(self, user: User) -> None:
        """Forget ``user`` without telling anyone (kicks and quits tell in their own way)."""
        self.users.pop(_lower(user.name), None)
        self.ops.discard(user)
        self.voiced.discard(user)
        if self in user.groups:
            user.groups.remove(self)
        if not self.users and self.transient and self.realm is not None:
            self.realm.groups.pop(_lower(self.name), None)

    def size(self) -> Deferred[int]:
        return succeed(len(self.users))

    def receive(self, sender: User, recipient: Any, message: dict[str, Any]) -> Deferred[None]:
        """Deliver ``message`` to every member but ``sender``."""
        for mind in self._minds(exclude=sender):
            mind.receive(sender, self, message)
        return succeed(None)

    def setMetadata(self, meta: dict[str, Any]) -> Deferred[None]:
        """Update metadata (the topic) and tell every member."""
        self.meta = meta
        for mind in self._minds():
            mind.groupMetaUpdate(self, meta)
        return succeed(None)

    def iterusers(self) -> Iterator[User]:
        return iter(list(self.users.values()))

    def prefixFor(self, user: User, multi: bool = False) -> str:
        """The NAMES prefix of ``user`` here (``@``, ``+``, both with ``multi``)."""
        prefix = ""
        if user in self.ops:
            prefix = "@"
        if user in self.voiced and (multi or not prefix):
            prefix += "+"
        return prefix


@implementer(iwords.IUser)
class User:
    """A user of the service; ``mind`` is its connection while logged in.

    :ivar account: the name it authenticated as (for the IRCv3 ``account-tag``), if any.
    :ivar hostmask: ``nick!user@host`` while connected over IRC.
    :ivar operator: whether the user is an IRC operator (after ``OPER``).
    """

    realm: WordsRealm | None = None
    mind: Any = None
    operator = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.groups: list[Group] = []
        self.lastMessage = time.time()
        self.signOn = self.lastMessage
        self.account: str | None = None
        self.hostmask = f"{name}!{name}@localhost"
        self.away: str | None = None
        self.invisible = False

    def __repr__(self) -> str:
        return f"<User {self.name}>"

    def loggedIn(self, realm: WordsRealm, mind: Any) -> None:
        self.realm = realm
        self.mind = mind
        self.signOn = time.time()

    def join(self, group: Group) -> Deferred[None]:
        if group not in self.groups:
            self.groups.append(group)
        return group.add(self)

    def leave(self, group: Group, reason: str | None = None) -> Deferred[None]:
        return group.remove(self, reason)

    def send(self, recipient: Any, message: dict[str, Any]) -> Deferred[None]:
        self.lastMessage = time.time()
        return recipient.receive(self, recipient, message)

    def receive(self, sender: User, recipient: Any, message: dict[str, Any]) -> Deferred[None]:
        """Deliver a private message to this user's connection."""
        if self.mind is None:
            return fail(ewords.NoSuchUser(self.name))
        self.mind.receive(sender, recipient, message)
        return succeed(None)

    def itergroups(self) -> Iterator[Group]:
        return iter(list(self.groups))

    def logout(self) -> None:
        """Leave every group silently (the connection tells others it quit) and disconnect
        the mind."""
        for group in list(self.groups):
            group._drop(self)
        self.mind = None


@implementer(iwords.IChatService, IRealm)
class WordsRealm:
    """The base realm: lookups and ``requestAvatar``; storage is up to subclasses.

    :ivar createGroupOnRequest: whether joining a missing group creates it.
    :ivar createUserOnRequest: whether logging in as a missing user creates it.
    """

    createGroupOnRequest = False
    createUserOnRequest = True
    _encoding = "utf-8"

    def __init__(self, name: str) -> None:
        self.name = name
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}

    def userFactory(self, name: str) -> User:
        return User(name)

    def groupFactory(self, name: str) -> Group:
        return Group(name)

    def logoutFactory(self, avatar: User, facet: Any) -> Any:
        def logout() -> None:
            avatar.logout()

        return logout

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Deferred[Any]:
        """Give the user named ``avatarId``.

        :raises ewords.AlreadyLoggedIn: (as a failed Deferred) someone uses that name.
        """
        if isinstance(avatarId, bytes):
            avatarId = avatarId.decode(self._encoding)
        if iwords.IUser not in interfaces:
            return fail(NotImplementedError("only IUser avatars are provided"))

        def gotUser(user: User) -> Any:
            if user.mind is not None:
                raise ewords.AlreadyLoggedIn(user.name)
            user.loggedIn(self, mind)
            return iwords.IUser, user, self.logoutFactory(user, None)

        return self.getUser(avatarId).addCallback(gotUser)

    def itergroups(self) -> Deferred[Any]:
        return succeed(list(self.groups.values()))

    def getGroup(self, name: str) -> Deferred[Group]:
        if self.createGroupOnRequest:
            d = self.lookupGroup(name)
            d.addErrback(lambda f: f.trap(ewords.NoSuchGroup) and self._createTransient(name))
            return d
        return self.lookupGroup(name)

    def _createTransient(self, name: str) -> Deferred[Group]:
        d = self.createGroup(name)

        def mark(group: Group) -> Group:
            group.transient = True
            return group

        return d.addCallback(mark)

    def getUser(self, name: str) -> Deferred[User]:
        if self.createUserOnRequest:
            d = self.lookupUser(name)
            d.addErrback(lambda f: f.trap(ewords.NoSuchUser) and self.createUser(name))
            return d
        return self.lookupUser(name)

    def createUser(self, name: str) -> Deferred[User]:
        if _lower(name) in self.users:
            return fail(ewords.DuplicateUser(name))
        user = self.userFactory(name)
        user.realm = self
        return self.addUser(user)

    def createGroup(self, name: str) -> Deferred[Group]:
        if _lower(name) in self.groups:
            return fail(ewords.DuplicateGroup(name))
        group = self.groupFactory(name)
        group.realm = self
        return self.addGroup(group)

    def addUser(self, user: User) -> Deferred[User]:
        raise NotImplementedError  # pragma: no cover - storage belongs to subclasses

    def addGroup(self, group: Group) -> Deferred[Group]:
        raise NotImplementedError  # pragma: no cover

    def lookupUser(self, name: str) -> Deferred[User]:
        raise NotImplementedError  # pragma: no cover

    def lookupGroup(self, name: str) -> Deferred[Group]:
        raise NotImplementedError  # pragma: no cover


class InMemoryWordsRealm(WordsRealm):
    """A realm keeping users and groups in dictionaries (lost on restart)."""

    def addUser(self, user: User) -> Deferred[User]:
        key = _lower(user.name)
        if key in self.users:
            return fail(ewords.DuplicateUser(user.name))
        self.users[key] = user
        user.realm = self
        return succeed(user)

    def addGroup(self, group: Group) -> Deferred[Group]:
        key = _lower(group.name)
        if key in self.groups:
            return fail(ewords.DuplicateGroup(group.name))
        self.groups[key] = group
        group.realm = self
        return succeed(group)

    def lookupUser(self, name: str) -> Deferred[User]:
        user = self.users.get(_lower(name))
        if user is None:
            return fail(ewords.NoSuchUser(name))
        return succeed(user)

    def lookupGroup(self, name: str) -> Deferred[Group]:
        group = self.groups.get(_lower(name))
        if group is None:
            return fail(ewords.NoSuchGroup(name))
        return succeed(group)

    def renameUser(self, user: User, newName: str) -> None:
        """Re-key ``user`` under ``newName`` (an IRC nick change)."""
        old = _lower(user.name)
        if self.users.get(old) is user:
            del self.users[old]
        for group in user.groups:
            group.users.pop(old, None)
            group.users[_lower(newName)] = user
        user.name = newName
        self.users[_lower(newName)] = user


@implementer(ICredentialsChecker)
class OpenRegistrationChecker:
    """Accepts any user name with any password: an IRC server anyone can register on,
    first come first served (a name in use is refused by the realm as a nick collision)."""

    credentialInterfaces = (IUsernamePassword,)

    def requestAvatarId(self, credentials: Any) -> Deferred[Any]:
        name = credentials.username
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        return succeed(name)


class IRCFactory(protocol.ServerFactory):
    """Makes an :class:`IRCUser` per connection.

    :ivar motd: the message of the day, line by line (``None``: none).
    :ivar pingInterval: seconds of silence before the server PINGs a client.
    :ivar pingTimeout: seconds to wait for any answer to that PING before disconnecting.
    :ivar registrationTimeout: seconds a connection may take to register.
    :ivar maxSendQueue: bytes the server queues for a client that does not read, beyond the
        transport's buffer, before dropping it.
    :ivar maxChannels: channels one user may be in.
    :ivar floodBurst: commands a client may send at once (``None``: no flood protection).
    :ivar floodRate: commands per second a client may keep sending.
    :ivar nickChangeAllowed: whether a registered user may change nick (off when every nick
        is a password-protected account).
    """

    motd: list[str] | None = None
    pingInterval: float = 120.0
    pingTimeout: float = 60.0
    registrationTimeout: float = 60.0
    maxSendQueue = 1 << 20
    maxChannels = 50
    floodBurst: float | None = 40.0
    floodRate = 4.0
    nickChangeAllowed = True
    network = "glisten"
    #: Checks ``OPER name password`` (an ``IUsernamePassword`` checker, such as
    #: ``glisten.words.tap.PasswordFileChecker``); None: nobody can become an IRC operator.
    operatorChecker: Any = None
    #: Masks a channel's ``+b`` list may hold.
    maxBans = 50

    def __init__(self, realm: Any, portal: Any, reactor: Any = None) -> None:
        self.realm = realm
        self.portal = portal
        self.reactor = reactor
        self.created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())

    def clock(self) -> Any:
        """The reactor (the global one unless given)."""
        return getReactor(self.reactor)

    protocol = IRCUser
