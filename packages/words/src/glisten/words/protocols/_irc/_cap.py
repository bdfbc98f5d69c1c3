"""The client side of IRCv3 capability negotiation (CAP LS 302, REQ, ACK/NAK, NEW/DEL, END)
and SASL authentication (PLAIN, EXTERNAL), as a state machine without I/O.

:meth:`ClientCapabilities.start` gives the first line to send; every message the server sends
during registration goes to :meth:`ClientCapabilities.receive`, which answers the lines to send
and what happened.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable

import attrs

from glisten.words.protocols._irc._events import Message

__all__ = [
    "CapState",
    "CapabilitiesAcknowledged",
    "CapabilitiesAdded",
    "CapabilitiesAvailable",
    "CapabilitiesRejected",
    "CapabilitiesRemoved",
    "ClientCapabilities",
    "NegotiationDone",
    "SASLFailed",
    "SASLSucceeded",
    "parseCapList",
]

Outgoing = list[tuple[str, list[str]]]

#: SASL numerics (IRCv3 sasl-3.1).
RPL_LOGGEDIN = "900"
RPL_LOGGEDOUT = "901"
ERR_NICKLOCKED = "902"
RPL_SASLSUCCESS = "903"
ERR_SASLFAIL = "904"
ERR_SASLTOOLONG = "905"
ERR_SASLABORTED = "906"
ERR_SASLALREADY = "907"
RPL_SASLMECHS = "908"
_SASL_FAILURES = {ERR_NICKLOCKED, ERR_SASLFAIL, ERR_SASLTOOLONG, ERR_SASLABORTED, ERR_SASLALREADY}

#: Base64 chunk size of AUTHENTICATE (sasl-3.1).
_SASL_CHUNK = 400


class CapState(enum.Enum):
    """Where negotiation stands."""

    IDLE = "idle"
    LISTING = "listing"
    REQUESTING = "requesting"
    AUTHENTICATING = "authenticating"
    DONE = "done"


@attrs.define(slots=True, frozen=True)
class CapabilitiesAvailable:
    """The server listed its capabilities (``{name: value or None}``)."""

    capabilities: dict[str, str | None]


@attrs.define(slots=True, frozen=True)
class CapabilitiesAcknowledged:
    """The server enabled (or, with a ``-`` prefix, disabled) these capabilities."""

    capabilities: list[str]


@attrs.define(slots=True, frozen=True)
class CapabilitiesRejected:
    """The server refused a request for these capabilities (nothing of it changed)."""

    capabilities: list[str]


@attrs.define(slots=True, frozen=True)
class CapabilitiesAdded:
    """``CAP NEW``: the server offers more capabilities."""

    capabilities: dict[str, str | None]


@attrs.define(slots=True, frozen=True)
class CapabilitiesRemoved:
    """``CAP DEL``: the server withdrew capabilities."""

    capabilities: list[str]


@attrs.define(slots=True, frozen=True)
class SASLSucceeded:
    """SASL authentication worked; ``account`` is the account name from RPL_LOGGEDIN."""

    account: str | None


@attrs.define(slots=True, frozen=True)
class SASLFailed:
    """SASL authentication failed: ``numeric`` is the server's reply (904 ...), or ``""`` when
    the server does not offer the mechanism."""

    numeric: str


@attrs.define(slots=True, frozen=True)
class NegotiationDone:
    """``CAP END`` was sent (or the server does not negotiate): registration goes on."""


CapEvent = (
    CapabilitiesAvailable
    | CapabilitiesAcknowledged
    | CapabilitiesRejected
    | CapabilitiesAdded
    | CapabilitiesRemoved
    | SASLSucceeded
    | SASLFailed
    | NegotiationDone
)


def parseCapList(text: str) -> dict[str, str | None]:
    """``"sasl=PLAIN,EXTERNAL server-time"`` -> ``{"sasl": "PLAIN,EXTERNAL", "server-time": None}``."""
    caps: dict[str, str | None] = {}
    for item in text.split():
        name, sep, value = item.partition("=")
        caps[name] = value if sep else None
    return caps


def saslPlainPayload(authcid: str, password: str, authzid: str = "") -> bytes:
    """The PLAIN response (RFC 4616): ``authzid NUL authcid NUL password``."""
    return b"\x00".join(s.encode("utf-8") for s in (authzid, authcid, password))


def saslChunks(payload: bytes) -> list[str]:
    """Split a SASL response into AUTHENTICATE arguments (400 base64 characters each, ``+``
    for empty or after an exactly full last chunk)."""
    encoded = base64.b64encode(payload).decode("ascii")
    chunks = [encoded[i : i + _SASL_CHUNK] for i in range(0, len(encoded), _SASL_CHUNK)]
    if not chunks or len(chunks[-1]) == _SASL_CHUNK:
        chunks.append("+")
    return chunks


class ClientCapabilities:
    """Negotiates capabilities for one client connection.

    :param wanted: capabilities to request when the server offers them.
    :param saslMechanism: ``"PLAIN"``, ``"EXTERNAL"`` or ``None`` for no SASL.
    :param saslPayload: the SASL response (:func:`saslPlainPayload` for PLAIN, empty for
        EXTERNAL, where the TLS client certificate is the credential).
    """

    def __init__(
        self,
        wanted: Iterable[str] = (),
        saslMechanism: str | None = None,
        saslPayload: bytes = b"",
    ) -> None:
        self.wanted = set(wanted)
        if saslMechanism is not None:
            self.wanted.add("sasl")
        self.saslMechanism = saslMechanism
        self._saslPayload = saslPayload
        self.state = CapState.IDLE
        #: Everything the server offers, with values.
        self.available: dict[str, str | None] = {}
        #: Capabilities in effect.
        self.enabled: set[str] = set()
        self._listing: dict[str, str | None] = {}
        self._pendingRequests = 0
        self.account: str | None = None

    def start(self) -> Outgoing:
        """The opening line: ``CAP LS 302``."""
        self.state = CapState.LISTING
        return [("CAP", ["LS", "302"])]

    def receive(self, message: Message) -> tuple[Outgoing, list[CapEvent]]:
        """Handle a server message; messages unrelated to negotiation return nothing."""
        command = message.command
        if command == "CAP" and len(message.params) >= 2:
            return self._cap(message.params[1].upper(), message.params[2:])
        if command == "AUTHENTICATE" and self.state is CapState.AUTHENTICATING:
            if message.params[:1] == ["+"]:
                return [("AUTHENTICATE", [c]) for c in saslChunks(self._saslPayload)], []
            return [("AUTHENTICATE", ["*"])], []
        if command == RPL_LOGGEDIN and len(message.params) >= 3:
            self.account = message.params[2]
            return [], []
        if self.state is CapState.AUTHENTICATING:
            if command == RPL_SASLSUCCESS:
                return self._end([SASLSucceeded(self.account)])
            if command in _SASL_FAILURES:
                return self._end([SASLFailed(command)])
        if command in ("001", "421") and self.state is not CapState.DONE:
            # The server registered us without negotiating, or does not know CAP.
            self.state = CapState.DONE
            return [], [NegotiationDone()]
        return [], []

    def _cap(self, sub: str, args: list[str]) -> tuple[Outgoing, list[CapEvent]]:
        if sub == "LS":
            more = len(args) >= 2 and args[0] == "*"
            self._listing.update(parseCapList(args[-1] if args else ""))
            if more or self.state is not CapState.LISTING:
                return [], []
            self.available = dict(self._listing)
            self._listing = {}
            events: list[CapEvent] = [CapabilitiesAvailable(dict(self.available))]
            want = sorted(name for name in self.wanted if name in self.available)
            if self.saslMechanism is not None and not self._offersMechanism():
                want = [name for name in want if name != "sasl"]
                events.append(SASLFailed(""))
            if not want:
                out, done = self._end([])
                return out, events + done
            self.state = CapState.REQUESTING
            return self._request(want), events
        if sub in ("ACK", "NAK"):
            names = args[-1].split() if args else []
            self._pendingRequests = max(0, self._pendingRequests - 1)
            if sub == "ACK":
                for name in names:
                    if name.startswith("-"):
                        self.enabled.discard(name[1:])
                    else:
                        self.enabled.add(name)
                ev: CapEvent = CapabilitiesAcknowledged(names)
            else:
                ev = CapabilitiesRejected(names)
            if self.state is not CapState.REQUESTING or self._pendingRequests:
                return [], [ev]
            if "sasl" in self.enabled and self.saslMechanism is not None:
                self.state = CapState.AUTHENTICATING
                return [("AUTHENTICATE", [self.saslMechanism])], [ev]
            out, done = self._end([])
            return out, [ev, *done]
        if sub == "NEW":
            added = parseCapList(args[-1] if args else "")
            self.available.update(added)
            want = sorted(n for n in added if n in self.wanted and n not in self.enabled)
            if self.state is CapState.DONE:
                want = [n for n in want if n != "sasl"]
            return (self._request(want) if want else []), [CapabilitiesAdded(added)]
        if sub == "DEL":
            removed = args[-1].split() if args else []
            for name in removed:
                self.available.pop(name, None)
                self.enabled.discard(name)
            return [], [CapabilitiesRemoved(removed)]
        return [], []

    def _offersMechanism(self) -> bool:
        if "sasl" not in self.available:
            return False
        value = self.available["sasl"]
        if not value:
            return True  # CAP 301 style: mechanisms not listed, try
        return self.saslMechanism in value.upper().split(",")

    def _request(self, names: list[str]) -> Outgoing:
        out: Outgoing = []
        line: list[str] = []
        for name in names:
            if line and len(" ".join([*line, name])) > 400:
                out.append(("CAP", ["REQ", " ".join(line)]))
                line = []
            line.append(name)
        if line:
            out.append(("CAP", ["REQ", " ".join(line)]))
        self._pendingRequests += len(out)
        return out

    def _end(self, events: list[CapEvent]) -> tuple[Outgoing, list[CapEvent]]:
        if self.state is CapState.DONE:
            return [], events
        self.state = CapState.DONE
        return [("CAP", ["END"])], [*events, NegotiationDone()]
