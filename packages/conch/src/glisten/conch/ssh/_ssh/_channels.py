"""
The connection protocol (RFC 4254) as a sans-IO machine: channel numbers, windows and
maximum packet sizes, message encoding and decoding.

:class:`ConnectionMachine` takes service messages (number and payload) and returns events; its
``send*`` methods return the ``(number, payload)`` pairs to hand to the transport. It refuses
unknown channel numbers, data beyond the window or the maximum packet size, data after EOF and
more open channels than allowed, each with an :class:`SSHProtocolError`.
"""

from __future__ import annotations

import struct
from typing import Any

import attrs

from glisten.conch.ssh._ssh._errors import DISCONNECT_PROTOCOL_ERROR, SSHProtocolError
from glisten.conch.ssh._ssh._wire import Reader, boolean, string, uint32

MSG_GLOBAL_REQUEST = 80
MSG_REQUEST_SUCCESS = 81
MSG_REQUEST_FAILURE = 82
MSG_CHANNEL_OPEN = 90
MSG_CHANNEL_OPEN_CONFIRMATION = 91
MSG_CHANNEL_OPEN_FAILURE = 92
MSG_CHANNEL_WINDOW_ADJUST = 93
MSG_CHANNEL_DATA = 94
MSG_CHANNEL_EXTENDED_DATA = 95
MSG_CHANNEL_EOF = 96
MSG_CHANNEL_CLOSE = 97
MSG_CHANNEL_REQUEST = 98
MSG_CHANNEL_SUCCESS = 99
MSG_CHANNEL_FAILURE = 100

OPEN_ADMINISTRATIVELY_PROHIBITED = 1
OPEN_CONNECT_FAILED = 2
OPEN_UNKNOWN_CHANNEL_TYPE = 3
OPEN_RESOURCE_SHORTAGE = 4

_MAX_WINDOW = 0xFFFFFFFF
_U32x2 = struct.Struct(">II")
_U32x3 = struct.Struct(">III")
Packet = tuple[int, bytes]


def _error(message: str) -> SSHProtocolError:
    return SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, message)


@attrs.define(slots=True)
class GlobalRequest:
    requestType: bytes
    wantReply: bool
    data: bytes


@attrs.define(slots=True)
class GlobalReply:
    success: bool
    data: bytes


@attrs.define(slots=True)
class ChannelOpenRequested:
    """The peer wants a channel; answer with ``confirmOpen`` or ``refuseOpen``."""

    channelType: bytes
    remoteID: int
    windowSize: int
    maxPacket: int
    data: bytes


@attrs.define(slots=True)
class ChannelOpened:
    """The peer confirmed a channel we opened."""

    localID: int
    data: bytes


@attrs.define(slots=True)
class ChannelOpenFailed:
    localID: int
    reasonCode: int
    description: bytes


@attrs.define(slots=True)
class WindowAdjusted:
    localID: int
    bytesToAdd: int


@attrs.define(slots=True)
class ChannelData:
    localID: int
    data: bytes


@attrs.define(slots=True)
class ChannelExtendedData:
    localID: int
    dataType: int
    data: bytes


@attrs.define(slots=True)
class ChannelEOF:
    localID: int


@attrs.define(slots=True)
class ChannelClosed:
    """The peer closed the channel; ``finished`` when our CLOSE went out too."""

    localID: int
    finished: bool


@attrs.define(slots=True)
class ChannelRequest:
    localID: int
    requestType: bytes
    wantReply: bool
    data: bytes


@attrs.define(slots=True)
class ChannelReply:
    localID: int
    success: bool


@attrs.define(slots=True)
class ChannelState:
    """What the machine knows about one channel."""

    localID: int
    localWindowSize: int
    localWindowLeft: int
    localMaxPacket: int
    remoteID: int = -1
    remoteWindowLeft: int = 0
    remoteMaxPacket: int = 0
    open: bool = False
    eofReceived: bool = False
    eofSent: bool = False
    closeSent: bool = False
    closeReceived: bool = False


