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
        parser.StartElementHandler = self._onStart
        parser.EndElementHandler = self._onEnd
        parser.CharacterDataHandler = self._onText
        parser.StartNamespaceDeclHandler = self._onNamespace
        parser.StartDoctypeDeclHandler = _refuseDoctype
        parser.EntityDeclHandler = _refuseEntity
        parser.UnparsedEntityDeclHandler = _refuseEntity
        parser.NotationDeclHandler = _refuseEntity
        parser.ExternalEntityRefHandler = _refuseExternal
        parser.ProcessingInstructionHandler = _refusePI
        parser.CommentHandler = _refuseComment
        self._parser = parser
        self._events: list[Event] = []
        self._depth = 0
        self._current: Element | None = None
        self._prefixes: dict[str, str] = {}
        # The default namespace in scope, and the depth of the element that declared it.
        self._defaults: list[str] = [""]
        self._defaultDepths: list[int] = [0]
        self._maxDepth = self.limits.maxDepth
        self._maxAttributes = self.limits.maxAttributes
        self._pendingDefault: str | None = None
        self._fed = 0
        self._mark = 0
        self._ended = False

    # -- expat callbacks -------------------------------------------------------------------

    def _onNamespace(self, prefix: str | None, uri: str | None) -> None:
        if prefix is None:
            self._pendingDefault = uri or ""
        else:
            self._prefixes[prefix] = uri or ""

    def _onStart(self, name: str, attrs: dict[str, str]) -> None:
        depth = self._depth = self._depth + 1
        if depth > self._maxDepth:
            raise ParserError("elements are nested too deeply", ParserErrorKind.POLICY_VIOLATION)
        prefixes = self._prefixes
        if len(attrs) + len(prefixes) > self._maxAttributes:
            raise ParserError(
                "an element has too many attributes", ParserErrorKind.POLICY_VIOLATION
            )
        if self._pendingDefault is not None:
            self._defaults.append(self._pendingDefault)
            self._defaultDepths.append(depth)
            self._pendingDefault = None
        uri, _, local = name.rpartition(" ")
        if attrs and " " in "".join(attrs):
            for key in [k for k in attrs if " " in k]:
                attrUri, _, attrName = key.rpartition(" ")
                attrs[(attrUri, attrName)] = attrs.pop(key)  # type: ignore[index]
        element = Element((uri, local), self._defaults[-1], attrs, prefixes or None)
        if prefixes:
            self._prefixes = {}
        if depth == 2:
            self._mark = self._parser.CurrentByteIndex
        elif depth > 2:
            parent = self._current
            element.parent = parent
            parent.children.append(element)  # type: ignore[union-attr]
        else:
            self._events.append(StreamStarted(element))
            self._mark = self._parser.CurrentByteIndex
            return
        self._current = element

    def _onEnd(self, name: str) -> None:
        depth = self._depth
        self._depth = depth - 1
        if self._defaultDepths[-1] == depth:
            self._defaultDepths.pop()
            self._defaults.pop()
        element = self._current
        if depth > 2:
            self._current = element.parent  # type: ignore[union-attr]
        elif depth == 2:
            if self._parser.CurrentByteIndex - self._mark > self.limits.maxStanzaSize:
                raise ParserError("a stanza is too large", ParserErrorKind.POLICY_VIOLATION)
            self._current = None
            self._mark = self._parser.CurrentByteIndex
            self._events.append(ElementReceived(element))  # type: ignore[arg-type]
        else:
            self._ended = True
            self._events.append(StreamEnded())

    def _onText(self, data: str) -> None:
        current = self._current
        if current is not None:
            current.addContent(data)
        elif self._depth == 1:
            if not data.isspace():
                raise ParserError("text between stanzas", ParserErrorKind.NOT_WELL_FORMED)
            # Whitespace keepalives are progress, not a growing unfinished tag.
            self._mark = self._parser.CurrentByteIndex

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
        events, self._events = self._events, []
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
