"""
The connection service (RFC 4254): an adapter over the sans-IO channel machine that drives
:class:`~glisten.conch.ssh.channel.SSHChannel` objects.
"""

from __future__ import annotations

from typing import Any

from glisten.conch import error
from glisten.conch.ssh import service
from glisten.conch.ssh._ssh import _channels as ch
from glisten.conch.ssh._ssh._channels import (
    MSG_CHANNEL_CLOSE,
    MSG_CHANNEL_DATA,
    MSG_CHANNEL_EOF,
    MSG_CHANNEL_EXTENDED_DATA,
    MSG_CHANNEL_FAILURE,
    MSG_CHANNEL_OPEN,
    MSG_CHANNEL_OPEN_CONFIRMATION,
    MSG_CHANNEL_OPEN_FAILURE,
    MSG_CHANNEL_REQUEST,
    MSG_CHANNEL_SUCCESS,
    MSG_CHANNEL_WINDOW_ADJUST,
    MSG_GLOBAL_REQUEST,
    MSG_REQUEST_FAILURE,
    MSG_REQUEST_SUCCESS,
    OPEN_ADMINISTRATIVELY_PROHIBITED,
    OPEN_CONNECT_FAILED,
    OPEN_RESOURCE_SHORTAGE,
    OPEN_UNKNOWN_CHANNEL_TYPE,
)
from glisten.internet.defer import Deferred, maybeDeferred
from glisten.python.failure import Failure

__all__ = [
    "EXTENDED_DATA_STDERR",
    "MSG_CHANNEL_CLOSE",
    "MSG_CHANNEL_DATA",
    "MSG_CHANNEL_EOF",
    "MSG_CHANNEL_EXTENDED_DATA",
    "MSG_CHANNEL_FAILURE",
    "MSG_CHANNEL_OPEN",
    "MSG_CHANNEL_OPEN_CONFIRMATION",
    "MSG_CHANNEL_OPEN_FAILURE",
    "MSG_CHANNEL_REQUEST",
    "MSG_CHANNEL_SUCCESS",
    "MSG_CHANNEL_WINDOW_ADJUST",
    "MSG_GLOBAL_REQUEST",
    "MSG_REQUEST_FAILURE",
    "MSG_REQUEST_SUCCESS",
    "OPEN_ADMINISTRATIVELY_PROHIBITED",
    "OPEN_CONNECT_FAILED",
    "OPEN_RESOURCE_SHORTAGE",
    "OPEN_UNKNOWN_CHANNEL_TYPE",
    "SSHConnection",
]

EXTENDED_DATA_STDERR = 1


