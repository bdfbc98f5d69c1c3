"""The documentation: every howto program runs and prints what its page says, and the whole
site (guides plus the API reference from every package's docstrings) builds without a warning."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples"

EXPECTED = {
    "tcp.py": "HELLO\nGLISTEN\n",
    "udp.py": "echo: ping\n",
    "tls.py": (
        "with a client certificate: hello over TLS\n"
        "without a client certificate: refused by the server\n"
    ),
    "web_site.py": (
        "200 /files/note.txt a static file\n"
        "200 /hello Hello from a Resource\n"
        "200 /app/some/where Hello from WSGI at /some/where\n"
    ),
    "web_pages.py": (
        '401 Digest realm="example.org"\n'
        "200 <p>Hello, <b>alice</b>. You have\n&lt;3&gt; messages.</p>\n"
        "add(2, 3) = 5\n"
    ),
    "dns_server.py": "www.example.com -> 192.0.2.80\nwww.example.org -> 198.51.100.7\n",
    "testing.py": "...",
    "asyncio_interop.py": "from a Deferred\nfrom asyncio\n",
    "ssh.py": "add 2 3 = 5\nmul 6 7 = 42\ndivide 1 0: exit status 2\n",
    "ssh_conversation.py": (
        "Two factors today.\nPassword: (hidden)\nCode: (shown)\nPIN: (hidden)\nlogged in\n"
    ),
    "ssh_certificates.py": (
        "alice logged in with certificate 'alice@laptop' (serial 7)\nexpired certificate: refused\n"
    ),
    "smtp.py": (
        "accepted for 1 recipient(s)\nrefused: 550\n"
        "in alice's maildir: 'lunch?' from bob@example.com\n"
    ),
    "mailbox.py": (
        "pop3: 2 messages\npop3: first is 'lunch?'\nimap: INBOX has 1 message(s)\n"
        "imap: 1 is 'the report'\nimap: 1 is seen: True\n"
    ),
    "workers.py": (
        "2 workers ready\nGET 200 hello from a worker\nreloaded; GET 200 hello from a worker\n"
        "stopped with status 0\n"
    ),
    "websockets.py": (
        "alice heard: bob is here\nalice heard: hello, bob\n"
        "bob heard: bob is here / hello, bob\nmembers left: 0\n"
    ),
    "irc_server.py": (
        "alice sees the topic of #lobby: Welcome to the lobby\n"
        "bob sees the topic of #lobby: Welcome to the lobby\n"
        "alice heard <bob> hello, alice\n"
        "bob heard <alice> hi bob, just between us\n"
        "bob cannot join #random: no such channel\n"
        "a wrong password: refused\n"
    ),
    "manhole.py": (
        "bob got: Hello, bob!\n"
        ">>> greeter.served\n1\n"
        ">>> greeter.greeting = 'Welcome'\n"
        ">>> from glisten.internet import reactor, task\n"
        ">>> await task.deferLater(reactor, 0.1, lambda: 'waited for a Deferred')\n"
        "'waited for a Deferred'\n"
        "carol got: Welcome, carol!\n"
    ),
    "tun.py": (
        "ready glisten0\nping: answers received: 2\nudp: echo: hello\necho requests answered: 2\n"
        "ready glisten1\nping over ARP: answers received: 2\nping over NDP: answers received: 2\n"
        "the kernel learned our hardware address: True\n"
    ),
}

#: Programs that need root and a network namespace of their own (the test makes one).
IN_NAMESPACE = {"tun.py"}

#: Programs that need a real peer (a server to log in to): the named test runs them.
RUN_ELSEWHERE = {"xmpp_client.py": ROOT / "tests" / "words" / "test_xmpp_howto.py"}


def test_everyHowtoProgramIsChecked() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED) | set(RUN_ELSEWHERE)
    pages = {p.stem for p in (DOCS / "howto").glob("*.rst")}
    assert {Path(name).stem for name in EXPECTED} <= pages
    for name, test in RUN_ELSEWHERE.items():
        assert f'"{name}"' in test.read_text(), (name, test)


def test_everyIncludedProgramRunsInATest() -> None:
    """A page may show a program from ``examples/`` (run by tests/examples) or
    ``docs/examples/`` (run here); nothing else, so no page shows code that no test runs."""
    checkedExamples = (ROOT / "tests" / "examples" / "test_examples.py").read_text()
    for page in (DOCS / "howto").glob("*.rst"):
        for included in re.findall(r"literalinclude:: (\S+\.py)", page.read_text()):
            path = (page.parent / included).resolve()
            assert path.exists(), (page.name, included)
            if path.parent == EXAMPLES:
                assert path.name in EXPECTED or path.name in RUN_ELSEWHERE, (page.name, included)
            else:
                assert path.parent == ROOT / "examples", (page.name, included)
                assert f'"{path.name}"' in checkedExamples, (page.name, included)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.interop) if n in IN_NAMESPACE else n
        for n in sorted(EXPECTED)
    ],
)
def test_howtoProgram(name: str) -> None:
    if name == "tls.py" and shutil.which("openssl") is None:
        pytest.skip("the TLS howto makes its certificates with the openssl command")
    command = [sys.executable, str(EXAMPLES / name)]
    if name in IN_NAMESPACE:
        result = _inNamespace(command)
    else:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(EXPECTED[name])


def _unavailable(reason: str) -> None:
    """As tests/pair does: skip here, but fail in CI, where root and namespaces exist."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; the namespace howtos must run in CI")
    pytest.skip(reason)


