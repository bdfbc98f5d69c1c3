"""The typed contract: a consumer program type-checks under ``mypy --strict`` (py.typed is honoured)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy")

CONSUMER = """
from glisten.internet.defer import Deferred
from glisten.internet.task import Clock
from glisten.names import authority, cache, client, dns, error, server

Result = tuple[list[dns.RRHeader], list[dns.RRHeader], list[dns.RRHeader]]


def addresses(result: Result) -> list[str]:
    answers, authority, additional = result
    return [rr.payload.dottedQuad() for rr in answers if isinstance(rr.payload, dns.Record_A)]


def main() -> None:
    r = client.Resolver(servers=[("127.0.0.1", 53)], timeout=(1, 3))
    d: Deferred[Result] = r.lookupAddress("example.com")
    d2: Deferred[list[str]] = d.addCallback(addresses)
    host: Deferred[str] = r.getHostByName(b"example.com")
    q: Deferred[Result] = client.lookupMailExchange("example.com")
    zone = authority.BindAuthority.fromText("$ORIGIN example.com.\\n@ IN SOA a b 1 2 3 4 5\\n")
    c = cache.CacheResolver(reactor=Clock())
    factory = server.DNSServerFactory(authorities=[zone], caches=[c], reactor=Clock())
    err: type[Exception] = error.DNSNameError
    print(d2, host, q, factory, err)
"""

WRONG = """
from glisten.names import client

r = client.Resolver(servers=[("127.0.0.1", 53)])
n: int = r.lookupAddress("example.com")
s: str = r.lookupText(42)
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "consumer.py"
    program.write_text(textwrap.dedent(source))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(program),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_consumerTypeChecksStrict(tmp_path: Path) -> None:
    out = _mypy(tmp_path, CONSUMER)
    assert out.returncode == 0, out.stdout + out.stderr


def test_wrongUseIsCaught(tmp_path: Path) -> None:
    """The types are real: misuse is reported, with the documented result type."""
    out = _mypy(tmp_path, WRONG)
    assert out.returncode == 1
    assert "Deferred[tuple[list[RRHeader], list[RRHeader], list[RRHeader]]]" in out.stdout
    assert 'Argument 1 to "lookupText"' in out.stdout
