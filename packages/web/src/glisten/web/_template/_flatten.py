"""The flattener: turns a template tree into bytes, escaping as it goes, and writes them out
as they are produced.

The tree is walked by nested generators that yield either bytes or a Deferred to wait on, so a
page streams to the client while later parts are still being computed, and a slow Deferred
holds up only what comes after it.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable, Generator, Iterator
from types import GeneratorType
from typing import Any, Union

from glisten.internet.defer import Deferred
from glisten.python.failure import Failure
from glisten.web._template._stan import CDATA, CharRef, Comment, Tag, slot, voidElements
from glisten.web.error import FlattenerError, UnfilledSlot, UnsupportedType
from glisten.web.iweb import IRenderable

#: Bytes gathered before they are handed to ``write``: big enough that a page is a few
#: writes, small enough that the client sees the start of a slow page early.
BUFFER_SIZE = 2**16

#: What a walk yields: output, a Deferred whose result is sent back into it, or a walk of a
#: part of the tree, run to its end before this one goes on (a stack in the driver, not
#: nested generators, so a deep tree cannot exhaust Python's stack).
_Step = Union[bytes, "Deferred[Any]", "Generator[Any, Any, None]"]
_Walk = Generator[_Step, Any, None]
_Escaper = Callable[[bytes], bytes]

#: Flattenable: ``str``, ``bytes``, :class:`Tag`, :class:`slot`, :class:`CDATA`,
#: :class:`Comment`, :class:`CharRef`, lists, tuples, generators, Deferreds, coroutines and
#: :class:`~glisten.web.iweb.IRenderable` providers, nested in any way.
Flattenable = Any


def escapeForContent(data: bytes) -> bytes:
    """Escape text for element content: ``&``, ``<`` and ``>``."""
    if b"&" in data:
        data = data.replace(b"&", b"&amp;")
    if b"<" in data:
        data = data.replace(b"<", b"&lt;")
    if b">" in data:
        data = data.replace(b">", b"&gt;")
    return data


def attributeEscapingDoneOutside(data: bytes) -> bytes:
    """Leave ``data`` as it is: used where an enclosing attribute escapes everything."""
    return data


def escapeForAttribute(data: bytes) -> bytes:
    """Escape a double-quoted attribute value: ``&``, ``<``, ``>`` and ``"``."""
    data = escapeForContent(data)
    if b'"' in data:
        data = data.replace(b'"', b"&quot;")
    return data


def escapedCDATA(data: str | bytes) -> bytes:
    """A CDATA section's content, with ``]]>`` split across two sections."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return data.replace(b"]]>", b"]]]]><![CDATA[>")


def escapedComment(data: str | bytes) -> bytes:
    """A comment's content that cannot end the comment early: ``-->`` and ``--!>`` get their
    ``>`` escaped, a leading ``>`` or ``->`` (which HTML ends a comment on) gets a space
    before it, and a trailing ``-`` a space after it (Twisted does the first and last)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    data = data.replace(b"-->", b"--&gt;").replace(b"--!>", b"--!&gt;")
    if data.startswith((b">", b"->")):
        data = b" " + data
    if data.endswith(b"-"):
        data += b" "
    return data


#: Characters that may not appear in a tag or attribute name (the XML name rules, loosely):
#: a name with one of them could break out of the markup.
_BAD_NAME = frozenset(b" \t\r\n\f\"'<>/=&`\x00")


def _checkName(name: bytes, what: str) -> bytes:
    if not name or any(c in _BAD_NAME for c in name):
        raise ValueError(f"invalid {what} name {name!r}")
    return name


def _asBytes(name: bytes | str) -> bytes:
    return name.encode("utf-8") if isinstance(name, str) else name


def _lookupSlot(name: str, slotData: list[dict[str, Any] | None]) -> tuple[bool, Any]:
    for data in reversed(slotData):
        if data is not None and name in data:
            return True, data[name]
    return False, None


