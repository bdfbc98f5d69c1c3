"""XMPP speed, glisten against Twisted's words: the XML stream parser, serialising stanzas,
and dispatching them to XPath observers.

- ``stanza parse``: ``domish.elementStream()`` parses a stream of 1,000 chat messages (each
  with attributes, a body with escaped text and a namespaced child) fed in 4 KiB chunks; the
  rate is stanzas per second.
- ``stanza serialize``: ``toXml()`` of such a message; stanzas per second.
- ``stream dispatch``: an ``XmlStream`` with five XPath observers (one matching) receives the
  1,000-message stream; stanzas per second through parsing and dispatch.

The same code runs on both: only the package prefix differs.
"""

from __future__ import annotations

import importlib
from typing import Any

from _harness import Case, main

STANZAS = 1000
HEADER = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
    b"from='example.com' id='s1' version='1.0'>"
)
MESSAGE = (
    b"<message from='juliet@example.com/balcony' to='romeo@example.net/orchard' type='chat' "
    b"id='m%d'><body>Wherefore art thou, Romeo? &lt;3 &amp; more text here</body>"
    b"<active xmlns='http://jabber.org/protocol/chatstates'/></message>"
)
STREAM = HEADER + b"".join(MESSAGE % i for i in range(STANZAS))
CHUNKS = [STREAM[i : i + 4096] for i in range(0, len(STREAM), 4096)]


def _module(impl: str, name: str) -> Any:
    return importlib.import_module(f"{'twisted' if impl == 'twisted' else 'glisten'}.{name}")


def parse(impl: str, n: int) -> None:
    domish = _module(impl, "words.xish.domish")
    for _ in range(n):
        elements: list[Any] = []
        stream = domish.elementStream()
        stream.DocumentStartEvent = lambda root: None
        stream.ElementEvent = elements.append
        stream.DocumentEndEvent = lambda: None
        for chunk in CHUNKS:
            stream.parse(chunk)
        assert len(elements) == STANZAS


def serialize(impl: str, n: int) -> None:
    domish = _module(impl, "words.xish.domish")
    message = domish.Element(("jabber:client", "message"))
    message["from"] = "juliet@example.com/balcony"
    message["to"] = "romeo@example.net/orchard"
    message["type"] = "chat"
    message["id"] = "m1"
    message.addElement("body", content="Wherefore art thou, Romeo? <3 & more text here")
    message.addElement(("http://jabber.org/protocol/chatstates", "active"))
    for _ in range(n * STANZAS):
        message.toXml()


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def loseConnection(self) -> None:
        pass


def dispatch(impl: str, n: int) -> None:
    xmlstream = _module(impl, "words.xish.xmlstream")
    for _ in range(n):
        got: list[Any] = []
        onChat = got.append
        xs = xmlstream.XmlStream()
        xs.transport = _Transport()
        xs.connectionMade()
        xs.addObserver("/message[@type='chat']/body", onChat)
        xs.addObserver("/iq[@type='get']/query[@xmlns='jabber:iq:version']", onChat)
        xs.addObserver("/presence", onChat)
        xs.addObserver("/message[@type='groupchat']", onChat)
        xs.addObserver("/iq[@type='result']", onChat)
        for chunk in CHUNKS:
            xs.dataReceived(chunk)
        assert len(got) == STANZAS


CASES = [
    Case(f"stanza parse ({STANZAS} per op)", parse),
    Case(f"stanza serialize ({STANZAS} per op)", serialize),
    Case(f"stream dispatch ({STANZAS} per op)", dispatch),
]

if __name__ == "__main__":
    main(CASES)
