"""The relay against aiosmtpd over STARTTLS with a verified certificate (``--tls-verify``):
queued messages for one domain go out together over one connection, and nothing goes out
while the certificate cannot be verified."""

from __future__ import annotations

import json
import smtplib
from pathlib import Path

import pytest

from .conftest import freePort, makeCertificate, startMail, stop, waitForPort, waitUntil
from .test_client_interop import startSink

pytestmark = pytest.mark.interop


def test_relayBatchesOverVerifiedStartTLS(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    makeCertificate(tmp_path)
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    sinkPort, smtpPort = freePort(), freePort()
    folder = tmp_path / "glisten"
    folder.mkdir()
    queue = folder / "queue"
    args = (
        "--smtp",
        f"tcp:{smtpPort}:interface=127.0.0.1",
        "--esmtp",
        "--relay",
        str(queue),
        "--smarthost",
        f"127.0.0.1:{sinkPort}",
        "--tls-verify",
        "far.test",
        "--relay-retry",
        "600",
    )
    # aiosmtpd refuses MAIL before STARTTLS: nothing can arrive in plain text.
    sink = startSink(tmp_path / "sink", sinkPort, str(cert), str(key), "nobody", "x")
    process = startMail(folder, *args)
    try:
        waitForPort(smtpPort, process)
        with smtplib.SMTP("127.0.0.1", smtpPort, timeout=20) as c:
            c.sendmail("me@origin.test", ["a@far.test", "b@far.test"], b"Subject: 1\r\n\r\none\r\n")
            c.sendmail("me@origin.test", ["c@far.test"], b"Subject: 2\r\n\r\ntwo\r\n")
            c.sendmail(
                "me@origin.test",
                ["d@far.test"],
                "Subject: 3\r\n\r\ndrei Grüße\r\n".encode(),
                mail_options=["BODY=8BITMIME"],
            )

        def heads() -> list[dict[str, object]]:
            return [json.loads(p.read_bytes()) for p in sorted(queue.glob("*-H"))]

        # Our certificate is not trusted yet: every attempt fails, nothing is sent.
        failed = waitUntil(
            lambda: len(heads()) == 3 and all(h["attempts"] for h in heads()) and heads(),
            "three failed attempts",
        )
        assert sorted(h["recipients"] for h in failed) == [
            ["a@far.test", "b@far.test"],
            ["c@far.test"],
            ["d@far.test"],
        ]
        assert all("certificate" in str(h["lastError"]).lower() for h in failed), [
            h["lastError"] for h in failed
        ]
        assert sink.messages() == []
        stop(process)
        # Flush the queue, as an operator would once the certificate is trusted.
        for path in queue.glob("*-H"):
            head = json.loads(path.read_bytes())
            head["nextAttempt"] = 0
            path.write_text(json.dumps(head))
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        process = startMail(folder, *args)
        received = sink.waitFor(3)
        assert sorted(env["to"] for env, _ in received) == [
            ["a@far.test", "b@far.test"],
            ["c@far.test"],
            ["d@far.test"],
        ]
        assert all(env["tls"] for env, _ in received)
        # One connection carried all three.
        assert len({tuple(env["peer"]) for env, _ in received}) == 1
        [(env, content)] = [(e, c) for e, c in received if e["to"] == ["d@far.test"]]
        assert "BODY=8BITMIME" in env["mail_options"]
        assert content.endswith("drei Grüße\r\n".encode())
        waitUntil(lambda: heads() == [], "an empty queue")
    finally:
        stop(process)
        stop(sink.process)
