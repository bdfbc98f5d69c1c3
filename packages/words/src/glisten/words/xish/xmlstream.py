"""Twisted's ``xish.xmlstream``: a Protocol that parses an XML stream into element events and
dispatches them to observers (see :class:`~glisten.words.xish.utility.EventDispatcher`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.internet import protocol
from glisten.internet.main import getReactor
from glisten.python.failure import Failure
from glisten.words._pacing import InputPacer
from glisten.words.xish import domish, utility

__all__ = [
    "STREAM_CONNECTED_EVENT",
    "STREAM_END_EVENT",
    "STREAM_ERROR_EVENT",
    "STREAM_START_EVENT",
    "BootstrapMixin",
    "XmlStream",
    "XmlStreamFactory",
    "XmlStreamFactoryMixin",
    "XmlStreamServerFactory",
]

STREAM_CONNECTED_EVENT = "//event/stream/connected"
STREAM_START_EVENT = "//event/stream/start"
STREAM_END_EVENT = "//event/stream/end"
STREAM_ERROR_EVENT = "//event/stream/error"
#: Bytes handed to the parser at a time, so that a turn's element budget is kept to within
#: one slice's worth of elements (each parser call costs about as much as a small stanza).
_PARSE_SLICE = 2048


class XmlStream(protocol.Protocol, utility.EventDispatcher):
    """An XML stream over a transport.

    Dispatches :data:`STREAM_CONNECTED_EVENT` (with the stream) on connection,
    :data:`STREAM_START_EVENT` when the peer's root element opens, each child of the root as
    an element, :data:`STREAM_ERROR_EVENT` (with a :class:`Failure`) when the input cannot
    be parsed (the connection is then closed) and :data:`STREAM_END_EVENT` (with the reason)
    when the connection is lost.

    :ivar stream: the element stream parser, None when not connected.
    :ivar rawDataInFn: called with every received chunk, for logging (or None).
    :ivar rawDataOutFn: called with every sent chunk, for logging (or None).
    :ivar maxElementsPerTurn: elements dispatched in one go (give or take those of one
        slice of 2 KiB) before the connection yields to the others:
        reading pauses and the rest waits for the reactor's next turn, so a megabyte of tiny
        stanzas in one read cannot stall every other connection (issue 29). Input still
        waiting when the stream restarts (STARTTLS, SASL) is dropped: what was sent before
        the restart must not be read after it.
    :ivar maxBytesPerTurn: bytes parsed in one go, for the same reason (a big stanza).
    :ivar reactor: the reactor that runs those later turns (None: the global one).
    """

    #: The parser's bounds; a subclass or instance may set others.
    limits = domish.DEFAULT_LIMITS
    maxElementsPerTurn = 64
    maxBytesPerTurn = 65536
    reactor: Any = None
    _pacer: InputPacer[int] | None = None

    def __init__(self) -> None:
        utility.EventDispatcher.__init__(self)
        self.stream: domish.ExpatElementStream | None = None
        # Where parsed elements go (onElement unless setDispatchFn chose another), and how
        # many went there since the pacer last asked.
        self._dispatchFn: Callable[[domish.Element], object] = self.onElement
        self._parsed = 0
        self.rawDataOutFn: Callable[[bytes], object] | None = None
        self.rawDataInFn: Callable[[bytes], object] | None = None

    def _initializeStream(self) -> None:
        """Start a new parser, for a new stream (on connection or a stream restart)."""
        stream = domish.elementStream(self.limits)
        stream.DocumentStartEvent = self.onDocumentStart
        stream.ElementEvent = self._elementParsed
        stream.DocumentEndEvent = self.onDocumentEnd
        self._dispatchFn = self.onElement
        self.stream = stream
        if self._pacer is not None:
            self._pacer.discard()

    def connectionMade(self) -> None:
        self._initializeStream()
        self.dispatch(self, STREAM_CONNECTED_EVENT)

    def dataReceived(self, data: bytes) -> None:
        if self.rawDataInFn is not None:
            self.rawDataInFn(data)
        if self.stream is None:
            return
        pacer = self._pacer
        if pacer is None:
            pacer = self._pacer = InputPacer(
                self._parse,
                _noEvent,
                self.transport,
                lambda: getReactor(self.reactor),
                maxEvents=self.maxElementsPerTurn,
                maxBytes=self.maxBytesPerTurn,
                # Never more than the byte budget in one slice.
                sliceSize=max(1, min(_PARSE_SLICE, self.maxBytesPerTurn)),
            )
        pacer.dataReceived(data)

    def _parse(self, data: bytes) -> range:
        """Parse one slice of input; the parser dispatches its elements itself.

        :return: one (empty) event per element dispatched, for the pacer to count.
        """
        stream = self.stream
        if stream is None:
            return range(0)
        self._parsed = 0
        try:
            stream.parse(data)
        except domish.ParserError as e:
            self.stream = None
            if self._pacer is not None:
                self._pacer.discard()
            self.onParserError(e)
        return range(self._parsed)

    def _elementParsed(self, element: domish.Element) -> None:
        self._parsed += 1
        self._dispatchFn(element)

    def onParserError(self, error: domish.ParserError) -> None:
        """The peer sent unacceptable XML: report it and close the connection."""
        self.dispatch(Failure(error), STREAM_ERROR_EVENT)
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Any = protocol.connectionDone) -> None:
        if self._pacer is not None:
            self._pacer.stop()
        self.dispatch(reason, STREAM_END_EVENT)
        self.stream = None

    def onDocumentStart(self, rootElement: domish.Element) -> None:
        """The peer's root element opened."""
        self.dispatch(self, STREAM_START_EVENT)

    def onElement(self, element: domish.Element) -> None:
        """A child of the root arrived: dispatch it to the XPath observers."""
        self.dispatch(element)

    def onDocumentEnd(self) -> None:
        """The peer closed its root element: close the connection."""
        if self.transport is not None:
            self.transport.loseConnection()

    def setDispatchFn(self, fn: Callable[[domish.Element], object]) -> None:
        """Send the current stream's parsed elements to ``fn`` instead of :meth:`onElement`."""
        self._dispatchFn = fn

    def resetDispatchFn(self) -> None:
        """Undo :meth:`setDispatchFn`."""
        self._dispatchFn = self.onElement

    def send(self, obj: Any) -> None:
        """Send an element (serialised), text or bytes.

        :param obj: a :class:`~glisten.words.xish.domish.Element`, ``str`` or ``bytes``.
        """
        if domish.IElement.providedBy(obj):
            obj = obj.toXml()
        if isinstance(obj, str):
            obj = obj.encode("utf-8")
        if self.rawDataOutFn is not None:
            self.rawDataOutFn(obj)
        if self.transport is not None:
            self.transport.write(obj)