def _flattenElement(
    request: object,
    root: Flattenable,
    textEscape: _Escaper,
    markupEscape: _Escaper,
    slotData: list[dict[str, Any] | None],
    renderFactory: Any,
) -> _Walk:
    """Walk ``root``, yielding output bytes and Deferreds to wait on.

    :param textEscape: Escapes text: content escaping in an element, attribute escaping in an
        attribute value (then whatever the enclosing context needs).
    :param markupEscape: Applied to markup written: the identity in a document, attribute
        escaping inside an attribute value (a tag in an attribute becomes text there).
    :param slotData: Slot values of the enclosing tags, innermost last.
    :param renderFactory: The :class:`~glisten.web.iweb.IRenderable` whose renderers the tags
        below use.
    """
    try:
        if isinstance(root, str):
            yield textEscape(root.encode("utf-8"))
        elif isinstance(root, bytes):
            yield textEscape(root)
        elif isinstance(root, Tag):
            yield _flattenTag(request, root, textEscape, markupEscape, slotData, renderFactory)
        elif isinstance(root, (list, tuple, GeneratorType, Iterator)):
            for element in root:
                yield _flattenElement(
                    request, element, textEscape, markupEscape, slotData, renderFactory
                )
        elif isinstance(root, slot):
            found, value = _lookupSlot(root.name, slotData)
            if not found:
                if root.default is None:
                    raise UnfilledSlot(root.name)
                value = root.default
            yield _flattenElement(request, value, textEscape, markupEscape, slotData, renderFactory)
        elif isinstance(root, CDATA):
            yield markupEscape(b"<![CDATA[" + escapedCDATA(root.data) + b"]]>")
        elif isinstance(root, Comment):
            yield markupEscape(b"<!--" + escapedComment(root.data) + b"-->")
        elif isinstance(root, CharRef):
            if not isinstance(root.ordinal, int) or not 0 < root.ordinal <= sys.maxunicode:
                raise ValueError(f"invalid character reference {root.ordinal!r}")
            yield markupEscape(b"&#%d;" % root.ordinal)
        elif isinstance(root, Deferred):
            result = yield root
            yield _flattenElement(
                request, result, textEscape, markupEscape, slotData, renderFactory
            )
        elif inspect.iscoroutine(root):
            result = yield Deferred.fromCoroutine(root)
            yield _flattenElement(
                request, result, textEscape, markupEscape, slotData, renderFactory
            )
        elif IRenderable.providedBy(root):
            result = root.render(request)  # type: ignore[arg-type]
            yield _flattenElement(request, result, textEscape, markupEscape, slotData, root)
        else:
            raise UnsupportedType(root)
    except FlattenerError as e:
        e._roots.insert(0, root)
        raise
    except GeneratorExit:
        raise
    except Exception as e:
        raise FlattenerError(e, [root], traceback.extract_tb(e.__traceback__)) from e


def _flattenTag(
    request: object,
    root: Tag,
    textEscape: _Escaper,
    markupEscape: _Escaper,
    slotData: list[dict[str, Any] | None],
    renderFactory: Any,
) -> _Walk:
    if root.render:
        if renderFactory is None:
            raise ValueError(
                f"tag {root.tagName!r} names renderer {root.render!r} outside any renderable"
            )
        method = renderFactory.lookupRenderMethod(root.render)
        clone = root.clone(False)
        clone.render = None
        result = method(request, clone)
        yield _flattenElement(request, result, textEscape, markupEscape, slotData, renderFactory)
        return
    slotData = [*slotData, root.slotData] if root.slotData else slotData
    tagName = root.tagName
    if not tagName:
        for child in root.children:
            yield _flattenElement(request, child, textEscape, markupEscape, slotData, renderFactory)
        return
    checked = _tagNames.get(tagName)
    if checked is None:
        checked = _checkTagName(tagName)
    name, isVoid = checked
    # Inside a value, text and markup alike are escaped for the attribute and then for
    # whatever encloses it; children's text is escaped as content, then likewise.
    inDocument = markupEscape is attributeEscapingDoneOutside
    inAttribute: _Escaper
    childText: _Escaper
    if inDocument:
        inAttribute, childText = escapeForAttribute, escapeForContent
    else:
        inAttribute = lambda data: markupEscape(escapeForAttribute(data))  # noqa: E731
        childText = lambda data: markupEscape(escapeForContent(data))  # noqa: E731
    if not root.attributes:
        start = b"<" + name
    else:
        parts = [b"<", name]
        for key, value in root.attributes.items():
            attrName = _attributeNames.get(key) or _checkAttributeName(key)
            # Plain strings (most values) are escaped here rather than in a walk of their own.
            if value.__class__ is str:
                parts += (b" ", attrName, b'="', escapeForAttribute(value.encode("utf-8")), b'"')
                continue
            parts += (b" ", attrName, b'="')
            yield markupEscape(b"".join(parts))
            parts = []
            yield _flattenElement(request, value, inAttribute, inAttribute, slotData, renderFactory)
            parts.append(b'"')
        start = b"".join(parts)
    children = root.children
    if not children and isVoid:
        yield markupEscape(start + b" />")
        return
    yield markupEscape(start + b">")
    for child in children:
        cls = child.__class__
        if cls is str:
            yield childText(child.encode("utf-8"))
        elif cls is bytes:
            yield childText(child)
        else:
            yield _flattenElement(request, child, childText, markupEscape, slotData, renderFactory)
    yield markupEscape(b"</" + name + b">")


#: Tag names already checked: name -> (bytes, whether it is a void element).
_tagNames: dict[bytes | str, tuple[bytes, bool]] = {}
#: Attribute names already checked: name -> bytes.
_attributeNames: dict[bytes | str, bytes] = {}
#: How many names each cache keeps (names usually come from templates, a small set).
_NAME_CACHE = 2048