class SSHConnection(service.SSHService):
    """
    The ``ssh-connection`` service, both sides.

    :ivar channels: our channel number to channel.
    :cvar maxChannels: how many channels the peer may have open at once.
    """

    name = b"ssh-connection"
    maxChannels = 64

    def __init__(self) -> None:
        self.channels: dict[int, Any] = {}
        self.deferreds: dict[Any, list[Deferred[Any]]] = {"global": []}
        self._machine = ch.ConnectionMachine(self.maxChannels)
        self._heldTails: list[Any] = []

    def serviceStarted(self) -> None:
        avatar = getattr(self.transport, "avatar", None)
        if avatar is not None:
            avatar.conn = self

    def serviceStopped(self) -> None:
        for channel in list(self.channels.values()):
            self.channelClosed(channel)
        for d in self.deferreds.pop("global", []):
            d.errback(error.ConchError("connection stopped"))

    # ------------------------------------------------------------------ receiving

    def packetReceived(self, messageNum: int, packet: bytes) -> None:
        for event in self._machine.receive(messageNum, packet):
            self._dispatch(event)

    def _send(self, packets: list[tuple[int, bytes]]) -> None:
        for messageType, payload in packets:
            self.transport.sendPacket(messageType, payload)

    def _dispatch(self, e: Any) -> None:
        if isinstance(e, ch.ChannelData):
            channel = self.channels[e.localID]
            channel.localWindowLeft -= len(e.data)
            channel.dataReceived(e.data)
            self._reopenWindow(channel)
        elif isinstance(e, ch.ChannelExtendedData):
            channel = self.channels[e.localID]
            channel.localWindowLeft -= len(e.data)
            channel.extReceived(e.dataType, e.data)
            self._reopenWindow(channel)
        elif isinstance(e, ch.WindowAdjusted):
            channel = self.channels[e.localID]
            channel.remoteWindowLeft = self._machine.channels[e.localID].remoteWindowLeft
            channel.addWindowBytes(e.bytesToAdd)
        elif isinstance(e, ch.ChannelOpenRequested):
            self._openRequested(e)
        elif isinstance(e, ch.ChannelOpened):
            channel = self.channels[e.localID]
            state = self._machine.channels[e.localID]
            channel.remoteWindowLeft = state.remoteWindowLeft
            channel.remoteMaxPacket = state.remoteMaxPacket
            channel.channelOpen(e.data)
            channel._flush()
            if channel.closing and not channel.localClosed:
                self.sendClose(channel)
        elif isinstance(e, ch.ChannelOpenFailed):
            channel = self.channels.pop(e.localID)
            channel.openFailed(error.ConchError(e.description, e.reasonCode))
        elif isinstance(e, ch.ChannelEOF):
            self.channels[e.localID].eofReceived()
        elif isinstance(e, ch.ChannelClosed):
            channel = self.channels[e.localID]
            channel.remoteClosed = True
            if e.finished:
                self.channelClosed(channel)
            else:
                channel.closeReceived()
        elif isinstance(e, ch.ChannelRequest):
            self._channelRequest(e)
        elif isinstance(e, ch.ChannelReply):
            pending = self.deferreds.get(e.localID)
            if pending:
                d = pending.pop(0)
                if e.success:
                    d.callback(b"")
                else:
                    d.errback(error.ConchError("channel request failed"))
        elif isinstance(e, ch.GlobalRequest):
            self._globalRequest(e)
        elif isinstance(e, ch.GlobalReply):
            pending = self.deferreds["global"]
            if pending:
                d = pending.pop(0)
                if e.success:
                    d.callback(e.data)
                else:
                    d.errback(error.ConchError("global request failed"))

    def _reopenWindow(self, channel: Any) -> None:
        if getattr(channel, "_inputPaused", False) or channel.id not in self._machine.channels:
            return
        packets = self._machine.consumed(channel.id)
        if packets:
            channel.localWindowLeft = self._machine.channels[channel.id].localWindowLeft
            self._send(packets)

    def _openRequested(self, e: ch.ChannelOpenRequested) -> None:
        try:
            channel = self.getChannel(e.channelType, e.windowSize, e.maxPacket, e.data)
        except error.ConchError as err:
            code, text = _openFailure(err)
            self._send([self._machine.refuseOpen(e.remoteID, code, text)])
            return
        except Exception:
            self._log.failure("error opening a channel", Failure())
            self._send([self._machine.refuseOpen(e.remoteID, OPEN_CONNECT_FAILED, "failed")])
            return
        if channel is None:
            self._send(
                [self._machine.refuseOpen(e.remoteID, OPEN_UNKNOWN_CHANNEL_TYPE, "unknown channel")]
            )
            return
        try:
            localID, packet = self._machine.confirmOpen(
                e, channel.localWindowSize, channel.localMaxPacket, channel.specificData
            )
        except Exception:
            self._send(
                [self._machine.refuseOpen(e.remoteID, OPEN_RESOURCE_SHORTAGE, "too many channels")]
            )
            return
        channel.id = localID
        channel.conn = self
        channel.remoteWindowLeft = e.windowSize
        channel.remoteMaxPacket = e.maxPacket
        self.channels[localID] = channel
        self._send([packet])
        channel.channelOpen(b"")

    def _channelRequest(self, e: ch.ChannelRequest) -> None:
        channel = self.channels[e.localID]
        d: Deferred[Any] = maybeDeferred(channel.requestReceived, e.requestType, e.data)
        if not e.wantReply:
            d.addErrback(lambda f: None)
            return

        def reply(result: Any) -> None:
            self._send(self._machine.replyRequest(e.localID, bool(result)))

        def failed(f: Failure) -> None:
            if not f.check(error.ConchError):
                self._log.failure("error in channel request", f)
            self._send(self._machine.replyRequest(e.localID, False))

        d.addCallbacks(reply, failed)

    def _globalRequest(self, e: ch.GlobalRequest) -> None:
        try:
            result = self.gotGlobalRequest(e.requestType, e.data)
        except Exception:
            result = False
        if not e.wantReply:
            return
        if isinstance(result, tuple):
            ok, data = result
        else:
            ok, data = bool(result), b""
        self._send([self._machine.replyGlobal(bool(ok), data)])

    # ------------------------------------------------------------------ hooks

    def getChannel(self, channelType: bytes, windowSize: int, maxPacket: int, data: bytes) -> Any:
        """
        The channel for an open request; the avatar decides by default.

        :raises glisten.conch.error.ConchError: refused.
        """
        avatar = getattr(self.transport, "avatar", None)
        if avatar is None:
            raise error.ConchError(OPEN_ADMINISTRATIVELY_PROHIBITED, "not allowed")
        return avatar.lookupChannel(channelType, windowSize, maxPacket, data)

    def gotGlobalRequest(self, requestType: bytes, data: bytes) -> Any:
        """A global request; the avatar decides, refused without one."""
        avatar = getattr(self.transport, "avatar", None)
        if avatar is None:
            return 0
        return avatar.gotGlobalRequest(requestType, data)

    # ------------------------------------------------------------------ Twisted's API

    def openChannel(self, channel: Any, extra: bytes = b"") -> None:
        """Ask the peer to open ``channel``."""
        localID, packet = self._machine.openChannel(
            channel.name, channel.localWindowSize, channel.localMaxPacket, extra
        )
        channel.id = localID
        channel.conn = self
        self.channels[localID] = channel
        self._send([packet])

    def sendRequest(
        self, channel: Any, requestType: bytes, data: bytes, wantReply: bool = False
    ) -> Deferred[Any] | None:
        """Send a channel request; with ``wantReply`` a Deferred fires with the answer."""
        if channel.localClosed:
            return None
        self._send(self._machine.sendRequest(channel.id, requestType, data, wantReply))
        if wantReply:
            d: Deferred[Any] = Deferred()
            self.deferreds.setdefault(channel.id, []).append(d)
            return d
        return None

    def sendGlobalRequest(
        self, request: bytes, data: bytes, wantReply: bool = False
    ) -> Deferred[Any] | None:
        """Send a global request; with ``wantReply`` a Deferred fires with the answer's data."""
        self._send([self._machine.sendGlobalRequest(request, data, wantReply)])
        if wantReply:
            d: Deferred[Any] = Deferred()
            self.deferreds["global"].append(d)
            return d
        return None

    def _writePaused(self) -> bool:
        """Whether the network transport asked for no more data for now."""
        return bool(getattr(self.transport, "writePaused", False))

    def _holdsTails(self) -> bool:
        """
        Whether the transport is in a receive turn (it writes what was sent meanwhile when
        the turn ends): a channel's data short of a packet then waits for the turn's end, to
        share a packet with what is written after it (an SFTP reply's last bytes and the next
        reply), at no cost in latency.
        """
        return bool(getattr(self.transport, "_receiving", False))

    def _holdTail(self, channel: Any) -> None:
        """``channel`` holds a short tail back until :meth:`_receiveTurnEnded`."""
        if channel not in self._heldTails:
            self._heldTails.append(channel)

    def _receiveTurnEnded(self) -> None:
        """The transport's receive turn ended: send the tails the channels held back."""
        held = self._heldTails
        while held:
            channel = held.pop(0)
            channel._flush()

    def _sendChannelData(
        self,
        channel: Any,
        data: bytes | memoryview | list[bytes | memoryview],
        dataType: int | None,
    ) -> bytes | memoryview:
        """Send what the window allows of ``data`` (or a list of pieces for one packet; the
        caller checked the transport takes data); return the rest."""
        packets, rest = self._machine.sendData(channel.id, data, dataType)
        self._send(packets)
        state = self._machine.channels.get(channel.id)
        if state is not None:
            channel.remoteWindowLeft = state.remoteWindowLeft
        return rest

    def transportResumed(self) -> None:
        """The transport takes data again: send what the channels hold (within their windows)."""
        for channel in list(self.channels.values()):
            if getattr(self.transport, "writePaused", False):
                return
            channel._flush()

    def sendData(self, channel: Any, data: bytes) -> None:
        """Send data on ``channel`` (through its flow control)."""
        channel.write(data)

    def sendExtendedData(self, channel: Any, dataType: int, data: bytes) -> None:
        """Send extended data on ``channel`` (through its flow control)."""
        channel.writeExtended(dataType, data)

    def adjustWindow(self, channel: Any, bytesToAdd: int) -> None:
        """Give the peer more window on ``channel``."""
        self._send(self._machine.adjustWindow(channel.id, bytesToAdd))
        state = self._machine.channels.get(channel.id)
        if state is not None:
            channel.localWindowLeft = state.localWindowLeft

    def sendEOF(self, channel: Any) -> None:
        """Tell the peer we send no more data on ``channel`` (after what is buffered)."""
        channel.whenFlushed(
            lambda: (
                self._send(self._machine.sendEOF(channel.id))
                if channel.id in self._machine.channels
                else None
            )
        )

    def sendClose(self, channel: Any) -> None:
        """Close ``channel``."""
        if channel.localClosed or channel.id is None:
            return
        if channel.id not in self._machine.channels:
            return
        state = self._machine.channels[channel.id]
        if not state.open:
            channel.closing = True
            return
        channel.localClosed = True
        packets, done = self._machine.sendClose(channel.id)
        self._send(packets)
        if done:
            self.channelClosed(channel)

    def channelClosed(self, channel: Any) -> None:
        """Both sides closed ``channel``: forget it and tell it."""
        channel.localClosed = channel.remoteClosed = True
        self.channels.pop(channel.id, None)
        self._machine.channels.pop(channel.id, None)
        for d in self.deferreds.pop(channel.id, []):
            d.errback(error.ConchError("channel closed"))
        try:
            channel.closed()
        except Exception:
            self._log.failure("error closing a channel", Failure())


def _openFailure(err: error.ConchError) -> tuple[int, str]:
    if isinstance(err.value, int):
        return err.value, str(err.data or "refused")
    if isinstance(err.data, int):
        return err.data, str(err.value)
    return OPEN_CONNECT_FAILED, str(err.value)
