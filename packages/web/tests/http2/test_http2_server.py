"""HTTP/2 through a Site: the same requests and resources as HTTP/1.1."""

from __future__ import annotations

from typing import Any

from glisten.web import server
from glisten.web.resource import Resource

from ._h2peer import Peer


def test_helloPriorKnowledge(h2peer: Any) -> None:
    peer: Peer = h2peer()
    sid = peer.request(b"/")
    status, headers, body, ended = peer.response(sid)
    assert (status, body, ended) == (200, b"hello HTTP/2", True)
    assert headers[b"content-length"] == b"12"
