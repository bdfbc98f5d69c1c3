"""Success notices for mail stored in local maildirs (RFC 3461 5.2.3, ``NOTIFY=SUCCESS``:
the final MTA sends RFC 3464 ``Action: delivered``), once per recipient, never unasked."""

from __future__ import annotations

import email
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet import defer
from glisten.internet.address import IPv4Address
from glisten.internet.testing import StringTransport
from glisten.mail import _delivered, bounce, mail, maildir, protocols, relaymanager


def codes(data: bytes) -> list[int]:
    return [int(line[:3]) for line in data.split(b"\r\n") if line[3:4] == b" "]


def service(tmp_path: Path, queue: bool = True) -> mail.MailService:
    svc = mail.MailService()
    domain = maildir.MaildirDirdbmDomain(svc, str(tmp_path / "example.com"))
    domain.addUser("alice", "secret")
    domain.addUser("bob", "secret")
    svc.addDomain("example.com", domain)
    if queue:
        svc.setQueue(relaymanager.Queue(str(tmp_path / "queue")))
    return svc


def session(svc: mail.MailService, mailFrom: bytes, rcpts: list[bytes], body: bytes) -> bytes:
    factory = protocols.ESMTPFactory(svc)
    factory.domain = b"mx.example.com"
    p = factory.buildProtocol(None)
    t = StringTransport(peerAddress=IPv4Address("TCP", "192.0.2.7", 4000))
    p.makeConnection(t)
    data = b"EHLO c\r\nMAIL FROM:" + mailFrom + b"\r\n"
    data += b"".join(b"RCPT TO:" + r + b"\r\n" for r in rcpts)
    p.dataReceived(data + b"DATA\r\n" + body + b".\r\n")
    return bytes(t.value())


BODY = b"Subject: report me\r\nX-Secret-Header: kept\r\n\r\nsecret body\r\n"


def stored(svc: mail.MailService, tmp_path: Path, user: str) -> list[bytes]:
    return [p.read_bytes() for p in (tmp_path / "example.com" / user / "new").iterdir()]


def notices(svc: mail.MailService) -> list[tuple[Any, bytes]]:
    queue = svc.queue
    found = []
    for name in queue.getWaiting():
        with open(queue.getPath(name), "rb") as f:
            found.append((queue.getEnvelope(name), f.read()))
    return found


def test_deliveredNoticeForEachRecipientThatAskedForIt(tmp_path: Path) -> None:
    svc = service(tmp_path)
    out = session(
        svc,
        b"<s@origin.org> ENVID=env+2B1",
        [
            b"<alice@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+40example.com",
            b"<bob@example.com> NOTIFY=SUCCESS",
        ],
        BODY,
    )
    assert codes(out) == [220, 250, 250, 250, 250, 354, 250]
    assert len(stored(svc, tmp_path, "alice")) == 1 and len(stored(svc, tmp_path, "bob")) == 1
    found = notices(svc)
    assert len(found) == 2
    byRecipient = {}
    for envelope, text in found:
        assert envelope.sender == "" and envelope.recipients == ["s@origin.org"]
        assert envelope.notify == []
        assert b"Action: delivered" in text and b"Status: 2.0.0" in text
        assert b"Original-Envelope-Id: env+1" in text
        assert b"Reporting-MTA: dns; mx.example.com" in text
        # The header is quoted, the body never is (RFC 3461 4.3).
        assert b"Subject: report me\r\nX-Secret-Header: kept" in text
        assert b"secret body" not in text
        assert b"Content-Type: text/rfc822-headers" in text
        assert b"Reason:" not in text and b"Action: failed" not in text
        [final] = [line for line in text.split(b"\r\n") if line.startswith(b"Final-Recipient")]
        byRecipient[final] = text
    alice = byRecipient[b"Final-Recipient: rfc822; alice@example.com"]
    bob = byRecipient[b"Final-Recipient: rfc822; bob@example.com"]
    assert b"Original-Recipient: rfc822; Alice@example.com\r\nFinal-Recipient" in alice
    assert b"Original-Recipient" not in bob


@pytest.mark.parametrize(
    "params",
    [b"", b" NOTIFY=NEVER", b" NOTIFY=FAILURE", b" NOTIFY=DELAY,FAILURE"],
)
def test_noNoticeUnlessSuccessAsked(tmp_path: Path, params: bytes) -> None:
    svc = service(tmp_path)
    out = session(svc, b"<s@origin.org>", [b"<alice@example.com>" + params], BODY)
    assert codes(out) == [220, 250, 250, 250, 354, 250]
    assert len(stored(svc, tmp_path, "alice")) == 1
    assert notices(svc) == []


def test_onlyTheAskingRecipientIsReported(tmp_path: Path) -> None:
    svc = service(tmp_path)
    session(
        svc,
        b"<s@origin.org>",
        [b"<alice@example.com> NOTIFY=NEVER", b"<bob@example.com> NOTIFY=SUCCESS"],
        BODY,
    )
    [(_envelope, text)] = notices(svc)
    assert b"Final-Recipient: rfc822; bob@example.com" in text
    assert b"alice@example.com" not in text


def test_noNoticeAboutANotice(tmp_path: Path) -> None:
    """A null reverse path gets no notice (notices go out with one, RFC 3461 6.1), whatever NOTIFY says."""
    svc = service(tmp_path)
    out = session(svc, b"<>", [b"<alice@example.com> NOTIFY=SUCCESS"], BODY)
    assert codes(out) == [220, 250, 250, 250, 354, 250]
    assert len(stored(svc, tmp_path, "alice")) == 1
    assert notices(svc) == []


