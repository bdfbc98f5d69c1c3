"""The per-request fast paths give the same results as the general code.

The request path skips work a typical request does not need: the body file is made only when
something reads it, the request head's fields are split without a second regular expression
once the head is validated, the access-log event is built directly and its line formatted only
if an observer reads it, and a finished response looks for a pipelined request only when bytes
are buffered. These tests hold each of those to the behaviour of the general code.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from glisten.logger import LogLevel, formatEvent, globalLogPublisher
from glisten.web import _h11, http
from glisten.web._h11._parse import parseFieldBlock
from glisten.web.resource import Resource

Conn = Any
Parse = Callable[[bytes], tuple[int, dict[bytes, bytes], bytes]]


class Body(Resource):
    """Answers with what it finds in ``request.content``."""

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        content = request.content
        assert content.tell() == 0
        return b"[" + content.read() + b"]"

    render_POST = render_GET


def test_content_of_a_request_without_body(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Body())
    status, _, body = parse(conn.send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
    assert (status, body) == (200, b"[]")


def test_content_of_bodies(parse: Parse, connect: Callable[..., Conn]) -> None:
    conn = connect(Body())
    sized = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
    chunked = (
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert parse(conn.send(sized))[2] == b"[hello]"
    assert parse(conn.send(chunked))[2] == b"[abc]"
    # Byte at a time, the same.
    conn = connect(Body())
    out = b""
    for i in range(len(sized)):
        out += conn.send(sized[i : i + 1])
    assert parse(out)[2] == b"[hello]"


def test_content_can_be_replaced(connect: Callable[..., Conn]) -> None:
    seen: list[bytes] = []

    class Replace(Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            request.content = io.BytesIO(b"mine")
            seen.append(request.content.read())
            return b"ok"

    connect(Replace()).send(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    assert seen == [b"mine"]


_token = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!#$%&'*+.^_`|~",
    min_size=1,
    max_size=12,
)
_value = st.binary(max_size=20).map(
    lambda b: bytes(c for c in b if c == 9 or 32 <= c < 127 or c >= 128)
)
_blank = st.sampled_from([b"", b" ", b"\t", b"  \t"])


@given(st.lists(st.tuples(_token, _blank, _value, _blank), max_size=8))
def test_fast_head_parse_matches_field_parser(
    fields: list[tuple[str, bytes, bytes, bytes]],
) -> None:
    lines = [
        name.encode("ascii") + b":" + before + value + after
        for name, before, value, after in fields
    ]
    block = b"\r\n".join(lines)
    expected = parseFieldBlock(block)
    assert expected is not None
    expected.setdefault(b"host", []).insert(0, b"h")
    head = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"".join(line + b"\r\n" for line in lines) + b"\r\n"
    for pieces in ([head], [head[i : i + 1] for i in range(len(head))]):
        codec = _h11.ServerConnection()
        events: list[Any] = []
        for piece in pieces:
            events += codec.receiveData(piece)
        requests = [e for e in events if isinstance(e, _h11.Request)]
        if requests:
            assert requests[0].headers == expected
        else:
            # Fields the codec refuses (a second Host, a bad Content-Length, ...).
            assert isinstance(events[-1], _h11.ProtocolError)


def test_head_values_keep_inner_blanks_and_colons() -> None:
    codec = _h11.ServerConnection()
    [request, _] = codec.receiveData(
        b"GET / HTTP/1.1\r\nHost: h\r\nX-A: \t a: b \t\r\nx-a:c\r\nX-Empty:\r\n\r\n"
    )
    assert isinstance(request, _h11.Request)
    assert request.headers == {
        b"host": [b"h"],
        b"x-a": [b"a: b", b"c"],
        b"x-empty": [b""],
    }


def test_access_log_event(connect: Callable[..., Conn]) -> None:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        connect(Body()).send(
            b'GET /a?b HTTP/1.1\r\nHost: h\r\nReferer: http://x/"y\r\nUser-Agent: u\r\n\r\n'
        )
    finally:
        globalLogPublisher.removeObserver(events.append)
    [event] = [e for e in events if e.get("log_namespace") == "glisten.web.access"]
    assert event["log_level"] is LogLevel.info
    assert event["log_format"] == "{line}"
    assert isinstance(event["log_time"], float)
    line = formatEvent(event)
    # The line's timestamp and the event's time come from the same clock reading.
    stamp = http.datetimeToLogString(int(event["log_time"]))
    assert line.endswith(f' - - {stamp} "GET /a?b HTTP/1.1" 200 2 "http://x/\\"y" "u"')
    assert str(event["line"]) == line


def test_pipelined_requests_after_a_finished_one(connect: Callable[..., Conn]) -> None:
    conn = connect(Body())
    one = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
    out = conn.send(one * 3)
    assert out.count(b"HTTP/1.1 200 OK") == 3
    assert conn.send(one).count(b"HTTP/1.1 200 OK") == 1