class ConnectionMachine:
    """
    Channel bookkeeping for one side of the connection protocol.

    :param maxChannels: how many channels may be open (or opening) at once.
    """

    def __init__(self, maxChannels: int = 64) -> None:
        self.maxChannels = maxChannels
        self.channels: dict[int, ChannelState] = {}
        self._nextID = 0
        self._pendingGlobal = 0

    def _channel(self, localID: int) -> ChannelState:
        state = self.channels.get(localID)
        if state is None:
            raise _error("unknown channel")
        return state

    def _newLocalID(self) -> int:
        if len(self.channels) >= self.maxChannels:
            raise _error("too many channels")
        while self._nextID in self.channels:
            self._nextID = (self._nextID + 1) & 0xFFFFFFFF
        localID = self._nextID
        self._nextID = (self._nextID + 1) & 0xFFFFFFFF
        return localID

    # ------------------------------------------------------------------ sending

    def openChannel(
        self, channelType: bytes, windowSize: int, maxPacket: int, extra: bytes = b""
    ) -> tuple[int, Packet]:
        """Open a channel; the peer answers with :class:`ChannelOpened` or a failure."""
        localID = self._newLocalID()
        self.channels[localID] = ChannelState(localID, windowSize, windowSize, maxPacket)
        payload = string(channelType) + uint32(localID) + uint32(windowSize) + uint32(maxPacket)
        return localID, (MSG_CHANNEL_OPEN, payload + extra)

    def confirmOpen(
        self, request: ChannelOpenRequested, windowSize: int, maxPacket: int, extra: bytes = b""
    ) -> tuple[int, Packet]:
        """Accept a channel the peer asked for."""
        localID = self._newLocalID()
        self.channels[localID] = ChannelState(
            localID,
            windowSize,
            windowSize,
            maxPacket,
            request.remoteID,
            request.windowSize,
            request.maxPacket,
            True,
        )
        payload = (
            uint32(request.remoteID) + uint32(localID) + uint32(windowSize) + uint32(maxPacket)
        )
        return localID, (MSG_CHANNEL_OPEN_CONFIRMATION, payload + extra)

    def refuseOpen(self, remoteID: int, reasonCode: int, description: str) -> Packet:
        """Refuse a channel the peer asked for."""
        payload = uint32(remoteID) + uint32(reasonCode) + string(description.encode()) + string(b"")
        return MSG_CHANNEL_OPEN_FAILURE, payload

    def sendData(
        self,
        localID: int,
        data: bytes | memoryview | list[bytes | memoryview],
        dataType: int | None = None,
    ) -> tuple[list[Packet], bytes | memoryview]:
        """
        Send as much of ``data`` as the peer's window and packet size allow.

        :param data: bytes, a view of them (then slicing it copies nothing), or a list of
            pieces that fit one packet (joined once, with the channel header: small writes and
            the front of a large one sharing a packet are copied once, not twice).
        :return: the packets and what is left for when the window opens.
        """
        state = self._channel(localID)
        if not state.open or state.eofSent or state.closeSent:
            return [], b""
        limit = state.remoteMaxPacket - (8 if dataType is not None else 0)
        if isinstance(data, list):
            size = sum(map(len, data))
            if 0 < size <= limit and size <= state.remoteWindowLeft:
                state.remoteWindowLeft -= size
                if dataType is None:
                    header = _U32x2.pack(state.remoteID, size)
                    return [(MSG_CHANNEL_DATA, b"".join((header, *data)))], b""
                header = _U32x3.pack(state.remoteID, dataType, size)
                return [(MSG_CHANNEL_EXTENDED_DATA, b"".join((header, *data)))], b""
            whole: bytes | memoryview = b"".join(data)
        else:
            whole = data
        data = whole
        packets: list[Packet] = []
        offset = 0
        if limit <= 0:
            return [], data
        total = len(data)
        while offset < total and state.remoteWindowLeft > 0:
            size = min(total - offset, state.remoteWindowLeft, limit)
            # A whole buffer is not sliced (slicing copies): the payload is built in one go.
            chunk = data if size == total else data[offset : offset + size]
            offset += size
            state.remoteWindowLeft -= size
            if dataType is None:
                packets.append((MSG_CHANNEL_DATA, _U32x2.pack(state.remoteID, size) + chunk))
            else:
                packets.append(
                    (
                        MSG_CHANNEL_EXTENDED_DATA,
                        _U32x3.pack(state.remoteID, dataType, size) + chunk,
                    )
                )
        return packets, (data[offset:] if offset else data)

    def adjustWindow(self, localID: int, bytesToAdd: int) -> list[Packet]:
        """Give the peer more window."""
        state = self.channels.get(localID)
        if state is None or state.closeSent or bytesToAdd <= 0:
            return []
        bytesToAdd = min(bytesToAdd, _MAX_WINDOW - state.localWindowLeft)
        state.localWindowLeft += bytesToAdd
        return [(MSG_CHANNEL_WINDOW_ADJUST, uint32(state.remoteID) + uint32(bytesToAdd))]

    def consumed(self, localID: int) -> list[Packet]:
        """Reopen the window once half of it was used (after data was delivered)."""
        state = self.channels.get(localID)
        if state is None or state.localWindowLeft >= state.localWindowSize // 2:
            return []
        return self.adjustWindow(localID, state.localWindowSize - state.localWindowLeft)

    def sendRequest(
        self, localID: int, requestType: bytes, data: bytes, wantReply: bool
    ) -> list[Packet]:
        state = self._channel(localID)
        if state.closeSent:
            return []
        payload = uint32(state.remoteID) + string(requestType) + boolean(wantReply) + data
        return [(MSG_CHANNEL_REQUEST, payload)]

    def replyRequest(self, localID: int, success: bool) -> list[Packet]:
        state = self.channels.get(localID)
        if state is None or state.closeSent:
            return []
        return [(MSG_CHANNEL_SUCCESS if success else MSG_CHANNEL_FAILURE, uint32(state.remoteID))]

    def sendEOF(self, localID: int) -> list[Packet]:
        state = self._channel(localID)
        if state.eofSent or state.closeSent or not state.open:
            return []
        state.eofSent = True
        return [(MSG_CHANNEL_EOF, uint32(state.remoteID))]

    def sendClose(self, localID: int) -> tuple[list[Packet], bool]:
        """
        Close a channel.

        :return: the packets and whether the channel is now gone (the peer closed too).
        """
        state = self.channels.get(localID)
        if state is None or state.closeSent:
            return [], False
        if not state.open:
            # Not confirmed yet: the CLOSE waits until it is (RFC 4254 section 5.3 needs the id).
            state.closeSent = True
            return [], False
        state.closeSent = True
        done = state.closeReceived
        if done:
            del self.channels[localID]
        return [(MSG_CHANNEL_CLOSE, uint32(state.remoteID))], done

    def sendGlobalRequest(self, requestType: bytes, data: bytes, wantReply: bool) -> Packet:
        if wantReply:
            self._pendingGlobal += 1
        return MSG_GLOBAL_REQUEST, string(requestType) + boolean(wantReply) + data

    def replyGlobal(self, success: bool, data: bytes = b"") -> Packet:
        return (MSG_REQUEST_SUCCESS, data) if success else (MSG_REQUEST_FAILURE, b"")

    # ------------------------------------------------------------------ receiving

    def receive(self, messageType: int, payload: bytes) -> list[Any]:
        """
        Decode and check one message.

        :raises SSHProtocolError: an unknown channel, a window overrun, a malformed message.
        """
        if messageType == MSG_CHANNEL_DATA or messageType == MSG_CHANNEL_EXTENDED_DATA:
            # The most frequent message: its fixed header read in one unpack.
            if messageType == MSG_CHANNEL_DATA:
                start = 8
                if len(payload) < start:
                    raise _error("truncated channel data")
                localID, size = _U32x2.unpack_from(payload)
                dataType = None
            else:
                start = 12
                if len(payload) < start:
                    raise _error("truncated channel data")
                localID, dataType, size = _U32x3.unpack_from(payload)
            if len(payload) != start + size:
                raise _error("bad channel data length")
            state = self._channel(localID)
            data = payload[start:]
            if not state.open or state.eofReceived or state.closeReceived:
                raise _error("data on a channel that is not open")
            if len(data) > state.localWindowLeft:
                raise _error("channel window exceeded")
            if len(data) > state.localMaxPacket:
                raise _error("channel packet too large")
            state.localWindowLeft -= len(data)
            if state.closeSent:
                return []
            if dataType is None:
                return [ChannelData(state.localID, data)]
            return [ChannelExtendedData(state.localID, dataType, data)]
        r = Reader(payload, maxString=1 << 24)
        if messageType == MSG_CHANNEL_WINDOW_ADJUST:
            state = self._channel(r.uint32())
            add = r.uint32()
            r.done()
            if state.remoteWindowLeft + add > _MAX_WINDOW:
                raise _error("channel window overflow")
            state.remoteWindowLeft += add
            return [WindowAdjusted(state.localID, add)]
        if messageType == MSG_CHANNEL_OPEN:
            channelType = r.string()
            remoteID = r.uint32()
            window = r.uint32()
            maxPacket = r.uint32()
            return [ChannelOpenRequested(channelType, remoteID, window, maxPacket, r.rest())]
        if messageType == MSG_CHANNEL_OPEN_CONFIRMATION:
            state = self._channel(r.uint32())
            if state.open or state.remoteID != -1:
                raise _error("channel already open")
            state.remoteID = r.uint32()
            state.remoteWindowLeft = r.uint32()
            state.remoteMaxPacket = r.uint32()
            state.open = True
            if state.closeSent:
                state.closeSent = False
                return [ChannelOpened(state.localID, r.rest())]
            return [ChannelOpened(state.localID, r.rest())]
        if messageType == MSG_CHANNEL_OPEN_FAILURE:
            state = self._channel(r.uint32())
            if state.open:
                raise _error("channel already open")
            code = r.uint32()
            description = r.string()
            del self.channels[state.localID]
            return [ChannelOpenFailed(state.localID, code, description[:256])]
        if messageType == MSG_CHANNEL_EOF:
            state = self._channel(r.uint32())
            r.done()
            if not state.open or state.eofReceived:
                raise _error("unexpected EOF")
            state.eofReceived = True
            return [ChannelEOF(state.localID)]
        if messageType == MSG_CHANNEL_CLOSE:
            state = self._channel(r.uint32())
            r.done()
            if not state.open or state.closeReceived:
                raise _error("unexpected CLOSE")
            state.closeReceived = True
            if state.closeSent:
                del self.channels[state.localID]
            return [ChannelClosed(state.localID, state.closeSent)]
        if messageType == MSG_CHANNEL_REQUEST:
            state = self._channel(r.uint32())
            requestType = r.string()
            wantReply = r.boolean()
            if not state.open or state.closeReceived:
                raise _error("request on a channel that is not open")
            return [ChannelRequest(state.localID, requestType, wantReply, r.rest())]
        if messageType in (MSG_CHANNEL_SUCCESS, MSG_CHANNEL_FAILURE):
            state = self._channel(r.uint32())
            r.done()
            return [ChannelReply(state.localID, messageType == MSG_CHANNEL_SUCCESS)]
        if messageType == MSG_GLOBAL_REQUEST:
            requestType = r.string()
            wantReply = r.boolean()
            return [GlobalRequest(requestType, wantReply, r.rest())]
        if messageType in (MSG_REQUEST_SUCCESS, MSG_REQUEST_FAILURE):
            if self._pendingGlobal <= 0:
                raise _error("unexpected global request reply")
            self._pendingGlobal -= 1
            return [GlobalReply(messageType == MSG_REQUEST_SUCCESS, r.rest())]
        raise _error("unknown connection message")
