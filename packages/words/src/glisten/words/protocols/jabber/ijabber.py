"""Interfaces of glisten's XMPP support (Twisted's ``jabber.ijabber``)."""

from __future__ import annotations

from typing import Any

from zope.interface import Attribute, Interface

__all__ = [
    "IIQResponseTracker",
    "IInitializer",
    "IInitiatingInitializer",
    "IService",
    "IXMPPHandler",
]


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


class IXMPPHandler(Interface):
    """Part of an XMPP program that follows a stream's life."""

    parent = Attribute("the collection the handler belongs to")
    xmlstream = Attribute("the current stream, or None")

    def setHandlerParent(parent: Any) -> None:
        """Join a handler collection."""

    def disownHandlerParent(parent: Any) -> None:
        """Leave the handler collection."""

    def makeConnection(xs: Any) -> None:
        """A stream connected."""

    def connectionMade() -> None:
        """Called after makeConnection."""

    def connectionInitialized() -> None:
        """The stream is authenticated and ready."""

    def connectionLost(reason: Any) -> None:
        """The stream ended."""


class IService(Interface):
    """A part of an external component, under a ``component.ServiceManager``."""

    def componentConnected(xs: Any) -> None:
        """The component is connected and authenticated: observe and send on ``xs``."""

    def componentDisconnected() -> None:
        """The component's stream ended (the manager reconnects)."""

    def transportConnected(xs: Any) -> None:
        """The connection is made, before authentication (to log raw traffic, say)."""
