"""xpath queries and the EventDispatcher."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from glisten.words.xish import domish, utility, xpath, xpathparser

MESSAGE = domish.parseText(
    "<message xmlns='jabber:client' type='chat' to='a@b'>"
    "<body>hello</body><body xml:lang='fr'>salut</body>"
    "<x xmlns='urn:x'><item n='1'>one</item><item n='2'>two</item></x></message>"
)
IQ = domish.parseText(
    "<iq xmlns='jabber:client' type='get' id='7'><query xmlns='jabber:iq:version'/></iq>"
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("/message", True),
        ("/iq", False),
        ("/*", True),
        ("/message[@type='chat']", True),
        ("/message[@type='normal']", False),
        ("/message[@type!='normal']", True),
        ("/message[@type]", True),
        ("/message[@id]", False),
        ("/message[not(@id)]", True),
        ("/message/body", True),
        ("/message/subject", False),
        ("/message[@type='chat' and @to='a@b']/body", True),
        ("/message[@type='x' or @to='a@b']", True),
        ("/message[(@type='x' or @to='y') and @to]", False),
        ("/message/x[@xmlns='urn:x']", True),
        ("/message/x[@xmlns='urn:y']", False),
        ("//item", True),
        ("//item[@n='2']", True),
        ("//item[@n='3']", False),
        ("/message//item[text()='two']", True),
        ("/message/x/item[2]", True),
        ("/message/x/item[3]", False),
        ("/message/body[contains(text(), 'ell')]", True),
        ("/message/body[starts-with(text(), 'sal')]", True),
        ('/message[@type="chat"]', True),
    ],
)
def test_matches(query: str, expected: bool) -> None:
    assert xpath.matches(query, MESSAGE) is expected


def test_queries() -> None:
    assert xpath.queryForString("/message/body", MESSAGE) == "hellosalut"
    assert xpath.queryForStringList("/message/x/item", MESSAGE) == ["one", "two"]
    nodes = xpath.queryForNodes("//item[@n='1']", MESSAGE)
    assert nodes is not None and [n["n"] for n in nodes] == ["1"]
    assert xpath.queryForNodes("/message/nothing", MESSAGE) is None
    query = xpath.XPathQuery("/iq[@type='get']/query[@xmlns='jabber:iq:version']")
    assert query.matches(IQ) and not query.matches(MESSAGE)
    assert xpath.internQuery("/iq") is xpath.internQuery("/iq")


MIXED = domish.parseText("<m><b>one<i/>two</b><c/><p t=''/></m>")


def test_queryForStringListTakesTextNodesAsTwisted() -> None:
    """Twisted's queryForStringList lists the text children of the selected elements
    (every one, none for an element without text), not one string per element."""
    assert xpath.queryForStringList("/m/b", MIXED) == ["one", "two"]
    assert xpath.queryForStringList("/m/*", MIXED) == ["one", "two"]
    assert xpath.queryForStringList("/m/c", MIXED) is None
    assert xpath.queryForString("/m/b", MIXED) == "one"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("/m/p[@t]", False),  # an empty attribute is false, as in Twisted
        ("/m/c[text()]", False),  # no text
        ("/m/b[text()]", True),
        ("/m/p[@q!='x']", True),  # a missing attribute differs from any text
        ("/m/p[@q='x']", False),
        ("/m/p[@t!='']", False),
        ("/m/p[@t='']", True),
        ("/m/p[@q=@r]", True),  # both missing
        ("/m/p[@t and @q]", False),
        ("/m/p[@t or @q!='x']", True),
    ],
)
def test_predicatesTruthAsTwisted(query: str, expected: bool) -> None:
    """Predicates take Python's truth of their value and compare values as Twisted's do, so
    ``/presence[@type!='unavailable']`` still matches a presence without a type."""
    assert xpath.matches(query, MIXED) is expected


@pytest.mark.parametrize("bad", ["", "message", "/", "/a[", "/a[@]", "/a[foo()]", "/a]", "/a[1"])
def test_invalid_queries(bad: str) -> None:
    """A bad query raises the error Twisted's ported code catches, ``xpathparser.SyntaxError``
    (also the builtin ``SyntaxError``)."""
    with pytest.raises(xpathparser.SyntaxError) as caught:
        xpath.XPathQuery(bad)
    assert isinstance(caught.value, SyntaxError)
    assert caught.value.msg.startswith("invalid XPath")


def test_invalidQueryOffset() -> None:
    """A character no token starts with is reported at its offset, as Twisted's ``charpos``."""
    with pytest.raises(xpathparser.SyntaxError) as caught:
        xpath.XPathQuery("/a[@b=%]")
    assert caught.value.charpos == 6


