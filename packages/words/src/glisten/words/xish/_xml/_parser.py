"""An incremental XML stream parser on expat, guarded for streams from untrusted peers.

It refuses what XMPP forbids (RFC 6120 section 11.1) and what makes XML parsers dangerous:
document type declarations (so no entity declarations: no billion laughs, no external
entities), processing instructions and comments. It bounds nesting depth, attributes per
element and the bytes of one stanza, and it never holds more than ``maxStanzaSize`` bytes of an
unfinished tag, so memory stays flat whatever the peer sends. Input must be UTF-8.
"""

from __future__ import annotations

from typing import Any, NoReturn
from xml.parsers import expat

from ._element import Element
from ._errors import ParserError, ParserErrorKind
from ._events import ElementReceived, Event, StreamEnded, StreamStarted
from ._limits import DEFAULT_LIMITS, Limits

__all__ = ["StreamParser"]

# Bytes handed to expat at once, so that size limits are checked while a large input is parsed.
_SLICE = 65536
# Distinct element names whose split form one stream keeps (a peer that invents names gets no
# more than this many kept).
_QNAME_CACHE = 256


def _refuse(what: str) -> NoReturn:
    raise ParserError(f"{what} is not allowed in an XML stream", ParserErrorKind.RESTRICTED_XML)


def _refuseDoctype(*args: Any) -> NoReturn:
    _refuse("a document type declaration")


def _refuseEntity(*args: Any) -> NoReturn:
    _refuse("an entity declaration")


def _refusePI(*args: Any) -> NoReturn:
    _refuse("a processing instruction")


def _refuseComment(*args: Any) -> NoReturn:
    _refuse("a comment")


def _refuseExternal(*args: Any) -> NoReturn:
    _refuse("an external entity")


