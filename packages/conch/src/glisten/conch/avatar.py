"""The base avatar of SSH users."""

from __future__ import annotations

from typing import Any

from zope.interface import implementer

from glisten.conch.error import ConchError
from glisten.conch.interfaces import IConchUser
from glisten.conch.ssh.connection import OPEN_UNKNOWN_CHANNEL_TYPE

__all__ = ["ConchUser"]


@implementer(IConchUser)
class ConchUser:
    """
    An SSH user: which channel types and subsystems it may open.

    :ivar channelLookup: channel type (``b"session"``) to channel class.
    :ivar subsystemLookup: subsystem name to protocol class.
    """

    def __init__(self) -> None:
        self.channelLookup: dict[bytes, Any] = {}
        self.subsystemLookup: dict[bytes, Any] = {}
        self.conn: Any = None

    def lookupChannel(
        self, channelType: bytes, windowSize: int, maxPacket: int, data: bytes
    ) -> Any:
        """
        Make the channel of ``channelType``.

        :raises ConchError: unknown channel type.
        """
        klass = self.channelLookup.get(channelType)
        if klass is None:
            raise ConchError(OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel")
        return klass(remoteWindow=windowSize, remoteMaxPacket=maxPacket, data=data, avatar=self)

    def lookupSubsystem(self, subsystem: bytes, data: bytes) -> Any:
        """A protocol instance for ``subsystem``, or ``None``."""
        klass = self.subsystemLookup.get(subsystem)
        if klass is None:
            return None
        return klass(data, avatar=self)

    def gotGlobalRequest(self, requestType: bytes, data: bytes) -> Any:
        """Dispatch to ``global_<type>`` (dashes as underscores); refused by default."""
        name = requestType.decode("ascii", "replace").replace("-", "_")
        method = getattr(self, "global_" + name, None)
        if method is None:
            return 0
        return method(data)
