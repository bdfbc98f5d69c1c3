"""Run ``glisten web`` as a user would (the real command line, a real port) for interop
tests against peers such as curl and Python's ``xmlrpc.client``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._peers import requireBinary

RUNNER = """
import sys
from glisten.application import cli
cli.main(["--reactor", "epoll", "web", *sys.argv[1:]])
"""


@contextmanager
def glistenWeb(directory: Path, *options: str) -> Iterator[str]:
    """Start ``glisten web OPTIONS --listen tcp:0:interface=127.0.0.1`` in ``directory``
    (so modules there can be named with ``--class``) and yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, *options, "--listen", "tcp:0:interface=127.0.0.1"],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    output = []
    port = None
    for line in proc.stdout:
        output.append(line)
        m = re.search(r"starting on (\d+)", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        proc.wait()
        raise AssertionError("glisten web did not start:\n" + "".join(output))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def curl(*args: str) -> str:
    """Run curl (quiet, errors shown, 20 s at most) and return what it printed.

    :raises AssertionError: curl failed.
    """
    result = subprocess.run(
        [requireBinary("curl"), "-sS", "--max-time", "20", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout
