"""What every interop test folder needs to run a real peer: find its binary (skip when it is
missing locally, fail under ``CI=true``), pick a free loopback port, wait until it listens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest


def requireBinary(name: str) -> str:
    """:return: the path of a peer binary; skip when missing locally, fail in CI."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def freePort() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def waitForPort(
    port: int, proc: subprocess.Popen[Any] | None = None, timeout: float = 30.0
) -> None:
    """Wait until something accepts connections on ``port`` (by connecting, not sleeping).

    :raises AssertionError: if ``proc`` exits first or nothing listens within ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the peer exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def waitUntil(check: Callable[[], Any], what: str = "a condition", timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something true (state another process or thread
    fills in: files, logs); return that.

    :raises AssertionError: naming ``what`` when ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