def _inNamespace(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a fresh network namespace (only ``lo``), deleted afterwards."""
    ip = shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")
    if os.geteuid() != 0 or ip is None or not os.path.exists("/dev/net/tun"):
        _unavailable("this howto needs root, the ip command and /dev/net/tun")
    assert ip is not None
    if shutil.which("ping") is None:
        _unavailable("this howto runs ping")
    name = f"glisten-docs-{os.getpid()}-{os.urandom(3).hex()}"
    made = subprocess.run([ip, "netns", "add", name], capture_output=True, text=True)
    if made.returncode != 0:
        _unavailable(f"ip netns add failed: {made.stderr.strip()}")
    try:
        return subprocess.run(
            [ip, "netns", "exec", name, *command], capture_output=True, text=True, timeout=120
        )
    finally:
        subprocess.run([ip, "netns", "del", name], capture_output=True)


@pytest.mark.timeout(600)
def test_docsBuildWithoutWarnings(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    api = tmp_path / "html" / "api"
    assert (api / "glisten.internet.defer.html").exists()
    # Standard-library references are checked against Python's inventory, which CI installs.
    inventory = Path(f"/usr/share/doc/python3.{sys.version_info.minor}/html/objects.inv")
    if os.environ.get("CI") == "true":
        assert inventory.exists(), "CI installs python3-doc for the docs build"
    if inventory.exists():
        assert (
            "https://docs.python.org/3/library/unittest.html#unittest.TestCase"
            in (api / "glisten.trial.unittest.html").read_text()
        )
    # Interfaces, which autodoc skips, are documented too (conf.interfacesOf).
    assert (
        'id="glisten.internet.interfaces.IReactorTCP.listenTCP"'
        in (api / "glisten.internet.interfaces.html").read_text()
    )


def test_everyPackageReadmeLinksToItsDocs() -> None:
    for readme in sorted((ROOT / "packages").glob("*/README.md")):
        text = readme.read_text()
        links = re.findall(r"\]\((\.\./\.\./docs/[^)]+)\)", text)
        assert links, f"{readme} links to no page of the documentation"
        for link in links:
            assert (readme.parent / link).resolve().exists(), (readme, link)
        assert f"api/glisten-{readme.parent.name}.html" in text, readme


def test_everyPackageReadmeLinksEveryHowtoOfThePackage() -> None:
    """A howto belongs to each protocol package its programs import (core when they import
    none), and that package's README lists it, so a reader of the README finds every task."""
    packages = {p.name for p in (ROOT / "packages").iterdir() if (p / "README.md").exists()}
    for page in sorted((DOCS / "howto").glob("*.rst")):
        if page.stem == "index":
            continue
        owners: set[str] = set()
        for included in re.findall(r"literalinclude:: (\S+\.py)", page.read_text()):
            source = (page.parent / included).resolve().read_text()
            owners |= set(re.findall(r"(?:from|import) glisten\.(\w+)", source)) & packages
        owners = owners or {"core"}
        for owner in sorted(owners):
            readme = ROOT / "packages" / owner / "README.md"
            assert f"(../../docs/howto/{page.name})" in readme.read_text(), (readme, page.name)


#: Serves the SSH howto's realm on a free port; prints the port once listening.
SSH_SERVER = r"""
import importlib.util, sys
from glisten.conch.checkers import InMemorySSHKeyDB, SSHPublicKeyChecker
from glisten.conch.ssh.factory import SSHFactory
from glisten.conch.ssh.keys import Key
from glisten.cred.portal import Portal
from glisten.internet import reactor

spec = importlib.util.spec_from_file_location("howto", sys.argv[1])
howto = importlib.util.module_from_spec(spec)
spec.loader.exec_module(howto)
userKey = Key.fromFile(sys.argv[2])
portal = Portal(howto.Realm(reactor))
portal.registerChecker(SSHPublicKeyChecker(InMemorySSHKeyDB({b"alice": [userKey.public()]})))
server = SSHFactory()
server.privateKeys = {b"ssh-ed25519": Key.generate("ed25519")}
server.portal = portal
print(reactor.listenTCP(0, server, interface="127.0.0.1").getHost().port, flush=True)
reactor.run()
"""


@pytest.mark.interop
def test_sshHowtoShellWithOpenSSH(tmp_path: Path) -> None:
    """The howto says its shell works from ``ssh``: OpenSSH's client, without a terminal."""
    from .conftest import requireBinary, sshUserKey

    ssh = requireBinary("ssh")
    key = sshUserKey(tmp_path / "id")
    server = subprocess.Popen(
        [sys.executable, "-c", SSH_SERVER, str(EXAMPLES / "ssh.py"), str(key)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.stderr else port
        command = [ssh, "-T", "-i", str(key), "-p", port, "-o", "BatchMode=yes"]
        command += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        command += ["-o", "LogLevel=error", "alice@127.0.0.1"]
        shell = subprocess.run(
            command,
            input="add 1 2\nmul 3 4\nfoo\nquit\nadd 9 9\n",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (shell.returncode, shell.stdout) == (
            0,
            "calc> 3\ncalc> 12\ncalc> usage: add|mul NUMBER... or quit\ncalc> ",
        ), shell.stderr
        failed = subprocess.run(
            [*command, "divide", "1"], capture_output=True, text=True, timeout=60
        )
        assert failed.returncode == 2
    finally:
        server.kill()
        server.communicate(timeout=10)
