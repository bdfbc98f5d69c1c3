"""Twisted's XPath subset for matching and querying :class:`~glisten.words.xish.domish.Element`.

A query is a chain of steps, ``/name`` (a child; the first step matches the element itself) or
``//name`` (any descendant), ``*`` for any name, each with optional predicates in brackets:
``[@attr]`` (present), ``[@attr='v']``, ``[@attr!='v']``, ``[text()='v']``, ``[2]`` (the second
such child), ``and``, ``or``, parentheses and the functions ``text()``, ``not(x)``,
``contains(a, b)`` and ``starts-with(a, b)``. ``@xmlns`` is the element's namespace. Examples:
``/message[@type='chat']/body``, ``/iq[@type='get']/query[@xmlns='jabber:iq:version']``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Protocol

from glisten.words.xish.domish import Element
from glisten.words.xish.xpathparser import SyntaxError

__all__ = [
    "XPathQuery",
    "internQuery",
    "matches",
    "queryForNodes",
    "queryForString",
    "queryForStringList",
]

_TOKEN = re.compile(
    r"""\s*(?:(?P<sep>//|/)|(?P<str>'[^']*'|"[^"]*")|(?P<num>\d+)|(?P<op>!=|=|\[|\]|\(|\)|,|@|\*)
    |(?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?))""",
    re.VERBOSE,
)

# A predicate term: called with (element, position among its matching siblings).
_Term = Callable[[Element, int], Any]


class _Step:
    __slots__ = ("anyDepth", "name", "predicates", "positional")

    def __init__(self, anyDepth: bool, name: str | None) -> None:
        self.anyDepth = anyDepth
        self.name = name
        #: Each returns a bool.
        self.predicates: list[_Term] = []
        #: Whether a predicate needs the element's position among its siblings.
        self.positional = False


def _truth(value: Any) -> bool:
    # Python's truth, as Twisted's predicates take it: an empty attribute or text is false.
    return bool(value)


class _Parser:
    """Recursive descent over the tokens of one query."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise SyntaxError(pos, f"invalid XPath at offset {pos}")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.index = 0
        # Terms that read an attribute (its name) and literal strings (their text).
        self._attributes: dict[_Term, str] = {}
        self._literals: dict[_Term, str] = {}
        # Terms that return a bool already (comparisons, and/or, functions but text()).
        self._booleans: set[_Term] = set()

    def boolean(self, term: _Term) -> _Term:
        """Register ``term`` as returning a bool.

        :return: ``term``.
        """
        self._booleans.add(term)
        return term

    def predicate(self, term: _Term) -> _Term:
        """:return: ``term`` as a function returning its value's truth (Python's, as in
        Twisted) as a bool."""
        if term in self._booleans:
            return term
        return lambda e, p: _truth(term(e, p))

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (value is not None and token[1] != value):
            raise SyntaxError(
                -1, f"invalid XPath: expected {value or 'more'} at token {self.index}"
            )
        self.index += 1
        return token

    def steps(self) -> list[_Step]:
        steps = []
        while self.peek()[0] == "sep":
            sep = self.take()[1]
            kind, value = self.take()
            if value == "*":
                step = _Step(sep == "//", None)
            elif kind == "name":
                step = _Step(sep == "//", value)
            else:
                raise SyntaxError(-1, "invalid XPath: a step needs a name or *")
            while self.peek()[1] == "[":
                self.take("[")
                if self.peek()[0] == "num":
                    digits = self.take()[1]
                    if len(digits) > 9:
                        # No element has that many children; int() would refuse a
                        # few thousand digits with a ValueError.
                        raise SyntaxError(-1, "invalid XPath: position too large")
                    wanted = int(digits)
                    step.predicates.append(_position(wanted))
                    step.positional = True
                else:
                    step.predicates.append(self.predicate(self.expr()))
                self.take("]")
            steps.append(step)
        if not steps or self.peek()[0] != "end":
            raise SyntaxError(-1, "invalid XPath: expected /name steps")
        return steps

    def expr(self) -> _Term:
        left = self.factor()
        while self.peek() in (("name", "and"), ("name", "or")):
            op = self.take()[1]
            right = self.factor()
            combine = _both if op == "and" else _either
            left = self.boolean(combine(self.predicate(left), self.predicate(right)))
        return left

    def factor(self) -> _Term:
        if self.peek()[1] == "(":
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        left = self.value()
        if self.peek()[1] in ("=", "!="):
            op = self.take()[1]
            right = self.value()
            name, literal = self._attributes.get(left), self._literals.get(right)
            if name is not None and literal is not None:
                # ``[@a='v']``, the predicate of most observers, in one step.
                if op == "=":
                    return self.boolean(lambda e, p: e.attributes.get(name) == literal)
                # A missing attribute differs from any text, as in Twisted.
                return self.boolean(lambda e, p: e.attributes.get(name) != literal)
            if op == "=":
                return self.boolean(lambda e, p: left(e, p) == right(e, p))
            return self.boolean(lambda e, p: left(e, p) != right(e, p))
        return left

    def value(self) -> _Term:
        kind, value = self.take()
        if value == "@":
            name = self.take()[1]
            if name == "xmlns":
                return lambda e, p: e.uri
            term: _Term = lambda e, p: e.attributes.get(name)  # noqa: E731
            self._attributes[term] = name
            return term
        if kind == "str":
            literal = value[1:-1]
            term = lambda e, p: literal  # noqa: E731
            self._literals[term] = literal
            return term
        if kind == "name" and self.peek()[1] == "(":
            self.take("(")
            args: list[_Term] = []
            while self.peek()[1] != ")":
                args.append(self.expr())
                if self.peek()[1] == ",":
                    self.take(",")
            self.take(")")
            function = _function(value, args)
            return function if value == "text" else self.boolean(function)
        raise SyntaxError(-1, "invalid XPath: expected @name, 'text' or a function")


def _both(a: _Term, b: _Term) -> _Term:
    return lambda e, p: a(e, p) and b(e, p)


def _either(a: _Term, b: _Term) -> _Term:
    return lambda e, p: a(e, p) or b(e, p)


def _position(wanted: int) -> _Term:
    return lambda e, position: position == wanted


def _function(name: str, args: list[_Term]) -> _Term:
    if name == "text" and not args:
        return lambda e, p: str(e)
    if name == "not" and len(args) == 1:
        (arg,) = args
        return lambda e, p: not _truth(arg(e, p))
    if name in ("contains", "starts-with") and len(args) == 2:
        a, b = args
        if name == "contains":
            return lambda e, p: (x := a(e, p)) is not None and (y := b(e, p)) is not None and y in x
        return lambda e, p: (
            (x := a(e, p)) is not None and (y := b(e, p)) is not None and x.startswith(y)
        )
    raise SyntaxError(-1, f"invalid XPath: unknown function {name}() or wrong arguments")


# A compiled step: called with (element, the list that collects matches or None to stop at
# the first, position among its matching siblings); True when a match was found and the
# caller may stop.
class _Visit(Protocol):
    def __call__(self, node: Element, found: list[Element] | None, position: int = 1, /) -> bool:
        pass


# A compiled step applied to an element's children (and their descendants for ``//``).
_Descend = Callable[[Element, "list[Element] | None"], bool]


def _predicate(checks: list[_Term]) -> _Term | None:
    """:return: one function for a step's predicates (each returns a bool), or None when
    the step has none."""
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda e, p: all(check(e, p) for check in checks)


def _compileVisit(steps: list[_Step], index: int) -> _Visit:
    """Compile step ``index`` and the steps below it into one function, so that matching
    looks nothing up: names, predicates and the next step are closure variables."""
    step = steps[index]
    name = step.name
    predicate = _predicate(step.predicates)
    if index == len(steps) - 1:

        def visitLast(node: Element, found: list[Element] | None, position: int = 1) -> bool:
            if name is not None and node.name != name:
                return False
            if predicate is not None and not predicate(node, position):
                return False
            if found is None:
                return True
            if not any(f is node for f in found):
                found.append(node)
            return False

        return visitLast
    below = _compileDescend(steps, index + 1)

    def visit(node: Element, found: list[Element] | None, position: int = 1) -> bool:
        if name is not None and node.name != name:
            return False
        if predicate is not None and not predicate(node, position):
            return False
        return below(node, found)

    return visit


def _compileDescend(steps: list[_Step], index: int) -> _Descend:
    step = steps[index]
    visit = _compileVisit(steps, index)
    anyDepth = step.anyDepth
    positional = step.positional
    named = step.name is not None

    def descend(node: Element, found: list[Element] | None) -> bool:
        counts: dict[str | None, int] | None = {} if positional else None
        for child in node.children:
            if not isinstance(child, Element):
                continue
            position = 0
            if counts is not None:
                key = child.name if named else None
                counts[key] = position = counts.get(key, 0) + 1
            if visit(child, found, position):
                return True
            if anyDepth and descend(child, found):
                return True
        return False

    return descend


class XPathQuery:
    """A compiled query.

    :param queryStr: the query text.
    :raises glisten.words.xish.xpathparser.SyntaxError: the query is not in the supported
        subset (a subclass of the builtin, as ported code catches Twisted's).
    """

    def __init__(self, queryStr: str) -> None:
        self.queryStr = queryStr
        steps = _Parser(queryStr).steps()
        first = steps[0]
        self._rootName = None if first.anyDepth else first.name
        visit = _compileVisit(steps, 0)
        if first.anyDepth:
            descend = _compileDescend(steps, 0)

            def walk(node: Element, found: list[Element] | None) -> bool:
                return visit(node, found) or descend(node, found)

            self._walk: Callable[[Element, list[Element] | None], bool] = walk
        else:
            self._walk = visit  # position 1: the element itself

    def __repr__(self) -> str:
        return f"XPathQuery({self.queryStr!r})"

    def matches(self, elem: Element) -> bool:
        """:return: whether the query selects anything in ``elem``."""
        return self._walk(elem, None)

    def queryForNodes(self, elem: Element) -> list[Element] | None:
        """:return: the selected elements in document order, or None when there are none."""
        found: list[Element] = []
        self._walk(elem, found)
        return found or None

    def queryForStringList(self, elem: Element) -> list[str] | None:
        """Every text child of the selected elements, in document order (as in Twisted: an
        element without text adds nothing), or None when there is none."""
        found: list[Element] = []
        self._walk(elem, found)
        texts = [child for node in found for child in node.children if isinstance(child, str)]
        return texts or None

    def queryForString(self, elem: Element) -> str:
        """The text (first text child) of each selected element, joined (``""`` when
        none)."""
        found: list[Element] = []
        self._walk(elem, found)
        return "".join(str(node) for node in found)


def matcherOf(query: XPathQuery) -> Callable[[Element, None], bool]:
    """:return: ``query``'s compiled matching function, called with an element and None (a
    dispatcher calls it for every element, without going through :meth:`XPathQuery.matches`)."""
    return query._walk


def rootNameOf(query: XPathQuery) -> str | None:
    """:return: the name an element must have for ``query`` to match it, or None when the
    query's first step is ``*`` or ``//`` (lets a dispatcher skip queries for other names)."""
    return query._rootName


@functools.lru_cache(maxsize=512)
def internQuery(queryString: str) -> XPathQuery:
    """:return: the compiled query for ``queryString``, shared by callers (bounded cache)."""
    return XPathQuery(queryString)


def matches(xpathstr: str, elem: Element) -> bool:
    """:return: whether ``xpathstr`` selects anything in ``elem``."""
    return internQuery(xpathstr).matches(elem)


def queryForStringList(xpathstr: str, elem: Element) -> list[str] | None:
    """:return: the text of each element ``xpathstr`` selects, or None."""
    return internQuery(xpathstr).queryForStringList(elem)


def queryForString(xpathstr: str, elem: Element) -> str:
    """:return: the text of the elements ``xpathstr`` selects, joined."""
    return internQuery(xpathstr).queryForString(elem)


def queryForNodes(xpathstr: str, elem: Element) -> list[Element] | None:
    """:return: the elements ``xpathstr`` selects, or None."""
    return internQuery(xpathstr).queryForNodes(elem)
