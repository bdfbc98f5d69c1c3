"""Events the Telnet codec produces. Slotted attrs classes: one is made per chunk of input."""

from __future__ import annotations

import attrs


@attrs.define(slots=True)
class Data:
    """Application data, IAC escapes removed and CR LF / CR NUL turned into LF / CR."""

    data: bytes


@attrs.define(slots=True)
class Command:
    """A two-byte command such as ``IAC AYT`` (``command`` is the second byte's value)."""

    command: int


@attrs.define(slots=True)
class Subnegotiation:
    """``IAC SB option ... IAC SE``: ``data`` is the payload with IAC escapes removed."""

    option: int
    data: bytes


@attrs.define(slots=True)
class OptionOffered:
    """
    The peer asks to turn an option on: ``local`` is true for ``DO`` (it wants us to perform
    the option), false for ``WILL`` (it offers to perform it). The codec waits for
    :meth:`~glisten.conch._telnet.TelnetCodec.answerOffer` before the next event.
    """

    option: int
    local: bool


@attrs.define(slots=True)
class OptionEnabled:
    """
    An option is now on. ``requested`` is true when it answers our own request.
    """

    option: int
    local: bool
    requested: bool


@attrs.define(slots=True)
class OptionDisabled:
    """An option that was on (or that we asked to turn off) is now off."""

    option: int
    local: bool
    requested: bool


@attrs.define(slots=True)
class OptionRefused:
    """The peer refused our request to turn an option on."""

    option: int
    local: bool


Event = (
    Data | Command | Subnegotiation | OptionOffered | OptionEnabled | OptionDisabled | OptionRefused
)
