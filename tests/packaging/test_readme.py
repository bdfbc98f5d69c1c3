"""The README's commands, run as written in a fresh virtual environment from a fresh copy of
the tree (issue 12: installing from a clone must work, and so must the plugin hint).

The README marks each tested block with an HTML comment naming this file. Every line of a
block runs in one ``bash -e`` session in the copy; the line that starts the server runs on
its own, on a free port instead of 8080, until it has served a file.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

# Each test builds a virtual environment and installs into it: longer than pytest's default.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARK = re.compile(r"<!-- tests/packaging/test_readme\.py runs[^>]*-->\n```sh\n(.*?)```", re.DOTALL)
WAIT = 300


def readmeBlocks() -> list[list[str]]:
    """The tested blocks of the README, each as its command lines (comments left out)."""
    blocks = []
    for match in MARK.finditer(README.read_text(encoding="utf-8")):
        lines = [line.strip() for line in match.group(1).splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def freshCopy(target: Path) -> Path:
    """What a clone holds: the files git tracks (the whole tree, less build and cache
    folders, where git is not available)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        listed = b""
    if listed:
        for name in listed.decode().split("\0"):
            if not name or not (ROOT / name).is_file():
                continue
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    else:
        shutil.copytree(
            ROOT,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".git", ".venv*", "dist", "build", "__pycache__", "*.egg-info", ".*_cache"
            ),
        )
    return target


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )


def inVenv(command: str) -> str:
    return f". .venv/bin/activate && {command}"


def check(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def freePort() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hintAndFollowIt(clone: Path) -> str:
    """Remove glisten-web, ask ``glisten web``, run the command it suggests, return it."""
    check(bash(inVenv("pip uninstall -y -q glisten-web"), clone))
    asked = bash(inVenv("glisten web --path ."), clone)
    assert asked.returncode == 2, asked.stderr
    match = re.fullmatch(r'glisten: no plugin "web"; it is in glisten-web: (.+)\n', asked.stderr)
    assert match, asked.stderr
    command = match.group(1)
    check(bash(inVenv(command), clone))
    check(bash(inVenv("glisten web --help"), clone))
    return command


def test_readmeHasTheTestedBlocks() -> None:
    blocks = readmeBlocks()
    assert len(blocks) == 3, "a tested README block went missing"
    assert blocks[2][1] == "pip install hatch && hatch run test"  # CI runs exactly this


def test_installFromAClone(tmp_path: Path) -> None:
    clone = freshCopy(tmp_path / "clone")
    block = readmeBlocks()[0]
    check(bash("\n".join(block), clone))
    result = check(bash(inVenv("glisten --help"), clone))
    assert re.search(r"^  web ", result.stdout, re.MULTILINE)
    # The hint names the clone's folder, and following it works.
    assert hintAndFollowIt(clone) == f"pip install {clone / 'packages' / 'web'}"


def test_installFromWheelsInDist(tmp_path: Path) -> None:
    clone = freshCopy(tmp_path / "clone")
    block = readmeBlocks()[1]
    check(bash("\n".join(block), clone))
    check(bash(inVenv("python -c 'import glisten.web, glisten.internet'"), clone))
    assert hintAndFollowIt(clone) == "pip install --find-links dist glisten-web"


def test_serveCommand(tmp_path: Path) -> None:
    """The README's main command, with nothing but core and web installed."""
    clone = freshCopy(tmp_path / "clone")
    check(bash("python3 -m venv .venv", clone))
    install, _, serve = readmeBlocks()[2][0].partition(" && ")
    assert serve == "glisten web --listen tcp:8080 --path ."
    check(bash(inVenv(install), clone))
    installed = check(bash(inVenv("pip list --format=freeze"), clone)).stdout.lower()
    assert "mypy" not in installed and "ruff" not in installed and "hatch" not in installed
    (clone / ".git").mkdir(exist_ok=True)
    (clone / ".git" / "config").write_text("[core]\n")
    port = freePort()
    serve = serve.replace("tcp:8080", f"tcp:{port}:interface=127.0.0.1")
    process = subprocess.Popen(
        ["bash", "-c", inVenv(f"exec {serve}")],
        cwd=clone,
        env={**_env(), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if f"on http://127.0.0.1:{port}/" in line:
                break
        else:
            raise AssertionError("the server did not start")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/README.md")
        response = conn.getresponse()
        assert response.status == 200
        assert response.read() == (clone / "README.md").read_bytes()
        conn.request("GET", "/.git/config")
        assert conn.getresponse().status == 404
        conn.close()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
