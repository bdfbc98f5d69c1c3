"""Delivery status notifications (RFC 3464): bounces for messages that could not be
delivered, and the notices a sender may ask for (RFC 3461 ``NOTIFY``): delayed, relayed,
delivered."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence

from glisten.mail.smtp import DNSNAME, messageid, rfc822date

#: How much of the original message a bounce quotes when only headers are asked for.
BOUNCE_FORMAT = "multipart/report; report-type=delivery-status"

#: Subject and explanation per RFC 3464 action.
_TEXTS = {
    "failed": (
        "Undelivered Mail Returned to Sender",
        "Your message could not be delivered to these recipients:",
    ),
    "delayed": (
        "Delayed Mail (still being retried)",
        "Your message has not been delivered yet to these recipients; delivery is still being"
        " retried, nothing needs to be done:",
    ),
    "relayed": (
        "Relayed Mail (no further notices)",
        "Your message was passed on for these recipients to a server that sends no delivery"
        " notifications; you will hear nothing more about it:",
    ),
    "delivered": (
        "Successful Mail Delivery Report",
        "Your message was delivered to the mailboxes of these recipients:",
    ),
}


def generateBounce(
    message: bytes,
    failedFrom: str,
    failedTo: str | Sequence[str],
    transcript: str = "",
    *,
    reportingMTA: bytes = DNSNAME,
    ret: str | None = None,
    envid: str | None = None,
    status: str = "5.0.0",
    arrival: float | None = None,
    action: str = "failed",
    retryUntil: float | None = None,
    originalRecipients: Mapping[str, str] | None = None,
) -> tuple[str, str, bytes]:
    """Build a bounce for a message that could not be delivered, or a notice that it has not
    been delivered yet (``action="delayed"``), was passed to a server that will not report
    on it (``action="relayed"``) or was stored in its recipients' mailboxes
    (``action="delivered"``).

    :param message: The original message.
    :param failedFrom: Its sender, to whom the bounce goes.
    :param failedTo: The recipients it failed for.
    :param transcript: The last error (the remote reply), for humans and the DSN.
    :param ret: RFC 3461 ``RET``: ``"HDRS"`` quotes only the header.
    :param status: The RFC 3463 status of the failure.
    :param action: The RFC 3464 ``Action``: ``"failed"``, ``"delayed"``, ``"relayed"`` or
        ``"delivered"``.
        Only a failure quotes the whole message when ``ret`` asks for it (RFC 3461 4.3);
        the others quote the header.
    :param retryUntil: For a delay notice, when the relay gives up (``Will-Retry-Until``).
    :param originalRecipients: Recipient -> its ``ORCPT`` (``"rfc822; address"``), which
        RFC 3464 2.3.1 wants repeated as ``Original-Recipient`` when the client gave it.
    :return: ``(from, to, bounce message)``; ``from`` is empty: bounces have a null sender.
    """
    if action not in _TEXTS:
        raise ValueError(f"unknown DSN action {action!r}")
    delayed = action == "delayed"
    subject, explanation = _TEXTS[action]
    recipients = [failedTo] if isinstance(failedTo, str) else list(failedTo)
    boundary = "glisten-%s" % os.urandom(8).hex()
    mta = reportingMTA.decode("ascii", "replace")
    diagnostic = " ".join(transcript.split())[:500]
    lines = [
        f"From: Mail Delivery Subsystem <MAILER-DAEMON@{mta}>",
        f"To: {failedFrom}",
        "Subject: " + subject,
        f"Date: {rfc822date().decode()}",
        f"Message-ID: {messageid().decode()}",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        explanation,
        "",
    ]
    lines += [f"  <{r}>" for r in recipients]
    if diagnostic or action == "failed":
        lines += ["", f"Reason: {diagnostic or 'delivery failed'}"]
    lines += [
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {mta}",
    ]
    if envid:
        # Folded onto one line whatever the caller passes: no field of a client's making.
        lines.append("Original-Envelope-Id: " + " ".join(envid.split()))
    lines.append(
        "Arrival-Date: " + rfc822date(time.localtime(arrival) if arrival else None).decode()
    )
    for r in recipients:
        lines.append("")
        orcpt = (originalRecipients or {}).get(r)
        if orcpt:
            lines.append("Original-Recipient: " + " ".join(orcpt.split()))
        lines += [f"Final-Recipient: rfc822; {r}", f"Action: {action}", f"Status: {status}"]
        if diagnostic:
            lines.append(f"Diagnostic-Code: smtp; {diagnostic}")
        if delayed and retryUntil is not None:
            lines.append("Will-Retry-Until: " + rfc822date(time.localtime(retryUntil)).decode())
    headersOnly = ret == "HDRS" or action != "failed"
    original = message
    if headersOnly:
        end = message.find(b"\r\n\r\n")
        original = message[: end + 2] if end >= 0 else message
    lines += [
        "",
        f"--{boundary}",
        "Content-Type: " + ("text/rfc822-headers" if headersOnly else "message/rfc822"),
        "",
    ]
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    tail = b"\r\n--" + boundary.encode() + b"--\r\n"
    return "", failedFrom, head + original.rstrip(b"\r\n") + tail


__all__ = ["BOUNCE_FORMAT", "generateBounce"]
