"""domish: elements, Twisted-compatible serialisation, and the guarded stream parser."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.words.xish import domish
from glisten.words.xish._xml import (
    ElementReceived,
    Limits,
    ParserError,
    ParserErrorKind,
    StreamEnded,
    StreamParser,
    StreamStarted,
)

NS_STREAMS = "http://etherx.jabber.org/streams"
HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>"
)
STANZAS = (
    b"<message to='juliet@example.com' type='chat' xml:lang='en'><body>Art thou not Romeo, "
    b"&amp; a Montague? &lt;3 caf\xc3\xa9</body><active xmlns='http://jabber.org/protocol/"
    b"chatstates'/></message>  \n"
    b"<iq type='get' id='1'><query xmlns='jabber:iq:roster' xmlns:x='urn:x' x:a='b'/></iq>"
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"
    b"</starttls></stream:features>"
)
STREAM = HEADER + STANZAS + b"</stream:stream>"


class TestElement:
    def test_build_and_serialise(self) -> None:
        message = domish.Element(("jabber:client", "message"))
        message["to"] = "romeo@example.net"
        message.addElement("body", content="<Wherefore> & 'why'")
        message.addElement(("http://jabber.org/protocol/chatstates", "active"))
        assert message.toXml() == (
            "<message xmlns='jabber:client' to='romeo@example.net'>"
            "<body>&lt;Wherefore&gt; &amp; 'why'</body>"
            "<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        )

    def test_attribute_quotes_escaped(self) -> None:
        element = domish.Element((None, "x"))
        element["a"] = 'it\'s "quoted" <&>'
        assert element.toXml() == "<x a='it&apos;s &quot;quoted&quot; &lt;&amp;&gt;'/>"

    def test_child_access_and_text(self) -> None:
        message = domish.Element(("jabber:client", "message"))
        body = message.addElement("body", content="hi")
        message.addContent(" tail")
        assert message.body is body
        assert message.missing is None
        assert str(body) == "hi"
        assert str(message) == " tail"
        assert body.parent is message
        assert body.uri == "jabber:client"
        with pytest.raises(AttributeError):
            message._private  # noqa: B018

    def test_attributes(self) -> None:
        element = domish.Element((None, "iq"), attribs={"to": "a", "from": "b"})
        assert element.getAttribute("to") == "a"
        assert element.getAttribute("type", "get") == "get"
        assert element.hasAttribute("from") and not element.hasAttribute("x")
        assert element.compareAttribute("to", "a")
        element.swapAttributeValues("to", "from")
        assert (element["to"], element["from"]) == ("b", "a")
        assert element[(None, "to")] == "b"
        del element["to"]
        assert not element.hasAttribute("to")

    def test_prefix_declarations_end_with_their_element(self) -> None:
        # Output compared with Twisted 26.10's: each sibling declares the prefix it needs again,
        # and a prefix the caller has in scope is not declared.
        root = domish.Element(("jabber:client", "message"))
        root.addElement("x")[("urn:attr", "flag")] = "1"
        root.addElement("y")[("urn:attr", "flag")] = "2<"
        for _ in range(2):
            z = domish.Element(("urn:other", "z"), localPrefixes={"o": "urn:other"})
            root.addChild(z)
        z.addElement(("urn:other", "inner"))
        tail = "<o:z xmlns:o='urn:other'/><o:z xmlns:o='urn:other'><o:inner/></o:z></message>"
        assert root.toXml() == (
            "<message xmlns='jabber:client'><x xmlns:xn0='urn:attr' xn0:flag='1'/>"
            "<y xmlns:xn0='urn:attr' xn0:flag='2&lt;'/>" + tail
        )
        assert root.toXml(prefixes={"urn:attr": "at"}) == (
            "<message xmlns='jabber:client'><x xmlns:at='urn:attr' at:flag='1'/>"
            "<y xmlns:at='urn:attr' at:flag='2&lt;'/>" + tail
        )
        assert root.toXml(prefixes={"urn:attr": "at"}, prefixesInScope=["at"]) == (
            "<message xmlns='jabber:client'><x at:flag='1'/><y at:flag='2&lt;'/>" + tail
        )

    def test_prefixes_like_twisted(self) -> None:
        stream = domish.Element((NS_STREAMS, "stream"), "jabber:client")
        stream["to"] = "example.com"
        assert stream.toXml(prefixes={NS_STREAMS: "stream"}, closeElement=0) == (
            "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
            "xmlns='jabber:client' to='example.com'>"
        )
        # A namespace nobody maps gets a generated prefix for an attribute.
        element = domish.Element(("urn:a", "x"))
        element[("urn:b", "attr")] = "v"
        assert element.toXml() == "<x xmlns='urn:a' xmlns:xn0='urn:b' xn0:attr='v'/>"
        # xml:lang needs no declaration.
        body = domish.Element((None, "body"))
        body[("http://www.w3.org/XML/1998/namespace", "lang")] = "en"
        assert body.toXml() == "<body xml:lang='en'/>"
        # An element declaring its own prefix.
        pubsub = domish.Element(("urn:p", "pubsub"), localPrefixes={"p": "urn:p"})
        pubsub.addElement(("urn:p", "items"))
        assert pubsub.toXml() == "<p:pubsub xmlns:p='urn:p'><p:items/></p:pubsub>"
        # Children of the stream in the stream's namespaces.
        error = domish.Element((NS_STREAMS, "error"))
        assert (
            error.toXml(
                prefixes={NS_STREAMS: "stream"},
                defaultUri="jabber:client",
                prefixesInScope=["stream"],
            )
            == "<stream:error/>"
        )

    def test_raw_xml_and_unique_ids(self) -> None:
        element = domish.Element((None, "x"))
        element.addRawXml("<y a='1'/>")
        assert element.toXml() == "<x><y a='1'/></x>"
        one, two = domish.Element((None, "iq")), domish.Element((None, "iq"))
        one.addUniqueId()
        two.addUniqueId()
        assert one["id"] != two["id"]

    def test_elements_filters(self) -> None:
        parent = domish.Element(("urn:a", "p"))
        parent.addElement("c")
        parent.addElement(("urn:b", "c"))
        parent.addContent("text")
        assert len(list(parent.elements())) == 2
        assert [e.uri for e in parent.elements("urn:b", "c")] == ["urn:b"]
        assert parent.firstChildElement() is parent.children[0]
        assert len(list(domish.generateElementsNamed(parent.children, "c"))) == 2
        assert len(list(domish.generateOnlyInterface(parent.children, domish.IElement))) == 2

    def test_namespace_helper_and_escapes(self) -> None:
        ns = domish.Namespace("urn:x")
        assert ns.body == ("urn:x", "body") and ns("y") == ("urn:x", "y")
        assert domish.unescapeFromXml(domish.escapeToXml("<a & 'b'>", 1)) == "<a & 'b'>"


def collect(data: bytes, byteAtATime: bool = False) -> list[object]:
    parser = StreamParser()
    events: list[object] = []
    if byteAtATime:
        for i in range(len(data)):
            events.extend(parser.receiveData(data[i : i + 1]))
    else:
        events.extend(parser.receiveData(data))
    return events


class TestParser:
    @pytest.mark.parametrize("byteAtATime", [False, True])
    def test_stream(self, byteAtATime: bool) -> None:
        events = collect(STREAM, byteAtATime)
        assert [type(e) for e in events] == [
            StreamStarted,
            ElementReceived,
            ElementReceived,
            ElementReceived,
            StreamEnded,
        ]
        root = events[0].root  # type: ignore[attr-defined]
        assert (root.uri, root.name, root.defaultUri) == (NS_STREAMS, "stream", "jabber:client")
        assert root.localPrefixes == {"stream": NS_STREAMS}
        assert root["to"] == "example.com" and not root.children
        message = events[1].element  # type: ignore[attr-defined]
        assert message.parent is None
        assert (message.uri, message.name) == ("jabber:client", "message")
        assert str(message.body) == "Art thou not Romeo, & a Montague? <3 café"
        assert message.getAttribute(("http://www.w3.org/XML/1998/namespace", "lang")) == "en"
        assert message.active.uri == "http://jabber.org/protocol/chatstates"
        query = events[2].element.query  # type: ignore[attr-defined]
        assert query.getAttribute(("urn:x", "a")) == "b"
        features = events[3].element  # type: ignore[attr-defined]
        assert (features.uri, features.name) == (NS_STREAMS, "features")
        assert features.starttls.required is not None

    def test_reserialised_stanza_parses_the_same(self) -> None:
        message = collect(STREAM)[1].element  # type: ignore[attr-defined]
        again = domish.parseText(message.toXml())
        assert again.toXml() == message.toXml()

    def test_element_stream_callbacks(self) -> None:
        stream = domish.elementStream()
        seen: list[str] = []
        stream.DocumentStartEvent = lambda root: seen.append("start:" + root.name)
        stream.ElementEvent = lambda e: seen.append(e.name)
        stream.DocumentEndEvent = lambda: seen.append("end")
        for i in range(0, len(STREAM), 7):
            stream.parse(STREAM[i : i + 7])
        assert seen == ["start:stream", "message", "iq", "features", "end"]

    def test_many_element_names(self) -> None:
        # More distinct names than the parser keeps split, in two namespaces and as
        # prefixed names: every element still gets its own namespace and name.
        stanza = (
            b"<message>"
            + b"".join(
                b"<n%d xmlns='urn:a'/><n%d xmlns='urn:b'/><p:n%d xmlns:p='urn:c'/>" % (i, i, i)
                for i in range(400)
            )
            + b"</message>"
        )
        (event,) = collect(HEADER + stanza)[1:]
        children = event.element.children  # type: ignore[attr-defined]
        assert [(c.uri, c.name) for c in children[-3:]] == [
            ("urn:a", "n399"),
            ("urn:b", "n399"),
            ("urn:c", "n399"),
        ]
        assert len(children) == 1200 and children[-1].localPrefixes == {"p": "urn:c"}
        assert children[-1].defaultUri == "jabber:client"

    @pytest.mark.parametrize("byteAtATime", [False, True])
    def test_default_namespace_scopes(self, byteAtATime: bool) -> None:
        # The default namespace is inherited from the parent unless an element declares one,
        # prefixed or not, and a declaration ends with its element.
        stanza = (
            b"<iq><p:a xmlns:p='urn:p'><b/><p:c xmlns='urn:d'><e/></p:c><f/></p:a>"
            b"<g xmlns=''><h/></g><i/></iq>"
        )
        (event,) = collect(HEADER + stanza, byteAtATime)[1:]
        iq = event.element  # type: ignore[attr-defined]
        found = {}
        pending = [iq]
        while pending:
            element = pending.pop()
            found[element.name] = (element.uri, element.defaultUri)
            pending.extend(element.elements())
        assert found == {
            "iq": ("jabber:client", "jabber:client"),
            "a": ("urn:p", "jabber:client"),
            "b": ("jabber:client", "jabber:client"),
            "c": ("urn:p", "urn:d"),
            "e": ("urn:d", "urn:d"),
            "f": ("jabber:client", "jabber:client"),
            "g": ("", ""),
            "h": ("", ""),
            "i": ("jabber:client", "jabber:client"),
        }
        again = domish.parseText(iq.toXml())
        assert again.toXml() == iq.toXml()

    def test_parsed_elements_are_whole_elements(self) -> None:
        # The parser builds elements without Element.__init__: they must carry exactly the
        # attributes a constructed element has, so every Element method works on them.
        message = collect(STREAM)[1].element  # type: ignore[attr-defined]
        built = domish.Element(("jabber:client", "message"))
        assert list(vars(message)) == list(vars(built))
        assert list(vars(message.body)) == list(vars(built))
        assert message.body.parent is message and message.body.localPrefixes == {}

    def test_too_many_namespace_declarations(self) -> None:
        parser = StreamParser(Limits(maxAttributes=4))
        declarations = b" ".join(b"xmlns:p%d='urn:%d'" % (i, i) for i in range(5))
        with pytest.raises(ParserError) as e:
            parser.receiveData(HEADER + b"<message " + declarations + b"/>")
        assert e.value.kind is ParserErrorKind.POLICY_VIOLATION

    def test_reset_starts_a_new_stream(self) -> None:
        parser = StreamParser()
        parser.receiveData(HEADER)
        parser.reset()
        events = parser.receiveData(HEADER + b"<message/>")
        assert [type(e) for e in events] == [StreamStarted, ElementReceived]


BAD_INPUT = {
    "billion laughs": (
        b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
        b"<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>]>"
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>&lol2;",
        ParserErrorKind.RESTRICTED_XML,
    ),
    "external entity": (
        b"<!DOCTYPE s [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><s>&xxe;</s>",
        ParserErrorKind.RESTRICTED_XML,
    ),
    "internal subset-free doctype": (
        b"<!DOCTYPE s SYSTEM 'x.dtd'><s/>",
        ParserErrorKind.RESTRICTED_XML,
    ),
    "processing instruction": (HEADER + b"<?evil x?>", ParserErrorKind.RESTRICTED_XML),
    "comment": (HEADER + b"<message><!-- hi --></message>", ParserErrorKind.RESTRICTED_XML),
    "undefined entity": (HEADER + b"<message>&nbsp;</message>", ParserErrorKind.NOT_WELL_FORMED),
    "invalid UTF-8": (
        HEADER + b"<message><body>\xff\xfe</body></message>",
        ParserErrorKind.NOT_WELL_FORMED,
    ),
    "mismatched tags": (HEADER + b"<message></iq>", ParserErrorKind.NOT_WELL_FORMED),
    "text between stanzas": (HEADER + b"hello", ParserErrorKind.NOT_WELL_FORMED),
    "too many attributes": (
        HEADER + b"<m " + b" ".join(b"a%d='1'" % i for i in range(100)) + b"/>",
        ParserErrorKind.POLICY_VIOLATION,
    ),
    "junk after the stream": (STREAM + b"<again/>", ParserErrorKind.NOT_WELL_FORMED),
}


class TestBadInput:
    @pytest.mark.parametrize("name", sorted(BAD_INPUT))
    @pytest.mark.parametrize("byteAtATime", [False, True])
    def test_refused(self, name: str, byteAtATime: bool) -> None:
        data, kind = BAD_INPUT[name]
        with pytest.raises(ParserError) as info:
            collect(data, byteAtATime)
        assert info.value.kind is kind
        # The message never echoes the peer's bytes.
        assert b"lol" not in str(info.value).encode() and "passwd" not in str(info.value)

    def test_parser_stays_failed(self) -> None:
        parser = StreamParser()
        with pytest.raises(ParserError):
            parser.receiveData(HEADER + b"<a></b>")
        with pytest.raises(ParserError):
            parser.receiveData(b"<message/>")

    def test_deep_nesting_refused_early(self) -> None:
        parser = StreamParser()
        with pytest.raises(ParserError) as info:
            parser.receiveData(HEADER + b"<a>" * 100_000)
        assert info.value.kind is ParserErrorKind.POLICY_VIOLATION

    def test_huge_stanza_refused_with_flat_memory(self) -> None:
        parser = StreamParser(Limits(maxStanzaSize=256 * 1024))
        parser.receiveData(HEADER + b"<message><body>")
        chunk = b"x" * 65536
        tracemalloc.start()
        try:
            with pytest.raises(ParserError) as info:
                for _ in range(160):  # 10 MB
                    parser.receiveData(chunk)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert info.value.kind is ParserErrorKind.POLICY_VIOLATION
        assert peak < 4 * 1024 * 1024

    def test_huge_unfinished_tag_refused(self) -> None:
        parser = StreamParser(Limits(maxStanzaSize=4096))
        parser.receiveData(HEADER)
        with pytest.raises(ParserError):
            parser.receiveData(b"<message to='" + b"a" * 10_000)

    def test_huge_stanza_in_one_piece(self) -> None:
        parser = StreamParser(Limits(maxStanzaSize=4096))
        with pytest.raises(ParserError) as info:
            parser.receiveData(HEADER + b"<m>" + b"y" * 5000 + b"</m>")
        assert info.value.kind is ParserErrorKind.POLICY_VIOLATION

    def test_stanza_at_the_limit_is_accepted(self) -> None:
        stanza = b"<m>" + b"y" * 1000 + b"</m>"
        parser = StreamParser(Limits(maxStanzaSize=len(stanza)))
        events = parser.receiveData(HEADER + stanza)
        assert len(events) == 2

    def test_whitespace_keepalives_do_not_accumulate(self) -> None:
        parser = StreamParser(Limits(maxStanzaSize=1024))
        parser.receiveData(HEADER)
        for _ in range(5000):
            parser.receiveData(b" ")

    def test_unclosed_stream_yields_nothing_more(self) -> None:
        events = collect(HEADER + b"<message><body>never closed")
        assert [type(e) for e in events] == [StreamStarted]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_parser_error(data: bytes) -> None:
    parser = StreamParser(Limits(maxDepth=8, maxAttributes=4, maxStanzaSize=200))
    try:
        parser.receiveData(data)
    except ParserError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, len(STREAM) - 1),
    st.binary(min_size=1, max_size=8),
    st.integers(1, 9),
)
def test_mutated_streams_only_raise_parser_error(at: int, insert: bytes, step: int) -> None:
    data = STREAM[:at] + insert + STREAM[at + 1 :]
    parser = StreamParser(Limits(maxDepth=8, maxAttributes=4, maxStanzaSize=300))
    try:
        for i in range(0, len(data), step):
            for event in parser.receiveData(data[i : i + step]):
                if isinstance(event, ElementReceived):
                    event.element.toXml()
    except ParserError:
        pass
