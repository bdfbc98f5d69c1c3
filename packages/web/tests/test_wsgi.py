"""WSGIResource with a real Flask application and hand-written PEP 3333 apps."""

from __future__ import annotations

import http.client
from collections.abc import Callable, Iterator
from typing import Any

import flask
import pytest

from glisten.web.wsgi import WSGIResource

Serve = Callable[..., Any]


def makeFlask() -> flask.Flask:
    app = flask.Flask("glisten-test")

    @app.route("/hello/<name>")
    def hello(name: str) -> str:
        return f"hello {name} {flask.request.args.get('q', '')}"

    @app.route("/upload", methods=["POST"])
    def upload() -> flask.Response:
        return flask.jsonify(size=len(flask.request.get_data()), form=dict(flask.request.form))

    @app.route("/env")
    def env() -> flask.Response:
        e = flask.request.environ
        return flask.jsonify(
            script=e["SCRIPT_NAME"],
            path=e["PATH_INFO"],
            scheme=e["wsgi.url_scheme"],
            agent=e.get("HTTP_USER_AGENT"),
        )

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("boom")

    return app


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    out = (r.status, r.read(), {k.lower(): v for k, v in r.getheaders()})
    conn.close()
    return out


def test_flask(serveReal: Serve, realReactor: Any) -> None:
    resource = WSGIResource(realReactor, realReactor.getThreadPool(), makeFlask())

    def client(port: int) -> list[Any]:
        return [
            request(port, "GET", "/hello/w%C3%B6rld?q=1"),
            request(
                port,
                "POST",
                "/upload",
                b"a=1&b=2",
                {"Content-Type": "application/x-www-form-urlencoded"},
            ),
            request(port, "GET", "/env", headers={"User-Agent": "ua"}),
            request(port, "GET", "/missing"),
            request(port, "GET", "/boom"),
        ]

    hello, upload, env, missing, boom = serveReal(resource, client)
    assert hello[:2] == (200, "hello wörld 1".encode())
    assert hello[2]["content-type"].startswith("text/html")
    assert upload[0] == 200 and flask.json.loads(upload[1]) == {
        "size": 7,
        "form": {"a": "1", "b": "2"},
    }
    assert flask.json.loads(env[1]) == {
        "script": "",
        "path": "/env",
        "scheme": "http",
        "agent": "ua",
    }
    assert missing[0] == 404
    assert boom[0] == 500
    realReactor.getThreadPool().stop()


def test_streamingAndErrors(serveReal: Serve, realReactor: Any) -> None:
    def streaming(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        if environ["PATH_INFO"] == "/late-error":
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b"partial"
            raise RuntimeError("after the head")
        if environ["PATH_INFO"] == "/bad-status":
            start_response(200, [])  # not a str: a TypeError inside the app
            return
        write = start_response("201 Created", [("X-A", "1"), ("Server", "app")])
        write(b"via write;")
        yield b"one;"
        yield b""
        yield b"two"

    resource = WSGIResource(realReactor, realReactor.getThreadPool(), streaming)

    def client(port: int) -> list[Any]:
        out = [request(port, "GET", "/ok"), request(port, "GET", "/bad-status")]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/late-error")
        r = conn.getresponse()
        try:
            r.read()
            out.append("complete")
        except http.client.IncompleteRead:
            out.append("cut")
        return out

    ok, bad, late = serveReal(resource, client)
    assert ok[0] == 201 and ok[1] == b"via write;one;two"
    assert ok[2]["x-a"] == "1" and ok[2]["server"] == "app"
    assert bad[0] == 500
    assert late == "cut"
    realReactor.getThreadPool().stop()


def test_noChildren() -> None:
    resource = WSGIResource(None, None, lambda e, s: [])
    with pytest.raises(RuntimeError):
        resource.getChildWithDefault(b"x", None)