def _noEvent(event: int) -> None:
    return None


class BootstrapMixin:
    """Keeps observers ("bootstraps") to install on each new stream."""

    def __init__(self) -> None:
        self.bootstraps: list[tuple[str, Callable[..., Any]]] = []

    def installBootstraps(self, dispatcher: utility.EventDispatcher) -> None:
        """Add every bootstrap as an observer of ``dispatcher``."""
        for event, fn in self.bootstraps:
            dispatcher.addObserver(event, fn)

    def addBootstrap(self, event: str, fn: Callable[..., Any]) -> None:
        """Observe ``event`` on every stream this factory builds."""
        self.bootstraps.append((event, fn))

    def removeBootstrap(self, event: str, fn: Callable[..., Any]) -> None:
        """Stop observing ``event`` on new streams."""
        self.bootstraps.remove((event, fn))


class XmlStreamFactoryMixin(BootstrapMixin):
    """Builds an :class:`XmlStream` (``protocol``, called with ``args``/``kwargs``) and
    installs the bootstraps on it."""

    protocol: Any = XmlStream

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        BootstrapMixin.__init__(self)
        self.args = args
        self.kwargs = kwargs

    def buildProtocol(self, addr: Any) -> Any:
        xs = self.protocol(*self.args, **self.kwargs)
        xs.factory = self
        self.installBootstraps(xs)
        return xs


class XmlStreamFactory(XmlStreamFactoryMixin, protocol.ReconnectingClientFactory):
    """A reconnecting client factory for XML streams; a successful stream start resets the
    reconnection delay."""

    def buildProtocol(self, addr: Any) -> Any:
        self.resetDelay()
        return XmlStreamFactoryMixin.buildProtocol(self, addr)


class XmlStreamServerFactory(BootstrapMixin, protocol.ServerFactory):
    """A server factory for XML streams.

    :param authenticatorFactory: called with no arguments for each connection; its result is
        passed to ``protocol``.
    """

    protocol: Any = XmlStream

    def __init__(self, authenticatorFactory: Callable[[], Any]) -> None:
        BootstrapMixin.__init__(self)
        self.authenticatorFactory = authenticatorFactory

    def buildProtocol(self, addr: Any) -> Any:
        xs = self.protocol(self.authenticatorFactory())
        xs.factory = self
        self.installBootstraps(xs)
        return xs
