"""Shared helpers for glisten-mail interop tests: real peers, and ``glisten mail`` run as a
separate process on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .._peers import freePort, requireBinary, waitForPort

# Re-exported: the test modules import them from here.
__all__ = ["freePort", "requireBinary", "waitForPort"]


def requireModule(name: str) -> None:
    """Skip (fail in CI) when a Python peer is not importable."""
    try:
        __import__(name)
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")


def makeCertificate(folder: Path) -> Path:
    """A self-signed certificate and key for localhost in one PEM file."""
    openssl = requireBinary("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    both = folder / "server.pem"
    both.write_bytes(cert.read_bytes() + key.read_bytes())
    return both


def startMail(folder: Path, *args: str) -> subprocess.Popen[bytes]:
    """Run ``glisten mail ARGS`` with its log in ``folder/glisten.log``."""
    log = open(folder / "glisten.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-c", "from glisten.application.cli import main; main()", "mail", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
