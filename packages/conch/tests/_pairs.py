"""Helpers: run two sans-IO transport machines against each other in memory."""

from __future__ import annotations

from typing import Any

from glisten.conch.ssh._ssh import _events as ev
from glisten.conch.ssh._ssh._limits import Algorithms
from glisten.conch.ssh._ssh._machine import SSHTransportMachine
from glisten.conch.ssh.keys import Key

_HOST_KEYS: dict[str, Key] = {}


def hostKey(kind: str = "ed25519", bits: int | None = None) -> Key:
    """A host key, made once per kind for the whole test run."""
    name = f"{kind}{bits}"
    if name not in _HOST_KEYS:
        _HOST_KEYS[name] = Key.generate(kind, bits)
    return _HOST_KEYS[name]


def machines(
    serverAlgorithms: Algorithms | None = None,
    clientAlgorithms: Algorithms | None = None,
    hostKeys: dict[bytes, Key] | None = None,
) -> tuple[SSHTransportMachine, SSHTransportMachine]:
    """A client and a server machine, started."""
    keys = hostKeys or {b"ssh-ed25519": hostKey()}
    server = SSHTransportMachine(
        False, keys, algorithms=serverAlgorithms, serverSigAlgs=(b"ssh-ed25519",)
    )
    client = SSHTransportMachine(True, algorithms=clientAlgorithms)
    client.start()
    server.start()
    return client, server


def pump(
    client: SSHTransportMachine, server: SSHTransportMachine, byteAtATime: bool = False
) -> tuple[list[Any], list[Any]]:
    """Carry bytes both ways until both are quiet; accept the host key on the way."""
    clientEvents: list[Any] = []
    serverEvents: list[Any] = []
    for _ in range(50):
        toServer = client.dataToSend()
        toClient = server.dataToSend()
        if not toServer and not toClient:
            break
        for chunk in _chunks(toServer, byteAtATime):
            serverEvents += server.receiveData(chunk)
        for chunk in _chunks(toClient, byteAtATime):
            for e in client.receiveData(chunk):
                clientEvents.append(e)
                if isinstance(e, ev.HostKeyReceived):
                    clientEvents += client.acceptHostKey()
    return clientEvents, serverEvents


def _chunks(data: bytes, byteAtATime: bool) -> list[bytes]:
    if not byteAtATime:
        return [data] if data else []
    return [data[i : i + 1] for i in range(len(data))]