def test_withoutQueueALocalSenderGetsTheNoticeInItsMaildir(tmp_path: Path) -> None:
    svc = service(tmp_path, queue=False)
    out = session(svc, b"<bob@example.com>", [b"<alice@example.com> NOTIFY=SUCCESS"], BODY)
    assert codes(out) == [220, 250, 250, 250, 354, 250]
    [message] = stored(svc, tmp_path, "alice")
    assert b"secret body" in message
    [notice] = stored(svc, tmp_path, "bob")
    assert b"Action: delivered" in notice
    assert b"Final-Recipient: rfc822; alice@example.com" in notice


def test_withoutQueueARemoteSenderGetsNothingButTheMailIsTaken(tmp_path: Path) -> None:
    svc = service(tmp_path, queue=False)
    out = session(svc, b"<s@origin.org>", [b"<alice@example.com> NOTIFY=SUCCESS"], BODY)
    assert codes(out) == [220, 250, 250, 250, 354, 250]
    assert len(stored(svc, tmp_path, "alice")) == 1
    assert stored(svc, tmp_path, "bob") == []


def test_aNoticeThatCannotBeStoredDoesNotRefuseTheMessage(tmp_path: Path) -> None:
    """The copy is stored: refusing now would only make the client send it again."""
    svc = service(tmp_path)

    class BrokenQueue:
        def createNewMessage(self, *args: Any, **kw: Any) -> Any:
            raise OSError("disk full")

    svc.setQueue(BrokenQueue())
    out = session(svc, b"<s@origin.org>", [b"<alice@example.com> NOTIFY=SUCCESS"], BODY)
    assert codes(out) == [220, 250, 250, 250, 354, 250]
    assert len(stored(svc, tmp_path, "alice")) == 1


class Stored:
    """An ``IMessage`` that records its lines and stores (or fails with ``error``)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.lines: list[bytes] = []
        self.error = error

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> defer.Deferred[Any]:
        return defer.fail(self.error) if self.error else defer.succeed(b"stored")

    def connectionLost(self) -> None:
        pass


def recordingNotice(message: Any) -> tuple[_delivered.NotifyOnDelivery, list[bytes]]:
    """:return: a notifying wrapper of ``message`` and the list of notices it submits."""
    request = _delivered.SuccessRequest("s@origin.org", "alice@example.com")
    sent: list[bytes] = []

    def submit(to: str, text: bytes) -> defer.Deferred[Any]:
        assert to == "s@origin.org"
        sent.append(text)
        return defer.succeed(None)

    return _delivered.NotifyOnDelivery(message, request, submit), sent


def test_aFailedDeliverySendsNoNotice(tmp_path: Path) -> None:
    message, sent = recordingNotice(Stored(OSError("no space")))
    message.lineReceived(b"Subject: x")
    failures: list[Any] = []
    message.eomReceived().addErrback(failures.append)
    assert len(failures) == 1 and failures[0].check(OSError)
    assert sent == []


def test_headerKeptForTheNoticeIsBounded(tmp_path: Path) -> None:
    stored = Stored()
    message, sent = recordingNotice(stored)
    header = [b"X-Filler-%05d: %s" % (i, b"y" * 90) for i in range(2000)]
    for line in [*header, b"", b"body"]:
        message.lineReceived(line)
    assert message.eomReceived().result == b"stored"
    assert stored.lines == [*header, b"", b"body"]  # the stored copy is whole
    [text] = sent
    assert len(text) < _delivered.MAX_HEADER_BYTES + 4096
    assert b"X-Filler-00000" in text and b"X-Filler-01999" not in text
    assert b"body" not in text.split(b"text/rfc822-headers")[1]


@pytest.mark.parametrize("action", ["failed", "delayed", "relayed", "delivered"])
def test_noticeFieldsStayOnTheirLine(action: str) -> None:
    """ENVID and ORCPT come from the client: whatever a caller passes, they cannot start
    header fields or MIME parts of their own in a notice."""
    _from, _to, text = bounce.generateBounce(
        b"Subject: x\r\n\r\nbody\r\n",
        "s@origin.org",
        "alice@example.com",
        envid="e1\r\nBcc: victim@example.net",
        originalRecipients={"alice@example.com": "rfc822; a\r\n\r\n--boundary"},
        action=action,
    )
    lines = text.split(b"\r\n")
    assert b"Original-Envelope-Id: e1 Bcc: victim@example.net" in lines
    assert b"Original-Recipient: rfc822; a --boundary" in lines
    assert not any(line.startswith((b"Bcc:", b"--boundary")) for line in lines)


_line = st.binary(max_size=120).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@settings(max_examples=150, deadline=None)
@given(header=st.lists(_line.filter(bool), max_size=20), body=st.lists(_line, max_size=10))
def test_anyMessageMakesAWellFormedNoticeWithoutItsBody(
    header: list[bytes], body: list[bytes]
) -> None:
    """Whatever the header holds, the notice is one multipart/report with the three parts
    RFC 3464 asks for, and nothing after the header's end is in it."""
    message, sent = recordingNotice(Stored())
    marker = b"BODY-MARKER-7f3a"
    for line in [*header, b"", marker, *body]:
        message.lineReceived(line)
    message.eomReceived()
    [text] = sent
    assert marker not in text
    parsed = email.message_from_bytes(text)
    assert parsed.get_content_type() == "multipart/report"
    parts = parsed.get_payload()
    assert [p.get_content_type() for p in parts] == [
        "text/plain",
        "message/delivery-status",
        "text/rfc822-headers",
    ]
    assert b"\r\nAction: delivered\r\n" in text
