"""The ``glisten web`` plugin: options, the service it builds, and a real run."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from zope.interface.verify import verifyObject

from glisten.application.service import IServiceMaker, MultiService
from glisten.internet.address import IPv4Address, IPv6Address, UNIXAddress
from glisten.web import static
from glisten.web.tap import _AddHeadersResource, makeResource, serviceMaker, serviceURL
from glisten.web.wsgi import WSGIResource


def parse(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    serviceMaker.addArguments(parser)
    return parser.parse_args(list(args))


def test_provides() -> None:
    assert verifyObject(IServiceMaker, serviceMaker)
    assert serviceMaker.tapname == "web"
    assert "\n" not in serviceMaker.description


def test_path(tmp_path: Path) -> None:
    root = makeResource(
        parse("--path", str(tmp_path), "--index", "home.html", "--mime-type", "text/plain")
    )
    assert isinstance(root, static.File)
    assert root.indexNames[0] == "home.html" and root.defaultType == "text/plain"


def test_safeDefaults(tmp_path: Path) -> None:
    """Issue 12: unknown types are application/octet-stream, hidden files are 404."""
    root = makeResource(parse("--path", str(tmp_path)))
    assert isinstance(root, static.File)
    assert root.defaultType == "application/octet-stream"
    assert root.allowHidden is False
    root = makeResource(parse("--path", str(tmp_path), "--allow-hidden"))
    assert isinstance(root, static.File) and root.allowHidden is True


@pytest.mark.parametrize(
    ("address", "tls", "url"),
    [
        (IPv4Address("TCP", "0.0.0.0", 8097), False, "http://127.0.0.1:8097/"),
        (IPv4Address("TCP", "10.1.2.3", 80), False, "http://10.1.2.3:80/"),
        (IPv6Address("TCP", "::", 8443), True, "https://[::1]:8443/"),
        (IPv6Address("TCP", "fe80::1", 8080), False, "http://[fe80::1]:8080/"),
        (UNIXAddress(b"/run/web.sock"), False, "unix:/run/web.sock"),
    ],
)
def test_serviceURL(address: object, tls: bool, url: str) -> None:
    assert serviceURL(address, tls) == url


def test_addHeader(tmp_path: Path) -> None:
    root = makeResource(parse("--path", str(tmp_path), "--add-header", "X-Frame-Options: DENY"))
    assert isinstance(root, _AddHeadersResource)
    assert root._headers == [(b"X-Frame-Options", b"DENY")]


def test_wsgiAndClass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "myapp.py").write_text(
        "from glisten.web.resource import Resource\n"
        "def app(environ, start_response):\n    return []\n"
        "class Root(Resource):\n    pass\n"
        "notCallable = 3\n"
        "class NotAResource:\n    pass\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert isinstance(makeResource(parse("--wsgi", "myapp.app")), WSGIResource)
    assert type(makeResource(parse("--class", "myapp.Root"))).__name__ == "Root"
    with pytest.raises(ValueError, match="not callable"):
        makeResource(parse("--wsgi", "myapp.notCallable"))
    with pytest.raises(ValueError, match="cannot import"):
        makeResource(parse("--wsgi", "nosuchmodule.app"))
    with pytest.raises(ValueError, match="not a resource"):
        makeResource(parse("--class", "myapp.NotAResource"))


@pytest.mark.parametrize(
    "args,message",
    [
        ((), "exactly one"),
        (("--path", "/nonexistent/glisten"), "does not exist"),
        (("--path", ".", "--wsgi", "a.b"), "exactly one"),
        (("--path", ".", "--add-header", "novalue"), "Name: value"),
        (("--wsgi", "nodots"), "module.name"),
        (("--path", ".", "--min-body-rate", "-1"), "must not be negative"),
        (("--path", ".", "--body-rate-window", "0"), "must be positive"),
        (("--path", ".", "--access-log", "x", "--no-access-log"), "exclude each other"),
    ],
)
def test_badOptions(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        serviceMaker.makeService(parse(*args))


def test_makeService(tmp_path: Path) -> None:
    service = serviceMaker.makeService(
        parse("--path", str(tmp_path), "--listen", "tcp:0:interface=127.0.0.1", "--listen", "tcp:0")
    )
    assert isinstance(service, MultiService)
    assert len(list(service)) == 2
    with pytest.raises(ValueError):
        serviceMaker.makeService(parse("--path", str(tmp_path), "--listen", "bogus:1"))


@pytest.mark.parametrize(
    ("args", "rate", "window"),
    [((), None, None), (("--min-body-rate", "0", "--body-rate-window", "5"), 0, 5)],
)
def test_minBodyRate(
    tmp_path: Path, args: tuple[str, ...], rate: float | None, window: float | None
) -> None:
    service = serviceMaker.makeService(parse("--path", str(tmp_path), *args))
    site = next(iter(service)).factory  # type: ignore[attr-defined]
    assert (site.minBodyRate, site.bodyRateWindow) == (rate, window)
    channel = site.buildProtocol(None)
    assert channel.minBodyRate == (1024 if rate is None else rate)
    assert channel.bodyRateWindow == (30 if window is None else window)


RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "web", *sys.argv[1:]])
"""


def runWeb(*args: str) -> tuple[subprocess.Popen[str], int]:
    """Start the plugin as ``glisten web`` would, on a free port; return the process and the
    port, read from its ``serving ... on URL`` log line."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        m = re.search(r"serving .* on http://127\.0\.0\.1:(\d+)/$", line)
        if m:
            return proc, int(m.group(1))
    proc.wait()
    raise AssertionError("the server did not start")


def test_realRun(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("content")
    proc, port = runWeb(
        "--path",
        str(tmp_path),
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--add-header",
        "X-Test: yes",
    )
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/a.txt")
        r = conn.getresponse()
        assert (r.status, r.read(), r.getheader("X-Test")) == (200, b"content", "yes")
        conn.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert '"GET /a.txt HTTP/1.1" 200 7' in out  # the access log


@pytest.mark.parametrize("where", ["file", "none"])
def test_realRunAccessLogOptions(tmp_path: Path, where: str) -> None:
    """``--access-log FILE`` writes the line there (at the latest on exit), not to the log;
    ``--no-access-log`` writes it nowhere."""
    (tmp_path / "a.txt").write_text("content")
    logPath = tmp_path / "access.log"
    option = ["--access-log", str(logPath)] if where == "file" else ["--no-access-log"]
    proc, port = runWeb("--path", str(tmp_path), "--listen", "tcp:0:interface=127.0.0.1", *option)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/a.txt")
        assert conn.getresponse().read() == b"content"
        conn.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "GET /a.txt" not in out
    if where == "file":
        assert '"GET /a.txt HTTP/1.1" 200 7' in logPath.read_text()
    else:
        assert not logPath.exists()


def test_realRunLogsTheURLAndHidesDotfiles(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]")
    (tmp_path / "notes").write_text("<b>hi</b>")
    proc, port = runWeb("--path", str(tmp_path), "--listen", "tcp:0:interface=127.0.0.1")
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/.git/config")
        r = conn.getresponse()
        assert r.status == 404
        r.read()
        conn.request("GET", "/notes")
        r = conn.getresponse()
        assert r.getheader("Content-Type") == "application/octet-stream"
        assert r.getheader("X-Content-Type-Options") == "nosniff"
        r.read()
        conn.close()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0


def test_cliReportsBadOptions() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, "--path", "/nonexistent/glisten"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
