"""glisten.web.twcgi: the header parser, the RFC 3875 environment, and real scripts spawned
through a real reactor."""

from __future__ import annotations

import http.client
import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.web import twcgi
from glisten.web._cgi import CGILimits, CGIResponseError, CGIResponseParser, cgiEnvironment
from glisten.web.resource import Resource

GOOD = (
    b"Content-Type: text/plain\r\nStatus: 201 Made It\r\nX-A: 1\r\nContent-Length: 99\r\n\r\nbody"
)


def parseAll(data: bytes, step: int | None = None) -> tuple[Any, bytes]:
    parser = CGIResponseParser()
    head = None
    body = b""
    pieces = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for piece in pieces:
        h, b = parser.receiveData(piece)
        head = head or h
        body += b
    return head, body


@pytest.mark.parametrize("step", [None, 1, 3])
def test_parserWholeAndByteAtATime(step: int | None) -> None:
    head, body = parseAll(GOOD, step)
    assert head.status == 201 and head.reason == b"Made It"
    # The script's framing header is dropped: the server frames the body.
    assert head.headers == [(b"content-type", b"text/plain"), (b"x-a", b"1")]
    assert body == b"body"


def test_parserLFOnlyAndLocation() -> None:
    head, body = parseAll(b"Location: /elsewhere\n\nx\n\ny")
    assert head.status == 302 and head.headers == [(b"location", b"/elsewhere")]
    assert body == b"x\n\ny"


@pytest.mark.parametrize(
    "bad",
    [
        b"no colon\r\n\r\n",
        b"Content-Type: text/plain\r\nX-Bad: a\rSet-Cookie: x=1\r\n\r\n",
        b"Content-Type: text/plain\r\nBad Name: x\r\n\r\n",
        b"Status: 2000\r\nContent-Type: a\r\n\r\n",
        b"Status: abc\r\n\r\n",
        b"X-Only: 1\r\n\r\n",
        b"Content-Type: a\x00b\r\n\r\n",
    ],
)
def test_parserRejects(bad: bytes) -> None:
    with pytest.raises(CGIResponseError) as info:
        parseAll(bad)
    assert b"Set-Cookie" not in str(info.value).encode()


def test_parserLimits() -> None:
    parser = CGIResponseParser(CGILimits(maxHeaderBytes=100, maxHeaders=3))
    with pytest.raises(CGIResponseError):
        parser.receiveData(b"X: " + b"a" * 200)
    with pytest.raises(CGIResponseError):
        CGIResponseParser(CGILimits(maxHeaders=3)).receiveData(
            b"Content-Type: a\nA: 1\nB: 2\nC: 3\n\n"
        )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=7))
def test_parserFuzz(data: bytes, step: int) -> None:
    try:
        head, _ = parseAll(data, step)
    except CGIResponseError:
        return
    if head is not None:
        for name, value in head.headers:
            assert b"\n" not in value and b"\r" not in value and b":" not in name


def environment(**overrides: Any) -> dict[str, str]:
    arguments: dict[str, Any] = dict(
        method=b"POST",
        uri=b"/cgi/script.py/extra/path?a=1&b=%20",
        clientproto=b"HTTP/1.1",
        scriptName="/cgi/script.py",
        scriptFilename="/srv/cgi/script.py",
        pathInfo="/extra/path",
        serverName=b"example.com",
        serverPort=8080,
        remoteAddr="192.0.2.1",
        secure=False,
        headers={
            b"content-type": b"text/plain",
            b"content-length": b"5",
            b"proxy": b"http://evil:1/",
            b"authorization": b"Basic c2VjcmV0",
            b"x-forwarded-for": b"1.2.3.4",
            b"x_forwarded_for": b"5.6.7.8",
            b"user-agent": b"test",
        },
        contentLength=5,
        serverSoftware="glisten-web/test",
        passEnvironment={"PATH": "/bin"},
    )
    arguments.update(overrides)
    return cgiEnvironment(**arguments)


def test_environment() -> None:
    env = environment()
    assert env == {
        "PATH": "/bin",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_SOFTWARE": "glisten-web/test",
        "SERVER_NAME": "example.com",
        "SERVER_PORT": "8080",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_METHOD": "POST",
        "REQUEST_URI": "/cgi/script.py/extra/path?a=1&b=%20",
        "SCRIPT_NAME": "/cgi/script.py",
        "SCRIPT_FILENAME": "/srv/cgi/script.py",
        "QUERY_STRING": "a=1&b=%20",
        "REMOTE_ADDR": "192.0.2.1",
        "REMOTE_HOST": "192.0.2.1",
        "PATH_INFO": "/extra/path",
        "CONTENT_LENGTH": "5",
        "CONTENT_TYPE": "text/plain",
        "AUTH_TYPE": "Basic",
        "HTTP_X_FORWARDED_FOR": "1.2.3.4",
        "HTTP_USER_AGENT": "test",
    }


