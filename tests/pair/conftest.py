"""Network namespaces for glisten-pair's tests against the kernel.

Every test gets a namespace of its own (``ip netns add``), makes its TUN/TAP device inside it
by running the glisten side there (``ip netns exec``), gives addresses only inside it, and
deletes it afterwards: no packet ever leaves the namespace. This needs root (CAP_NET_ADMIN and
CAP_SYS_ADMIN); without it the tests skip locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the glisten-pair namespace tests must run in CI")
    pytest.skip(reason)


def requireBinary(name: str) -> str:
    """
    :return: the path of a peer binary; skip when missing locally, fail in CI.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin:/bin")
    if path is None:
        _unavailable(f"{name} is not installed")
    assert path is not None
    return path


@pytest.fixture
def netns() -> Iterator[str]:
    """
    :return: the name of a fresh network namespace with only ``lo`` (up); deleted afterwards.
    """
    if os.geteuid() != 0:
        _unavailable("network namespaces and TUN/TAP devices need root")
    if not os.path.exists("/dev/net/tun"):
        _unavailable("/dev/net/tun is missing")
    ip = requireBinary("ip")
    name = f"glisten-pair-{os.getpid()}-{os.urandom(3).hex()}"
    result = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True)
    if result.returncode != 0:
        _unavailable(f"ip netns add failed: {result.stderr.strip()}")
    try:
        inside(name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run([ip, "netns", "del", name], capture_output=True)


def inside(
    ns: str, *argv: str, timeout: float = 30, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """
    Run a command inside the namespace ``ns``.
    """
    result = subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr}")
    return result


class Glisten:
    """
    A glisten program running inside a namespace; it prints ``ready ...`` once its device
    exists and stops when its standard input closes or on SIGTERM.
    """

    def __init__(self, ns: str, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(ROOT),
        )
        assert self.proc.stdout is not None
        self.ready = self.proc.stdout.readline().split()
        if not self.ready or self.ready[0] != "ready":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"the glisten side did not start: {self.ready} {err}")

    def finish(self, signal: bool = False) -> list[str]:
        """
        Close its standard input (or with ``signal``, send it SIGTERM) and return the lines it
        printed after ``ready``.
        """
        try:
            if signal:
                self.proc.terminate()
            out, err = self.proc.communicate(input="", timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        assert self.proc.returncode == 0, err
        return out.splitlines()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=10)


@pytest.fixture
def glisten() -> Iterator[list[Glisten]]:
    """
    Collects started :class:`Glisten` programs and kills any still running at the end.
    """
    started: list[Glisten] = []
    yield started
    for program in started:
        program.kill()
