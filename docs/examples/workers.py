"""``glisten --workers``: one supervisor, two worker processes sharing one listening socket.

The program runs the command a user would type,
``glisten --workers 2 web --path DIR --listen unix:DIR/web.sock``, waits (by reading its log)
until both workers are ready, asks for a page, reloads with SIGHUP (new workers start on the
same socket before the old ones drain: no request is refused), asks again and stops it with
SIGTERM, which drains the workers and exits 0.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile


def get(path: str) -> str:
    """A GET over the Unix socket; the status and body."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(path)
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return f"{head.split()[1].decode()} {body.decode().strip()}"


def waitFor(glisten: subprocess.Popen[str], pattern: str) -> str:
    """Read the command's log until a line matches (it ends the wait when the command ends)."""
    assert glisten.stdout is not None
    for line in glisten.stdout:
        if re.search(pattern, line):
            return line
    raise SystemExit(f"glisten ended before logging {pattern!r}")


def main() -> None:
    site = tempfile.mkdtemp()
    with open(os.path.join(site, "hello.txt"), "w") as f:
        f.write("hello from a worker\n")
    sock = os.path.join(site, "web.sock")
    # This is the ``glisten`` command; ``python -m`` runs the one beside this Python.
    command = [sys.executable, "-m", "glisten.application.cli"]
    glisten = subprocess.Popen(
        [*command, "--workers", "2", "web", "--path", site, "--listen", f"unix:{sock}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        waitFor(glisten, r"2 workers ready")
        print("2 workers ready")
        print("GET", get(sock))
        glisten.send_signal(signal.SIGHUP)
        waitFor(glisten, r"reloaded: draining 2 old workers")
        print("reloaded; GET", get(sock))
        glisten.send_signal(signal.SIGTERM)
        glisten.communicate(timeout=60)  # the rest of the log, up to its exit
        print("stopped with status", glisten.returncode)
    finally:
        if glisten.poll() is None:
            glisten.kill()
            glisten.wait()


if __name__ == "__main__":
    main()