def test_environmentHttpsAndDefaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_TOKEN", "do-not-leak")
    env = environment(secure=True, pathInfo=None, passEnvironment=None)
    assert env["HTTPS"] == "on" and "PATH_INFO" not in env
    assert "SECRET_TOKEN" not in env and "PATH" in env


# -- real scripts -----------------------------------------------------------------------------

SCRIPT = f"""#!{sys.executable}
import json, os, sys
body = sys.stdin.buffer.read()
keys = [k for k in os.environ if k not in ("LC_CTYPE",)]
sys.stdout.write("Content-Type: application/json\\r\\nX-Script: yes\\r\\n\\r\\n")
sys.stdout.flush()
sys.stdout.write(json.dumps({{"env": {{k: os.environ[k] for k in keys}}, "body": body.decode(), "argv": sys.argv[1:]}}))
"""

BAD_SCRIPT = f"""#!{sys.executable}
import sys
sys.stdout.write("Content-Type: text/plain\\r\\nX-Evil: a\\rSet-Cookie: pwned=1\\r\\n\\r\\nsecret")
"""

SILENT_SCRIPT = f"""#!{sys.executable}
import sys
sys.stderr.write("oops")
"""


def makeScripts(directory: Path) -> Path:
    cgi = directory / "cgi"
    cgi.mkdir()
    for name, text in (("env.py", SCRIPT), ("bad.py", BAD_SCRIPT), ("silent.py", SILENT_SCRIPT)):
        path = cgi / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return cgi


def test_realScripts(tmp_path: Path, serveReal: Callable[..., Any], realReactor: Any) -> None:
    cgi = makeScripts(tmp_path)
    root = Resource()
    root.putChild(b"cgi", twcgi.CGIDirectory(str(cgi), reactor=realReactor))

    def client(port: int) -> dict[str, Any]:
        results: dict[str, Any] = {}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request(
            "POST",
            "/cgi/env.py/more/path?-s",
            body=b"hello cgi",
            headers={"Content-Type": "text/plain", "Proxy": "http://evil/"},
        )
        response = conn.getresponse()
        results["env"] = (response.status, response.getheader("X-Script"), response.read())
        for name in ("bad.py", "silent.py", "missing.py", ""):
            conn.request("GET", "/cgi/" + name)
            response = conn.getresponse()
            results[name] = (response.status, response.getheader("Set-Cookie"), response.read())
        conn.close()
        return results

    results = serveReal(root, client)
    status, header, body = results["env"]
    assert status == 200 and header == "yes"
    data = json.loads(body)
    env = data["env"]
    assert data["body"] == "hello cgi" and data["argv"] == []
    assert env["PATH_INFO"] == "/more/path" and env["SCRIPT_NAME"] == "/cgi/env.py"
    assert env["QUERY_STRING"] == "-s" and env["CONTENT_LENGTH"] == "9"
    assert env["REQUEST_METHOD"] == "POST" and env["CONTENT_TYPE"] == "text/plain"
    assert "HTTP_PROXY" not in env and "PROXY" not in env
    status, cookie, body = results["bad.py"]
    assert status == 500 and cookie is None and b"secret" not in body
    assert results["silent.py"][0] == 500
    assert results["missing.py"][0] == 404
    assert results[""][0] == 403


def test_cgiScriptAsProcessor(
    tmp_path: Path, serveReal: Callable[..., Any], realReactor: Any
) -> None:
    from glisten.web import static

    cgi = makeScripts(tmp_path)
    files = static.File(str(cgi))
    files.processors = {".py": lambda path, registry: twcgi.CGIScript(path, registry, realReactor)}

    def client(port: int) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", "/env.py")
        response = conn.getresponse()
        return response.status, response.read()

    status, body = serveReal(files, client)
    assert status == 200 and json.loads(body)["env"]["SCRIPT_NAME"] == "/env.py"
    assert os.path.exists(cgi / "env.py")


ENDLESS_SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\nX-Pid: %s\\r\\n\\r\\n' "$$"
while true; do echo data; done
"""


def processGone(pid: int, deadline: float) -> bool:
    """Whether ``pid`` has exited (or is a zombie) before ``deadline`` (monotonic)."""
    import time

    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def test_scriptKilledWhenClientLeaves(
    tmp_path: Path, serveReal: Callable[..., Any], realReactor: Any
) -> None:
    import time

    cgi = makeScripts(tmp_path)
    endless = cgi / "endless.sh"
    endless.write_text(ENDLESS_SCRIPT)
    endless.chmod(0o755)
    (cgi / "noexec.sh").write_text("#!/bin/sh\necho hi\n")

    def client(port: int) -> tuple[int, bool]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        conn.request("GET", "/noexec.sh")
        response = conn.getresponse()
        noexec = response.status
        response.read()
        conn.request("GET", "/endless.sh")
        response = conn.getresponse()
        pid = int(response.getheader("X-Pid"))
        assert response.read(100).startswith(b"data\n")
        conn.close()
        return noexec, processGone(pid, time.monotonic() + 15)

    noexec, gone = serveReal(twcgi.CGIDirectory(str(cgi), reactor=realReactor), client)
    assert noexec == 500
    assert gone