@settings(max_examples=300)
@given(
    st.lists(
        st.sampled_from(
            ["/", "//", "a", "*", "[", "]", "@", "b", "=", "!=", "'v'", "1", "(", ")"]
            + ["text", "not", "contains", "starts-with", "and", "or", ",", " ", "%", "9" * 5000]
        ),
        max_size=12,
    ).map("".join)
)
@example("/a[" + "9" * 5000 + "]")
def test_randomQueriesRaiseOnlySyntaxError(query: str) -> None:
    """Any query either compiles or raises ``xpathparser.SyntaxError``, never another error."""
    try:
        compiled = xpath.XPathQuery(query)
    except xpathparser.SyntaxError:
        return
    compiled.matches(MIXED)


class TestEventDispatcher:
    def test_priorities_and_onetime(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[Any] = []
        dispatcher.addObserver("/message", lambda e: calls.append("low"), -1)
        dispatcher.addObserver("/message", lambda e: calls.append("high"), 5)
        dispatcher.addOnetimeObserver("/message/body", lambda tag, e: calls.append(tag), 0, "once")
        assert dispatcher.dispatch(MESSAGE)
        assert dispatcher.dispatch(MESSAGE)
        assert calls == ["high", "once", "low", "high", "low"]
        assert not dispatcher.dispatch(IQ)

    def test_named_events_and_removal(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[Any] = []

        def observer(obj: Any) -> None:
            calls.append(obj)

        dispatcher.addObserver("//event/test", observer)
        assert dispatcher.dispatch(1, "//event/test")
        assert not dispatcher.dispatch(2, "//event/other")
        dispatcher.removeObserver("//event/test", observer)
        assert not dispatcher.dispatch(3, "//event/test")
        assert calls == [1]

    def test_changes_during_dispatch_apply_afterwards(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[str] = []

        def first(e: Any) -> None:
            calls.append("first")
            dispatcher.addObserver("/message", lambda e: calls.append("added"))
            dispatcher.removeObserver("/message", second)

        def second(e: Any) -> None:
            calls.append("second")

        dispatcher.addObserver("/message", first, 1)
        dispatcher.addObserver("/message", second)
        dispatcher.dispatch(MESSAGE)
        assert calls == ["first", "second"]
        calls.clear()
        dispatcher.removeObserver("/message", first)
        dispatcher.dispatch(MESSAGE)
        assert calls == ["added"]

    def test_onetime_observer_spent_during_a_nested_dispatch(self) -> None:
        # A callback that dispatches again on the same dispatcher: the one-time observer is
        # spent inside the nested dispatch while the outer one is still walking the observers.
        dispatcher = utility.EventDispatcher()
        calls: list[str] = []
        found: list[bool] = []

        def outer(e: Any) -> None:
            calls.append("outer")
            found.append(dispatcher.dispatch(IQ))
            found.append(dispatcher.dispatch(IQ))  # the one-time observer is spent

        dispatcher.addObserver("/message", outer, 1)
        dispatcher.addOnetimeObserver("/iq", lambda e: calls.append("once"))
        dispatcher.addObserver("/message", lambda e: calls.append("after"))
        assert dispatcher.dispatch(MESSAGE)
        assert dispatcher.dispatch(MESSAGE)
        assert calls == ["outer", "once", "after", "outer", "after"]
        assert found == [True, False, False, False]
        assert not dispatcher.dispatch(IQ)

    def test_observers_of_any_name_keep_their_order(self) -> None:
        # Queries for one stanza name, for any name (``*``, ``//``) and for other names are
        # mixed; each element reaches the matching ones in the order they were added, also
        # after observers change between dispatches.
        dispatcher = utility.EventDispatcher()
        calls: list[str] = []
        dispatcher.addObserver("/*", lambda e: calls.append("any"))
        dispatcher.addObserver("/message", lambda e: calls.append("message"))
        dispatcher.addObserver("//body", lambda e: calls.append("body"))
        dispatcher.addObserver("/iq", lambda e: calls.append("iq"))
        dispatcher.dispatch(MESSAGE)
        dispatcher.dispatch(IQ)
        assert calls == ["any", "message", "body", "any", "iq"]
        calls.clear()
        dispatcher.addObserver("/message[@type='chat']", lambda e: calls.append("chat"))
        dispatcher.dispatch(MESSAGE)
        assert calls == ["any", "message", "body", "chat"]

    def test_many_stanza_names_are_dispatched(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[str] = []
        dispatcher.addObserver("/*", lambda e: calls.append(e.name))
        names = [f"n{i}" for i in range(200)]
        for name in names:
            dispatcher.dispatch(domish.Element(("jabber:client", name)))
        assert calls == names

    def test_failing_observer_is_logged_and_others_run(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[str] = []

        def broken(e: Any) -> None:
            raise RuntimeError("boom")

        dispatcher.addObserver("/message", broken, 1)
        dispatcher.addObserver("/message", lambda e: calls.append("ran"))
        assert dispatcher.dispatch(MESSAGE)
        assert calls == ["ran"]

    def test_xpath_query_objects(self) -> None:
        dispatcher = utility.EventDispatcher()
        calls: list[Any] = []
        query = xpath.XPathQuery("/iq")
        dispatcher.addObserver(query, calls.append)
        dispatcher.dispatch(IQ)
        assert calls == [IQ]

    def test_xml_pipe(self) -> None:
        pipe = utility.XmlPipe()
        got: list[Any] = []
        pipe.sink.addObserver("/message", got.append)
        pipe.source.send(MESSAGE)  # type: ignore[attr-defined]
        assert got == [MESSAGE]


def test_callback_list_order_onetime_and_changes_during_an_event() -> None:
    calls: list[str] = []
    callbacks = utility.CallbackList()
    second = lambda event: calls.append(f"second {event}")  # noqa: E731

    def first(event: str) -> None:
        calls.append(f"first {event}")
        callbacks.removeCallback(second)  # this event still reaches it, the next does not
        callbacks.addCallback(False, third)  # the next event reaches it, this one does not

    def third(event: str, suffix: str = "") -> None:
        calls.append(f"third {event}{suffix}")

    callbacks.addCallback(True, first)
    callbacks.addCallback(False, second)
    callbacks.addCallback(False, first)  # already there: ignored
    callbacks.callback("a")
    callbacks.callback("b")
    assert calls == ["first a", "second a", "third b"]
    callbacks.removeCallback(third)
    assert callbacks.isEmpty()
    callbacks.addCallback(False, third, suffix="!")
    callbacks.callback("c")
    assert calls[-1] == "third c!"


def test_observerArgumentsComeFirstAsInTwisted() -> None:
    """Twisted calls ``observerfn(*args, obj, **kwargs)``: the arguments given with the
    observer come before the dispatched object (its component router relies on it)."""
    dispatcher = utility.EventDispatcher()
    calls: list[tuple[Any, ...]] = []
    dispatcher.addObserver(
        "//event/x", lambda *a, **k: calls.append((*a, k)), 0, "first", "second", key=1
    )
    dispatcher.addObserver("/m", lambda *a: calls.append(a), 0, "arg")
    dispatcher.dispatch("obj", "//event/x")
    dispatcher.dispatch(MIXED)
    assert calls == [("first", "second", "obj", {"key": 1}), ("arg", MIXED)]