class StreamParser:
    """Parses one XML stream: the root element opens it, each child of the root is delivered
    whole as a stanza, the root's end tag ends it.

    Call :meth:`receiveData` with bytes as they arrive; it returns the events they complete.
    After a :class:`ParserError` the parser is finished and every later call raises again.
    :meth:`reset` starts a new stream (an XMPP stream restart after TLS or authentication).

    :param limits: the bounds to enforce.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._failed: ParserError | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the current stream and expect a new root element."""
        parser = expat.ParserCreate("UTF-8", " ")
        parser.buffer_text = True
        parser.buffer_size = _SLICE
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuseDoctype
        parser.EntityDeclHandler = _refuseEntity
        parser.UnparsedEntityDeclHandler = _refuseEntity
        parser.NotationDeclHandler = _refuseEntity
        parser.ExternalEntityRefHandler = _refuseExternal
        parser.ProcessingInstructionHandler = _refusePI
        parser.CommentHandler = _refuseComment
        self._parser = parser
        self._events: list[Event] = []
        self._fed = 0
        self._mark = 0
        self._ended = False
        self._installHandlers(parser, self._events)

    def _installHandlers(self, parser: Any, events: list[Event]) -> None:
        # The element callbacks run for every element: they keep their state in closure
        # variables (cheaper than attributes of self) and build elements without detours.
        emit = events.append
        maxDepth = self.limits.maxDepth
        maxAttributes = self.limits.maxAttributes
        maxStanzaSize = self.limits.maxStanzaSize
        depth = 0
        current: Element | None = None
        prefixes: dict[str, str] = {}
        # The default namespace in scope, and the depth of the element that declared it.
        defaults: list[str] = [""]
        defaultDepths: list[int] = [0]
        pendingDefault: str | None = None
        # Element names seen on this stream, split: a stream repeats a few dozen names.
        qnames: dict[str, tuple[str, str]] = {}

        def onNamespace(prefix: str | None, uri: str | None) -> None:
            nonlocal pendingDefault
            if prefix is None:
                pendingDefault = uri or ""
            else:
                prefixes[prefix] = uri or ""

        def onStart(name: str, attrs: dict[str, str]) -> None:
            nonlocal depth, current, prefixes, pendingDefault
            depth += 1
            if depth > maxDepth:
                raise ParserError(
                    "elements are nested too deeply", ParserErrorKind.POLICY_VIOLATION
                )
            if pendingDefault is not None:
                defaults.append(pendingDefault)
                defaultDepths.append(depth)
                pendingDefault = None
            qname = qnames.get(name)
            if qname is None:
                uri, _, local = name.rpartition(" ")
                qname = (uri, local)
                if len(qnames) < _QNAME_CACHE:
                    qnames[name] = qname
            if attrs:
                if len(attrs) + len(prefixes) > maxAttributes:
                    raise ParserError(
                        "an element has too many attributes", ParserErrorKind.POLICY_VIOLATION
                    )
                if " " in "".join(attrs):
                    for key in [k for k in attrs if " " in k]:
                        attrUri, _, attrName = key.rpartition(" ")
                        attrs[(attrUri, attrName)] = attrs.pop(key)  # type: ignore[index]
            if prefixes:
                if len(prefixes) > maxAttributes:
                    raise ParserError(
                        "an element has too many attributes", ParserErrorKind.POLICY_VIOLATION
                    )
                element = Element(qname, defaults[-1], attrs, prefixes)
                prefixes = {}
            else:
                element = Element(qname, defaults[-1], attrs)
            if depth > 2:
                element.parent = current
                current.children.append(element)  # type: ignore[union-attr]
                current = element
            elif depth == 2:
                self._mark = parser.CurrentByteIndex
                current = element
            else:
                emit(StreamStarted(element))
                self._mark = parser.CurrentByteIndex

        def onEnd(name: str) -> None:
            nonlocal depth, current
            ending = depth
            depth = ending - 1
            if defaultDepths[-1] == ending:
                defaultDepths.pop()
                defaults.pop()
            if ending > 2:
                current = current.parent  # type: ignore[union-attr]
            elif ending == 2:
                if parser.CurrentByteIndex - self._mark > maxStanzaSize:
                    raise ParserError("a stanza is too large", ParserErrorKind.POLICY_VIOLATION)
                emit(ElementReceived(current))  # type: ignore[arg-type]
                current = None
                self._mark = parser.CurrentByteIndex
            else:
                self._ended = True
                emit(StreamEnded())

        def onText(data: str) -> None:
            if current is not None:
                children = current.children
                if children and type(children[-1]) is str:
                    children[-1] += data
                else:
                    children.append(data)
            elif depth == 1:
                if not data.isspace():
                    raise ParserError("text between stanzas", ParserErrorKind.NOT_WELL_FORMED)
                # Whitespace keepalives are progress, not a growing unfinished tag.
                self._mark = parser.CurrentByteIndex

        parser.StartElementHandler = onStart
        parser.EndElementHandler = onEnd
        parser.CharacterDataHandler = onText
        parser.StartNamespaceDeclHandler = onNamespace

    # -- public ----------------------------------------------------------------------------

    def receiveData(self, data: bytes) -> list[Event]:
        """Parse more of the stream.

        :param data: the next bytes, any split.
        :return: the events these bytes completed, in order.
        :raises ParserError: the stream is not acceptable; send a stream error and close.
        """
        if self._failed is not None:
            raise self._failed
        try:
            self._feed(data)
        except ParserError as e:
            self._failed = e
            raise
        except expat.ExpatError as e:
            self._failed = ParserError(
                f"not well-formed XML: {expat.ErrorString(e.code)}",
                ParserErrorKind.NOT_WELL_FORMED,
            )
            raise self._failed from None
        events = self._events[:]
        self._events.clear()
        return events

    def _feed(self, data: bytes) -> None:
        if self._ended and data.strip():
            raise ParserError("data after the end of the stream")
        parse = self._parser.Parse
        limit = self.limits.maxStanzaSize
        for start in range(0, len(data), _SLICE):
            chunk = data[start : start + _SLICE]
            parse(chunk, False)
            self._fed += len(chunk)
            if self._fed - self._mark > limit:
                # Inside a stanza: its size so far; outside: bytes of an unfinished tag.
                raise ParserError("a stanza is too large", ParserErrorKind.POLICY_VIOLATION)
