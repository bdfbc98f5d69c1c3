"""HTTP/2 serving: glisten-web against Twisted's HTTP/2 server (``twisted[http2]``), loaded by
``h2load`` (Debian package ``nghttp2-client``).

Cases (server on 127.0.0.1 on the epoll reactor, a hello-world ``Resource`` in a ``Site`` with
default settings, so both write their access log; requests/s, best of three runs):

- TLS with ALPN ``h2``, 10 connections with 100 concurrent streams each (``h2load -c 10
  -m 100``): Twisted serves HTTP/2 only through ALPN, so this is the side-by-side case;
- the same over clear text by prior knowledge (``h2c``), glisten only (Twisted has no h2c).

The server runs in the worker process's main thread; ``h2load`` runs as a child process
started from a helper thread.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from typing import Any

from _harness import Case, main
from tls import _certificate

RUNS = 3
REQUESTS = 20000
CONNECTIONS = 10
STREAMS = 100


def _serve(impl: str, tls: bool) -> float:
    h2load = shutil.which("h2load")
    if h2load is None:
        raise SystemExit("h2load is not installed (apt-get install nghttp2-client)")
    if impl == "glisten":
        from glisten.internet import ssl
        from glisten.internet.epollreactor import EPollReactor
        from glisten.web import resource, server

        reactor: Any = EPollReactor()
    else:
        from twisted.internet import epollreactor

        epollreactor.install()
        from twisted.internet import (
            reactor,  # type: ignore[no-redef]
            ssl,  # type: ignore[no-redef]
        )
        from twisted.web import resource, server  # type: ignore[no-redef]

    class Hello(resource.Resource):  # type: ignore[misc, name-defined]
        isLeaf = True

        def render_GET(self, request: Any) -> bytes:
            return b"Hello, world!"

    if impl == "glisten":
        site: Any = server.Site(Hello(), reactor=reactor)
        if not tls:
            site.http2 = True
    else:
        site = server.Site(Hello())
    if tls:
        certPEM, keyPEM = _certificate()
        options = ssl.PrivateCertificate.loadPEM(certPEM + keyPEM).options()
        port = reactor.listenSSL(0, site, options, backlog=1024, interface="127.0.0.1")
        url = f"https://127.0.0.1:{port.getHost().port}/"
    else:
        port = reactor.listenTCP(0, site, backlog=1024, interface="127.0.0.1")
        url = f"http://127.0.0.1:{port.getHost().port}/"
    result: dict[str, Any] = {}

    def load() -> None:
        try:
            args = [h2load, "-n", str(REQUESTS), "-c", str(CONNECTIONS), "-m", str(STREAMS), url]
            result["out"] = [
                subprocess.run(args, capture_output=True, text=True, check=True).stdout
                for _ in range(RUNS)
            ]
        finally:
            reactor.callFromThread(reactor.stop)

    reactor.callWhenRunning(threading.Thread(target=load, daemon=True).start)
    reactor.run(installSignalHandlers=False)
    rates = []
    for out in result.get("out", []):
        if "Application protocol: h2" not in out:
            raise RuntimeError(f"HTTP/2 was not negotiated: {out!r}")
        done = re.search(r"(\d+) succeeded, (\d+) failed", out)
        if done is None or int(done.group(1)) != REQUESTS:
            raise RuntimeError(f"requests failed: {out!r}")
        rate = re.search(r"finished in [0-9.]+m?s, ([0-9.]+) req/s", out)
        if rate is None:
            raise RuntimeError(f"cannot read h2load's output: {out!r}")
        rates.append(float(rate.group(1)))
    if len(rates) != RUNS:
        raise RuntimeError("h2load did not run")
    return max(rates)


def helloTLS(impl: str, n: int) -> float:
    return _serve(impl, tls=True)


def helloCleartext(impl: str, n: int) -> float:
    return _serve(impl, tls=False)


if __name__ == "__main__":
    main(
        [
            Case(
                "hello-world h2 over TLS, 10 conns x 100 streams",
                helloTLS,
                selfTimed=True,
                unit=" req/s",
            ),
            Case(
                "hello-world h2c prior knowledge, 10 conns x 100 streams",
                helloCleartext,
                impls=("glisten",),
                selfTimed=True,
                unit=" req/s",
            ),
        ]
    )
