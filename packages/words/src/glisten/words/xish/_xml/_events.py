"""Events of the XML stream parser."""

from __future__ import annotations

import attrs

from ._element import Element


@attrs.define(slots=True, frozen=True)
class StreamStarted:
    """The root element opened; it carries the root's attributes and namespace declarations
    but never any children.

    :ivar root: the root element.
    """

    root: Element


@attrs.define(slots=True)
class ElementReceived:
    """A complete child of the root (a stanza) arrived. (Not frozen: one is made per stanza,
    and a frozen class's constructor costs twice as much.)

    :ivar element: the element, detached (its ``parent`` is None).
    """

    element: Element


@attrs.define(slots=True, frozen=True)
class StreamEnded:
    """The root element closed: the peer ended its stream."""


Event = StreamStarted | ElementReceived | StreamEnded