def _checkTagName(tagName: bytes | str) -> tuple[bytes, bool]:
    name = _checkName(_asBytes(tagName), "tag")
    checked = (name, name.decode("ascii", "replace").lower() in voidElements)
    if len(_tagNames) < _NAME_CACHE:
        _tagNames[tagName] = checked
    return checked


def _checkAttributeName(key: bytes | str) -> bytes:
    name = _checkName(_asBytes(key), "attribute")
    if len(_attributeNames) < _NAME_CACHE:
        _attributeNames[key] = name
    return name


class _Driver:
    """Runs one walk: buffers its output, waits on its Deferreds, reports the end."""

    def __init__(self, walk: _Walk, write: Callable[[bytes], object]) -> None:
        self._stack: list[_Walk] = [walk]
        self._write = write
        self._buffer: list[bytes] = []
        self._size = 0
        self._waitingOn: Deferred[Any] | None = None
        # Set while a Deferred's result is awaited from outside the run loop.
        self._suspended = False
        self._outcome: tuple[object, BaseException | None] | None = None
        self.done: Deferred[None] = Deferred(self._cancel)

    def _cancel(self, d: Deferred[None]) -> None:
        # The Deferred being waited on fails with CancelledError, which ends the walk.
        if self._waitingOn is not None:
            self._waitingOn.cancel()

    def _flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            self._size = 0
            self._write(data)

    def _resumed(self, result: object, reason: Failure | None) -> None:
        self._waitingOn = None
        error = reason.value if reason is not None else None
        if self._suspended:
            self._suspended = False
            self.run(result, error)
        else:
            self._outcome = (result, error)

    def _failedWaiting(self, reason: Failure) -> None:
        self._resumed(None, reason)

    def _end(self, failure: Failure | None) -> None:
        if failure is None:
            try:
                self._flush()
            except BaseException:
                failure = Failure()
        if failure is None:
            self.done.callback(None)
            return
        # What was rendered before the failure still goes out, so the page's end (an error
        # notice, say) follows a coherent beginning.
        try:
            self._flush()
        except BaseException:
            pass
        while self._stack:
            self._stack.pop().close()
        self.done.errback(failure)

    def run(self, sendValue: object, throwValue: BaseException | None) -> None:
        """Advance the walk until it waits on an unfired Deferred or ends."""
        stack = self._stack
        while True:
            walk = stack[-1]
            try:
                if throwValue is not None:
                    error, throwValue = throwValue, None
                    step = walk.throw(error)
                else:
                    step = walk.send(sendValue)
            except StopIteration:
                stack.pop()
                sendValue = None
                if not stack:
                    self._end(None)
                    return
                continue
            except BaseException as e:
                stack.pop()
                if not stack:
                    self._end(Failure())
                    return
                # The enclosing walk adds its node to the error's roots.
                throwValue = e
                continue
            sendValue = None
            if isinstance(step, bytes):
                self._buffer.append(step)
                self._size += len(step)
                if self._size >= BUFFER_SIZE:
                    try:
                        self._flush()
                    except BaseException:
                        self._end(Failure())
                        return
                continue
            if not isinstance(step, Deferred):
                stack.append(step)
                continue
            try:
                self._flush()
            except BaseException:
                self._end(Failure())
                return
            # Wait on the Deferred; if it has already fired, carry on in this loop rather than
            # recursing (a long list of fired Deferreds must not exhaust the stack).
            self._outcome = None
            self._waitingOn = step
            step.addCallbacks(self._resumed, self._failedWaiting, callbackArgs=(None,))
            if self._outcome is None:
                self._suspended = True
                return
            sendValue, throwValue = self._outcome


def flatten(request: object, root: Flattenable, write: Callable[[bytes], object]) -> Deferred[None]:
    """Render ``root`` and pass the bytes to ``write`` as they are produced.

    Output is gathered into pieces of up to :data:`BUFFER_SIZE` bytes, and written out
    whenever the walk has to wait on a Deferred, so a client sees the page's beginning while
    its end is still being computed.

    :param request: Passed to renderers (may be ``None``).
    :param root: The tree.
    :param write: Called with each piece of output.
    :return: A Deferred that fires with ``None`` when everything was written, or fails with
        :class:`~glisten.web.error.FlattenerError`. Cancelling it cancels the Deferred the
        walk is waiting on and stops the walk.
    """
    driver = _Driver(
        _flattenElement(request, root, escapeForContent, attributeEscapingDoneOutside, [], None),
        write,
    )
    driver.run(None, None)
    return driver.done


def flattenString(request: object, root: Flattenable) -> Deferred[bytes]:
    """Render ``root`` to one bytes string.

    :param request: Passed to renderers (may be ``None``).
    :return: A Deferred firing with the bytes, or failing with
        :class:`~glisten.web.error.FlattenerError`.
    """
    pieces: list[bytes] = []
    d = flatten(request, root, pieces.append)
    return d.addCallback(lambda _: b"".join(pieces))
