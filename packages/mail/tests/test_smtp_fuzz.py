"""Random and mutated input through the protocol adapter and the address parser: only
SMTP replies come out, never a traceback."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.testing import StringTransport
from glisten.mail import smtp
from glisten.mail._smtp import Mailbox, decodeXtext, encodeXtext, parseMailbox, parsePath

from .helpers import RecordingDelivery

VALID = (
    b"EHLO c\r\nMAIL FROM:<a@b.org> SIZE=20 BODY=8BITMIME\r\nRCPT TO:<x@example.com> "
    b"NOTIFY=FAILURE\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\n.\r\nBDAT 3 LAST\r\nabcRSET\r\n"
    b"AUTH PLAIN AGEAYg==\r\nQUIT\r\n"
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.binary(max_size=3)), max_size=8),
    st.integers(1, 64),
)
def test_mutatedSessionsThroughTheAdapter(mutations: list[tuple[int, bytes]], chunk: int) -> None:
    data = bytearray(VALID)
    for where, what in mutations:
        data[where : where + len(what)] = what
    p = smtp.ESMTP({b"PLAIN": smtp.PLAINCredentials})
    p.delivery = RecordingDelivery()
    p.authOverPlaintext = True
    t = StringTransport()
    p.makeConnection(t)
    for i in range(0, len(data), chunk):
        if t.disconnecting:
            break
        p.dataReceived(bytes(data[i : i + chunk]))
    for line in t.value().split(b"\r\n")[:-1]:
        assert line[:3].isdigit() and line[3:4] in (b" ", b"-", b""), line
    p.connectionLost(None)


_LOCAL = st.from_regex(rb"\A[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[A-Za-z0-9_-]{1,5}){0,2}\Z")
_DOMAIN = st.from_regex(rb"\A[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,6}){1,2}\Z")


@settings(max_examples=200, deadline=None)
@given(_LOCAL, _DOMAIN)
def test_mailboxRoundTrip(local: bytes, domain: bytes) -> None:
    box = parseMailbox(local + b"@" + domain)
    assert box == Mailbox(local, domain)
    assert parsePath(b"<" + bytes(box) + b">") == box
    assert smtp.Address(bytes(box)).local == local


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.booleans())
def test_parsersNeverRaise(data: bytes, utf8: bool) -> None:
    parseMailbox(data, utf8)
    parsePath(data, utf8, nullAllowed=True)
    decodeXtext(data)
    assert decodeXtext(encodeXtext(data)) == data
