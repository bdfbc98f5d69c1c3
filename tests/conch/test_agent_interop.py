"""The SSH agent against OpenSSH: glisten's client against ``ssh-agent``, ``ssh-add`` and
``ssh`` against glisten's agent, and logging in through an agent."""

from __future__ import annotations

import getpass
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from glisten.conch.client.knownhosts import KnownHostsFile
from glisten.conch.endpoints import SSHCommandClientEndpoint
from glisten.conch.ssh import agent
from glisten.conch.ssh._ssh._wire import Reader
from glisten.conch.ssh.keys import Key
from glisten.internet.endpoints import UNIXClientEndpoint
from glisten.internet.protocol import Factory

from .conftest import glistenSsh, requireBinary, runSshd, sshKeygen
from .test_openssh_server import _Collect, _run, _YesUI

pytestmark = pytest.mark.interop

AGENT_SERVER = """
import sys
from glisten.conch.ssh.agent import SSHAgentServer
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import Factory

reactor = EPollReactor()
factory = Factory.forProtocol(SSHAgentServer)
factory.keys = {}
reactor.listenUNIX(sys.argv[1], factory, mode=0o600)
print("ready", flush=True)
reactor.run()
"""


@pytest.fixture
def sshAgent(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """OpenSSH's ssh-agent in the foreground on a socket of its own."""
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        [requireBinary("ssh-agent"), "-D", "-a", str(sock)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("SSH_AUTH_SOCK=")
    env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
    try:
        yield {"sock": sock, "env": env}
    finally:
        proc.terminate()
        proc.wait(10)


@contextmanager
def _agentProcess(tmp_path: Path, source: str, sock: Path, *args: str) -> Iterator[None]:
    """Run an agent script (``source``) listening on ``sock`` until the block ends."""
    script = tmp_path / f"{sock.stem}.py"
    script.write_text(source)
    proc = subprocess.Popen([sys.executable, str(script), str(sock), *args], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == b"ready"
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def glistenAgent(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sock = tmp_path / "glisten-agent.sock"
    with _agentProcess(tmp_path, AGENT_SERVER, sock):
        yield {"sock": sock, "env": dict(os.environ, SSH_AUTH_SOCK=str(sock))}


def test_clientAgainstSshAgent(sshAgent: dict[str, Any], tmp_path: Path) -> None:
    ed = sshKeygen(tmp_path / "ed", "ed25519")
    rsa = sshKeygen(tmp_path / "rsa", "rsa", 2048)
    for key in (ed, rsa):
        subprocess.run(["ssh-add", "-q", str(key)], env=sshAgent["env"], check=True)
    added = Key.generate("ecdsa", 256)

    async def main(reactor: Any) -> Any:
        endpoint = UNIXClientEndpoint(reactor, str(sshAgent["sock"]))
        client = await endpoint.connect(Factory.forProtocol(agent.SSHAgentClient))
        identities = await client.requestIdentities()
        rsaKey = Key.fromFile(str(rsa) + ".pub")
        sigs = {
            alg: await client.signData(rsaKey.blob(), b"to sign", agent.signatureFlags(alg))
            for alg in (b"rsa-sha2-256", b"rsa-sha2-512")
        }
        edSig = await client.signData(Key.fromFile(str(ed) + ".pub").blob(), b"to sign")
        await client.addIdentity(added.privateBlob(), b"from glisten")
        client.transport.loseConnection()
        return identities, sigs, edSig

    identities, sigs, edSig = _run(main)
    blobs = [b for b, _ in identities]
    assert Key.fromFile(str(ed) + ".pub").blob() in blobs
    assert Key.fromFile(str(rsa) + ".pub").blob() in blobs
    rsaKey = Key.fromFile(str(rsa) + ".pub")
    for alg, sig in sigs.items():
        assert Reader(sig).string() == alg
        assert rsaKey.verify(sig, b"to sign")
    assert Key.fromFile(str(ed) + ".pub").verify(edSig, b"to sign")
    listed = subprocess.run(
        ["ssh-add", "-l"], env=sshAgent["env"], capture_output=True, text=True, check=True
    ).stdout
    assert "from glisten" in listed
    assert added.fingerprint("sha256-base64") in listed


def test_sshAddAndSshAgainstGlistenAgent(
    glistenAgent: dict[str, Any], glistenServer: dict[str, Any]
) -> None:
    env = glistenAgent["env"]
    assert glistenAgent["sock"].stat().st_mode & 0o777 == 0o600
    for key in (glistenServer["rsaKey"], glistenServer["key"]):
        subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True)
    listed = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True).stdout
    assert "(RSA)" in listed and "(ED25519)" in listed
    # ssh logs in with the RSA key through glisten's agent (an rsa-sha2 signature).
    subprocess.run(["ssh-add", "-q", "-d", str(glistenServer["key"])], env=env, check=True)
    out = subprocess.run(
        [
            requireBinary("ssh"),
            "-p",
            str(glistenServer["port"]),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            f"IdentityAgent={glistenAgent['sock']}",
            "-o",
            "IdentityFile=none",
            "root@127.0.0.1",
            "echo via-agent",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout == "via-agent\n", out.stderr
    subprocess.run(["ssh-add", "-D"], env=env, check=True, capture_output=True)
    listed = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True)
    assert listed.returncode == 1


def test_endpointLogsInThroughAnAgent(
    sshAgent: dict[str, Any], glistenServer: dict[str, Any]
) -> None:
    subprocess.run(["ssh-add", "-q", str(glistenServer["rsaKey"])], env=sshAgent["env"], check=True)

    async def main(reactor: Any) -> bytes:
        endpoint = SSHCommandClientEndpoint.newConnection(
            reactor,
            b"echo agent-login",
            b"root",
            b"127.0.0.1",
            glistenServer["port"],
            agentEndpoint=UNIXClientEndpoint(reactor, str(sshAgent["sock"])),
            knownHosts=KnownHostsFile(None),
            ui=_YesUI(),
        )
        proto = await endpoint.connect(Factory.forProtocol(_Collect))
        await proto.done
        return proto.data

    assert _run(main) == b"agent-login\n"


CONFIRMING_AGENT = """
import os, sys
from glisten.conch.ssh.agent import SSHAgentServer
from glisten.internet.epollreactor import EPollReactor
from glisten.internet.protocol import Factory

reactor = EPollReactor()
factory = Factory.forProtocol(SSHAgentServer)
factory.keys = {}
factory.reactor = reactor
# Signatures of ssh-add -c keys are allowed while this file exists.
factory.confirmSignature = lambda key, comment: os.path.exists(sys.argv[2])
reactor.listenUNIX(sys.argv[1], factory, mode=0o600)
print("ready", flush=True)
reactor.run()
"""


@pytest.fixture
def confirmingAgent(tmp_path: Path) -> Iterator[dict[str, Any]]:
    sock = tmp_path / "confirming.sock"
    allow = tmp_path / "allow"
    askpass = tmp_path / "askpass"
    askpass.write_text('#!/bin/sh\ncat "$(dirname "$0")/passphrase"\n')
    askpass.chmod(0o700)
    env = dict(
        os.environ, SSH_AUTH_SOCK=str(sock), SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force"
    )
    with _agentProcess(tmp_path, CONFIRMING_AGENT, sock, str(allow)):
        yield {"sock": sock, "env": env, "allow": allow, "passphrase": tmp_path / "passphrase"}


def _sshVia(agentSock: Path, server: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [requireBinary("ssh"), "-p", str(server["port"]), "-o", f"IdentityAgent={agentSock}"]
        + ["-o", "IdentityFile=none", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes"]
        + ["-o", "UserKnownHostsFile=/dev/null", "root@127.0.0.1", "echo via-agent"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _sshAdd(agentInfo: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [requireBinary("ssh-add"), *args],
        env=agentInfo["env"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_sshAddConfirmAndLifetime(
    confirmingAgent: dict[str, Any], glistenServer: dict[str, Any]
) -> None:
    """``ssh-add -c``: the key signs only when the confirmation says yes; ``-t``: accepted."""
    added = _sshAdd(confirmingAgent, "-c", str(glistenServer["key"]))
    assert added.returncode == 0, added.stderr
    assert "confirm each use" in added.stderr
    timed = _sshAdd(confirmingAgent, "-t", "3600", str(glistenServer["ecKey"]))
    assert timed.returncode == 0 and "Lifetime set to 3600 seconds" in timed.stderr
    listed = _sshAdd(confirmingAgent, "-l").stdout
    assert "(ED25519)" in listed and "(ECDSA)" in listed
    # The confirmation says no: the ED25519 key cannot sign, and the ECDSA key is removed so
    # that it does not log in instead.
    assert _sshAdd(confirmingAgent, "-d", str(glistenServer["ecKey"])).returncode == 0
    refused = _sshVia(confirmingAgent["sock"], glistenServer)
    assert refused.returncode != 0 and "via-agent" not in refused.stdout
    confirmingAgent["allow"].write_text("")
    allowed = _sshVia(confirmingAgent["sock"], glistenServer)
    assert allowed.stdout == "via-agent\n", allowed.stderr


def test_sshAddLockAndUnlock(
    confirmingAgent: dict[str, Any], glistenServer: dict[str, Any]
) -> None:
    assert _sshAdd(confirmingAgent, str(glistenServer["key"])).returncode == 0
    confirmingAgent["passphrase"].write_text("open sesame\n")
    locked = _sshAdd(confirmingAgent, "-x")
    assert locked.returncode == 0, locked.stderr
    assert _sshAdd(confirmingAgent, "-l").returncode == 1
    assert _sshVia(confirmingAgent["sock"], glistenServer).returncode != 0
    confirmingAgent["passphrase"].write_text("open sesamE\n")
    assert _sshAdd(confirmingAgent, "-X").returncode != 0
    confirmingAgent["passphrase"].write_text("open sesame\n")
    unlocked = _sshAdd(confirmingAgent, "-X")
    assert unlocked.returncode == 0, unlocked.stderr
    assert "(ED25519)" in _sshAdd(confirmingAgent, "-l").stdout
    assert _sshVia(confirmingAgent["sock"], glistenServer).stdout == "via-agent\n"


def _sshLogin(agentSock: Path, port: int, knownHosts: Path) -> subprocess.CompletedProcess[str]:
    """``ssh`` to 127.0.0.1 as this user with only the agent's keys, host keys checked."""
    return subprocess.run(
        [requireBinary("ssh"), "-p", str(port), "-o", f"IdentityAgent={agentSock}"]
        + ["-o", "IdentityFile=none", "-o", "BatchMode=yes"]
        + ["-o", f"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes"]
        + [f"{getpass.getuser()}@127.0.0.1", "echo via-agent"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _publicLine(key: Path) -> str:
    return Path(str(key) + ".pub").read_text().split(" #")[0].strip()


def test_sshAddDestinationConstraints(
    glistenAgent: dict[str, Any], opensshServer: dict[str, Any], tmp_path: Path
) -> None:
    """
    ``ssh-add -h`` keys in glisten's agent: ``ssh`` binds its session
    (``session-bind@openssh.com``) and the key logs in only to the listed host as the
    listed user.
    """
    user = getpass.getuser()
    hostKeys = [_publicLine(k) for k in opensshServer["hostKeys"]]
    other = sshKeygen(tmp_path / "other_host", "ed25519")
    addHosts = tmp_path / "hosts_for_ssh_add"
    addHosts.write_text(
        "".join(f"127.0.0.1 {line}\n" for line in hostKeys)
        + f"other.example {_publicLine(other)}\n"
    )
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"[127.0.0.1]:{opensshServer['port']} {k}\n" for k in hostKeys))
    key = str(opensshServer["userKeys"]["ed25519"])
    for destination in ("other.example", f"nobody-{user}@127.0.0.1"):
        added = _sshAdd(glistenAgent, "-H", str(addHosts), "-h", destination, key)
        # Accepted (an agent without destination constraints refuses such a key).
        assert added.returncode == 0, added.stderr
        # Listed here (a local use), but no login to this host or as this user.
        assert "(ED25519)" in _sshAdd(glistenAgent, "-l").stdout
        refused = _sshLogin(glistenAgent["sock"], opensshServer["port"], known)
        assert refused.returncode != 0 and "via-agent" not in refused.stdout
        assert _sshAdd(glistenAgent, "-D").returncode == 0
    added = _sshAdd(glistenAgent, "-H", str(addHosts), "-h", f"{user}@127.0.0.1", key)
    assert added.returncode == 0, added.stderr
    allowed = _sshLogin(glistenAgent["sock"], opensshServer["port"], known)
    assert allowed.stdout == "via-agent\n", allowed.stderr


def test_sshAddDestinationByHostCertificate(glistenAgent: dict[str, Any], tmp_path: Path) -> None:
    """``ssh-add -h`` for a host known by its CA (``@cert-authority``): sshd's host
    certificate, bound by ``ssh``, must come from that CA and name the host."""
    hostCA = sshKeygen(tmp_path / "host_ca", "ed25519")
    otherCA = sshKeygen(tmp_path / "other_ca", "ed25519")
    hostKey = sshKeygen(tmp_path / "host_ed25519", "ed25519")
    subprocess.run(
        [requireBinary("ssh-keygen"), "-q", "-s", str(hostCA), "-h", "-I", "sshd"]
        + ["-n", "127.0.0.1", str(hostKey) + ".pub"],
        check=True,
        capture_output=True,
    )
    userKey = sshKeygen(tmp_path / "user_ed25519", "ed25519")
    (tmp_path / "authorized_keys").write_text(_publicLine(userKey) + "\n")
    with runSshd(
        tmp_path,
        f"HostKey {hostKey}",
        f"HostCertificate {hostKey}-cert.pub",
        f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}",
        "PasswordAuthentication no",
    ) as port:
        known = tmp_path / "known_hosts"
        known.write_text(f"@cert-authority [127.0.0.1]:{port} {_publicLine(hostCA)}\n")
        for ca, works in ((otherCA, False), (hostCA, True)):
            addHosts = tmp_path / "hosts_for_ssh_add"
            addHosts.write_text(f"@cert-authority 127.0.0.1 {_publicLine(ca)}\n")
            added = _sshAdd(glistenAgent, "-H", str(addHosts), "-h", "127.0.0.1", str(userKey))
            assert added.returncode == 0, added.stderr
            result = _sshLogin(glistenAgent["sock"], port, known)
            assert (result.stdout == "via-agent\n") is works, result.stderr
            assert _sshAdd(glistenAgent, "-D").returncode == 0


def test_destinationConstraintsThroughForwarding(
    glistenAgent: dict[str, Any], opensshServer: dict[str, Any], tmp_path: Path
) -> None:
    """
    Two hops: ``ssh -A`` to ``glisten ssh``, and there ``ssh`` to sshd through the forwarded
    agent. The key goes on to sshd only when ``ssh-add -h "glisten>sshd"`` allowed that hop
    (``ssh`` binds the forwarded connection, the second ``ssh`` binds its login).
    """
    user = getpass.getuser()
    key = opensshServer["userKeys"]["ed25519"]
    (tmp_path / "authorized_keys").write_text(_publicLine(key) + "\n")
    with glistenSsh(
        tmp_path,
        "--authorized-keys",
        str(tmp_path / "authorized_keys"),
        "--allow-agent-forwarding",
    ) as port:
        glistenKeys = [
            _publicLine(k.with_suffix("")) for k in (tmp_path / "hostkeys").glob("*.pub")
        ]
        sshdKeys = [_publicLine(k) for k in opensshServer["hostKeys"]]
        addHosts = tmp_path / "hosts_for_ssh_add"
        addHosts.write_text(
            "".join(f"glisten.test {k}\n" for k in glistenKeys)
            + "".join(f"sshd.test {k}\n" for k in sshdKeys)
        )
        known = tmp_path / "known_hosts"
        known.write_text(
            "".join(f"[127.0.0.1]:{port} {k}\n" for k in glistenKeys)
            + "".join(f"[127.0.0.1]:{opensshServer['port']} {k}\n" for k in sshdKeys)
        )
        options = ["-F", "/dev/null", "-o", "IdentityFile=none", "-o", "BatchMode=yes"]
        options += ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes"]
        inner = shlex.join(
            [requireBinary("ssh"), "-p", str(opensshServer["port"]), *options]
            + [f"{user}@127.0.0.1", "echo second-hop"]
        )

        def outer() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [requireBinary("ssh"), "-A", "-p", str(port), *options]
                + [f"{user}@127.0.0.1", inner],
                env=glistenAgent["env"],
                capture_output=True,
                text=True,
                timeout=60,
                stdin=subprocess.DEVNULL,
            )

        hops = [("-h", "glisten.test")]
        for allowed in (False, True):
            args = [arg for hop in hops for arg in hop]
            added = _sshAdd(glistenAgent, "-H", str(addHosts), *args, str(key))
            assert added.returncode == 0, added.stderr
            result = outer()
            assert ("second-hop" in result.stdout) is allowed, result.stderr
            if not allowed:
                # The first hop worked: it was the second login that failed.
                assert "Permission denied" in result.stderr, result.stderr
            assert _sshAdd(glistenAgent, "-D").returncode == 0
            hops.append(("-h", f"glisten.test>{user}@sshd.test"))
