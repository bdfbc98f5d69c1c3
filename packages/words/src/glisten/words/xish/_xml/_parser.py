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


def _attributeName(key: str) -> str | tuple[str, str]:
    # expat writes a namespaced attribute's name as "uri name"; domish keys it (uri, name).
    if " " in key:
        uri, _, name = key.rpartition(" ")
        return (uri, name)
    return key


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
        new = object.__new__
        depth = 0
        # The element being built (None outside a stanza): its parent is the one to go back to.
        current: Element | None = None
        # Declarations expat reported for the element about to start.
        prefixes: dict[str, str] = {}
        pendingDefault: str | None = None
        # A default namespace is inherited from the parent unless the element declares one,
        # so each element's defaultUri is the default in scope: no stack of declarations.
        # Stanzas are detached from the root, so the root's default is kept here.
        rootDefault = ""
        # Element names seen on this stream, split: a stream repeats a few dozen names.
        qnames: dict[str, tuple[str, str]] = {}

        def onNamespace(prefix: str | None, uri: str | None) -> None:
            nonlocal pendingDefault
            if prefix is None:
                pendingDefault = uri or ""
            else:
                prefixes[prefix] = uri or ""

        def onStart(name: str, attrs: dict[Any, str]) -> None:
            nonlocal depth, current, prefixes, pendingDefault, rootDefault
            depth += 1
            if depth > maxDepth:
                raise ParserError(
                    "elements are nested too deeply", ParserErrorKind.POLICY_VIOLATION
                )
            qname = qnames.get(name)
            if qname is None:
                uri, _, local = name.rpartition(" ")
                qname = (uri, local)
                if len(qnames) < _QNAME_CACHE:
                    qnames[name] = qname
            # Element.__init__'s attributes, in its order, set directly: its arguments'
            # defaulting is for callers, and the parser already has each value final.
            element: Element = new(Element)
            if prefixes:
                declared = len(prefixes)
                element.localPrefixes = prefixes
                prefixes = {}
            else:
                declared = 0
                element.localPrefixes = {}
            element.uri, element.name = qname
            if pendingDefault is not None:
                element.defaultUri = pendingDefault
                pendingDefault = None
            elif current is not None:
                element.defaultUri = current.defaultUri
            elif depth == 2:
                element.defaultUri = rootDefault
            else:
                element.defaultUri = ""
            if attrs:
                if len(attrs) + declared > maxAttributes:
                    raise ParserError(
                        "an element has too many attributes", ParserErrorKind.POLICY_VIOLATION
                    )
                for key in attrs:
                    if " " in key:
                        attrs = {_attributeName(k): v for k, v in attrs.items()}
                        break
            elif declared > maxAttributes:
                raise ParserError(
                    "an element has too many attributes", ParserErrorKind.POLICY_VIOLATION
                )
            element.attributes = attrs
            element.children = []
            if current is not None:
                element.parent = current
                current.children.append(element)
                current = element
            elif depth == 2:
                element.parent = None
                self._mark = parser.CurrentByteIndex
                current = element
            else:
                element.parent = None
                rootDefault = element.defaultUri  # type: ignore[assignment]
                emit(StreamStarted(element))
                self._mark = parser.CurrentByteIndex

        def onEnd(name: str) -> None:
            nonlocal depth, current
            ending = depth
            depth = ending - 1
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
