"""Interfaces of glisten's XMPP support (Twisted's ``jabber.ijabber``)."""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

__all__ = ["IIQResponseTracker", "IInitializer", "IInitiatingInitializer"]


class IInitializer(Interface):
    """Initialises part of a stream (TLS, authentication, resource binding...)."""

    def initialize() -> Any:
        """Run; return a Deferred or None."""


class IInitiatingInitializer(IInitializer):
    """An initializer for the initiating side of a stream."""

    xmlstream = Attribute("the stream")


class IIQResponseTracker(Interface):
    """A stream that fires the Deferreds of IQ requests when their answers arrive."""

    iqDeferreds = Attribute("Deferreds waiting for answers, by IQ id")
