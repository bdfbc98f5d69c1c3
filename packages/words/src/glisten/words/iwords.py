"""Interfaces of the chat service, as ``twisted.words.iwords``."""

from __future__ import annotations

from zope.interface import Attribute, Interface

from glisten.cred.credentials import ICredentials

__all__ = [
    "IChatClient",
    "IChatService",
    "IClientCertificate",
    "IGroup",
    "IProtocolPlugin",
    "IUser",
]


class IClientCertificate(ICredentials):
    """The TLS client certificate a connection presented (SASL EXTERNAL, beyond Twisted).

    The TLS layer has already verified it against the server's certificate authorities; a
    checker decides which account, if any, it stands for.
    """

    certificate = Attribute("The peer's certificate (a glisten.internet.ssl.Certificate).")
    fingerprint = Attribute("Its SHA-256 fingerprint: lower-case hex, no colons.")
    authzid = Attribute("The account the client asked for, or None to take the default.")


class IGroup(Interface):
    """A chat room."""

    name = Attribute("The name of the group (case is kept, lookups ignore it).")

    def add(user):  # type: ignore[no-untyped-def]
        """Add ``user``; members are told. :return: a Deferred."""

    def remove(user, reason=None):  # type: ignore[no-untyped-def]
        """Remove ``user``; members are told. :return: a Deferred."""

    def size():  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with the number of members."""

    def receive(sender, recipient, message):  # type: ignore[no-untyped-def]
        """Deliver ``message`` (a dict with ``text``) from ``sender`` to every other member."""

    def setMetadata(meta):  # type: ignore[no-untyped-def]
        """Change metadata (``topic``, ``topic_author``); members are told."""

    def iterusers():  # type: ignore[no-untyped-def]
        """:return: an iterator over the members."""


class IChatClient(Interface):
    """What the service tells a connected user (the ``mind``)."""

    name = Attribute("The name the client is known by.")

    def receive(sender, recipient, message):  # type: ignore[no-untyped-def]
        """A message from ``sender`` to ``recipient`` (this user or a group)."""

    def groupMetaUpdate(group, meta):  # type: ignore[no-untyped-def]
        """A group's metadata changed."""

    def userJoined(group, user):  # type: ignore[no-untyped-def]
        """``user`` joined ``group``."""

    def userLeft(group, user, reason=None):  # type: ignore[no-untyped-def]
        """``user`` left ``group``."""


class IUser(Interface):
    """A user of the chat service (the avatar)."""

    realm = Attribute("The realm the user belongs to.")
    name = Attribute("The user's name.")
    mind = Attribute("The IChatClient of the connected client, or None.")
    groups = Attribute("The groups the user is in.")
    lastMessage = Attribute("When the user last sent something (seconds since the epoch).")

    def loggedIn(realm, mind):  # type: ignore[no-untyped-def]
        """The user connected through ``mind``."""

    def join(group):  # type: ignore[no-untyped-def]
        """Join ``group``. :return: a Deferred."""

    def leave(group, reason=None):  # type: ignore[no-untyped-def]
        """Leave ``group``. :return: a Deferred."""

    def send(recipient, message):  # type: ignore[no-untyped-def]
        """Send ``message`` to a user or group. :return: a Deferred."""


class IChatService(Interface):
    """A realm of users and groups."""

    name = Attribute("The name of the service (the server name).")
    createGroupOnRequest = Attribute("Whether looking up a missing group creates it.")
    createUserOnRequest = Attribute("Whether logging in as a missing user creates it.")

    def itergroups():  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with an iterable of the groups."""

    def getGroup(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with the group, created if allowed."""

    def lookupGroup(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with the group or failing with NoSuchGroup."""

    def createGroup(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with a new group, or failing with DuplicateGroup."""

    def getUser(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with the user, created if allowed."""

    def lookupUser(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with the user or failing with NoSuchUser."""

    def createUser(name):  # type: ignore[no-untyped-def]
        """:return: a Deferred firing with a new user, or failing with DuplicateUser."""


class IProtocolPlugin(Interface):
    """A way for clients to reach the service (IRC here)."""

    name = Attribute("The plugin's name.")

    def getFactory(realm, portal):  # type: ignore[no-untyped-def]
        """:return: a server factory for ``realm`` behind ``portal``."""
