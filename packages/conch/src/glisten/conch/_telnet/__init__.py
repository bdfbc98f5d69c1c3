"""
A sans-IO Telnet codec (RFC 854/855) with RFC 1143 option negotiation.

Bytes go in through :meth:`TelnetCodec.receiveData` and come out as events from
:meth:`TelnetCodec.nextEvent`; what to send comes from the ``send*`` methods and
:meth:`TelnetCodec.dataToSend`. Nothing here knows about sockets or reactors.
"""

from glisten.conch._telnet._codec import OptionState, TelnetCodec
from glisten.conch._telnet._errors import NegotiationStateError, TelnetProtocolError
from glisten.conch._telnet._events import (
    Command,
    Data,
    Event,
    OptionDisabled,
    OptionEnabled,
    OptionOffered,
    OptionRefused,
    Subnegotiation,
)
from glisten.conch._telnet._limits import Limits
from glisten.conch._telnet._options import (
    packNAWS,
    packNewEnvironIs,
    packTerminalTypeIs,
    parseNAWS,
    parseNewEnviron,
    parseTerminalType,
)

__all__ = [
    "Command",
    "Data",
    "Event",
    "Limits",
    "NegotiationStateError",
    "OptionDisabled",
    "OptionEnabled",
    "OptionOffered",
    "OptionRefused",
    "OptionState",
    "Subnegotiation",
    "TelnetCodec",
    "TelnetProtocolError",
    "packNAWS",
    "packNewEnvironIs",
    "packTerminalTypeIs",
    "parseNAWS",
    "parseNewEnviron",
    "parseTerminalType",
]
