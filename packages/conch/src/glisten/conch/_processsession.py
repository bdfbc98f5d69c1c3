"""
Sessions that run real processes as the server's own user: what ``glisten ssh`` serves.

Commands run through the user's shell (``$SHELL -c``), shells on a real pseudo-terminal when the
client asked for one (``reactor.spawnProcess(usePTY=True)``), with a small environment plus the
client's ``env`` requests that the allow-list admits.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import struct
import termios
from collections.abc import Iterable
from typing import Any

import attrs
from zope.interface import implementer

from glisten.conch.avatar import ConchUser
from glisten.conch.interfaces import ISession, ISessionSetEnv
from glisten.conch.ssh.forwarding import AgentForwarding, ForwardingPolicy, ForwardingUser
from glisten.conch.ssh.session import SSHSession
from glisten.conch.ssh.ttymodes import applyModes
from glisten.python.components import registerAdapter

#: Environment variables a client may set by default (as OpenSSH's ``AcceptEnv LANG LC_*``).
DEFAULT_ENV_ALLOW = ("LANG", "LC_*")
_MAX_ENV = 64


def _allowed(name: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        if pattern.endswith("*") and name.startswith(pattern[:-1]):
            return True
        if name == pattern:
            return True
    return False


@attrs.frozen
class _KeyLimitedPolicy(ForwardingPolicy):
    """The server's policy, with ``direct-tcpip`` also limited by a key's ``permitopen=`` and
    ``tcpip-forward`` by its ``permitlisten=``."""

    entry: Any = None

    def allowConnect(self, host: str, port: int) -> bool:
        return super().allowConnect(host, port) and self.entry.allowConnect(host, port)

    def allowListen(self, host: str, port: int) -> bool:
        return super().allowListen(host, port) and self.entry.allowListen(host, port)


class ProcessAvatar(ForwardingUser, ConchUser):
    """
    A user whose sessions run processes.

    :param username: the name the client logged in with.
    :param reactor: the reactor to spawn processes with.
    :param command: a fixed command run instead of whatever the client asks for (the client's
        command is passed in ``SSH_ORIGINAL_COMMAND``); a key's ``command=`` option wins.
    :param envAllow: patterns (``LC_*``) of variables ``env`` requests and the key's
        ``environment=`` options may set.
    :param forwardingPolicy: the port, socket and agent forwarding allowed (none by default);
        a key's ``no-port-forwarding``, ``no-agent-forwarding``, ``restrict``, ``permitopen=``
        or ``permitlisten=`` (or a certificate without the ``permit-*`` extensions) narrows it.
    """

    def __init__(
        self,
        username: bytes,
        reactor: Any,
        command: str | None = None,
        envAllow: Iterable[str] = DEFAULT_ENV_ALLOW,
        forwardingPolicy: ForwardingPolicy | None = None,
    ) -> None:
        super().__init__()
        self.username = username
        self.reactor = reactor
        self.command = command
        self.envAllow = tuple(envAllow)
        self.channelLookup[b"session"] = SSHSession
        policy = forwardingPolicy or ForwardingPolicy()
        #: Terminals refused (the key's ``no-pty`` or ``restrict`` option).
        self.noPty = False
        #: The key's ``environment=`` variables that the allow-list admits.
        self.keyEnvironment: dict[str, str] = {}
        entry = getattr(username, "authorizedKey", None)
        if entry is not None:
            self.noPty = entry.noPty
            for name, value in entry.environment:
                text = name.decode("ascii")
                if _allowed(text, self.envAllow) and b"\x00" not in value:
                    self.keyEnvironment[text] = value.decode("utf-8", "replace")
            if entry.command is not None:
                self.command = entry.command.decode("utf-8", "replace")
            if entry.noPortForwarding:
                policy = ForwardingPolicy(agent=policy.agent)
            if entry.noAgentForwarding:
                policy = attrs.evolve(policy, agent=False)
            if (
                getattr(entry, "permitOpen", None) is not None
                or getattr(entry, "permitListen", None) is not None
            ):
                policy = _KeyLimitedPolicy(**attrs.asdict(policy, recurse=False), entry=entry)
        self.forwardingPolicy = policy
        self.enableForwarding()


@implementer(ISession, ISessionSetEnv)
class ProcessSession:
    """The :class:`~glisten.conch.interfaces.ISession` of a :class:`ProcessAvatar`."""

    def __init__(self, avatar: ProcessAvatar) -> None:
        self.avatar = avatar
        self.pty: tuple[bytes, tuple[int, int, int, int]] | None = None
        #: The client's terminal modes, ``(opcode, value)`` pairs set on the PTY.
        self.ptyModes: list[tuple[int, int]] = []
        self.env: dict[str, str] = {}
        self.process: Any = None
        self.agentForwarding: AgentForwarding | None = None

    def forwardAgent(self, channel: Any) -> bool:
        """
        ``auth-agent-req@openssh.com``: serve a socket for the commands to come, if the
        policy allows it.
        """
        if not self.avatar.forwardingPolicy.agent or self.agentForwarding is not None:
            return False
        self.agentForwarding = AgentForwarding(channel.conn, self.avatar.reactor)
        self.env["SSH_AUTH_SOCK"] = self.agentForwarding.path
        return True

    def _baseEnv(self) -> dict[str, str]:
        entry = pwd.getpwuid(os.getuid())
        env = {
            "HOME": entry.pw_dir,
            "USER": entry.pw_name,
            "LOGNAME": entry.pw_name,
            "SHELL": self._shell(),
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        }
        if self.pty is not None:
            env["TERM"] = self.pty[0].decode("ascii", "replace")
        env.update(self.env)
        # The key's own variables (set by whoever wrote authorized_keys) win over the client's.
        env.update(self.avatar.keyEnvironment)
        return env

    def _shell(self) -> str:
        shell = pwd.getpwuid(os.getuid()).pw_shell
        return shell if shell and os.path.exists(shell) else "/bin/sh"

    def getPty(self, term: bytes, windowSize: tuple[int, int, int, int], modes: Any) -> None:
        if self.avatar.noPty:
            raise ValueError("terminals are not allowed for this key")
        self.pty = (term, windowSize)
        self.ptyModes = list(modes or [])

    def setEnv(self, name: bytes, value: bytes) -> None:
        text = name.decode("utf-8")
        if not _allowed(text, self.avatar.envAllow) or len(self.env) >= _MAX_ENV:
            raise ValueError("environment variable not allowed")
        if "\x00" in text or b"\x00" in value or "=" in text:
            raise ValueError("bad environment variable")
        self.env[text] = value.decode("utf-8", "replace")

    def openShell(self, proto: Any) -> None:
        shell = self._shell()
        if self.avatar.command is not None:
            self._spawn(proto, [shell, "-c", self.avatar.command], {})
        else:
            self._spawn(proto, [shell, "-l"] if self.pty else [shell], {})

    def execCommand(self, proto: Any, command: bytes) -> None:
        text = command.decode("utf-8", "replace")
        shell = self._shell()
        if self.avatar.command is not None:
            self._spawn(proto, [shell, "-c", self.avatar.command], {"SSH_ORIGINAL_COMMAND": text})
        else:
            self._spawn(proto, [shell, "-c", text], {})

    def _spawn(self, proto: Any, args: list[str], extraEnv: dict[str, str]) -> None:
        env = self._baseEnv()
        env.update(extraEnv)
        home = env["HOME"] if os.path.isdir(env["HOME"]) else "/"
        self.process = self.avatar.reactor.spawnProcess(
            proto, args[0], args, env, path=home, usePTY=self.pty is not None
        )
        if self.pty is not None:
            self._setWindowSize(self.pty[1])
            self._setModes(self.ptyModes)

    def _setModes(self, modes: list[tuple[int, int]]) -> None:
        """The client's terminal modes (erase character, flags...) on the new PTY."""
        pipe = getattr(self.process, "pipes", {}).get(1)
        if pipe is None or not modes:
            return
        try:
            fd = pipe.fileno()
            termios.tcsetattr(fd, termios.TCSANOW, applyModes(termios.tcgetattr(fd), modes))
        except (OSError, termios.error, ValueError):
            pass

    def _setWindowSize(self, size: tuple[int, int, int, int]) -> None:
        pipe = getattr(self.process, "pipes", {}).get(1)
        if pipe is None:
            return
        rows, cols, xpixel, ypixel = size
        try:
            fcntl.ioctl(
                pipe.fileno(),
                termios.TIOCSWINSZ,
                struct.pack("4H", rows & 0xFFFF, cols & 0xFFFF, xpixel & 0xFFFF, ypixel & 0xFFFF),
            )
        except OSError:
            pass

    def windowChanged(self, newWindowSize: tuple[int, int, int, int]) -> None:
        if self.pty is not None:
            self.pty = (self.pty[0], newWindowSize)
            if self.process is not None:
                self._setWindowSize(newWindowSize)

    def eofReceived(self) -> None:
        if self.process is not None:
            self.process.closeStdin()

    def closed(self) -> None:
        if self.agentForwarding is not None:
            self.agentForwarding.stop()
            self.agentForwarding = None
        if self.process is not None:
            try:
                self.process.signalProcess("HUP")
            except Exception:
                pass
            self.process = None


registerAdapter(ProcessSession, ProcessAvatar, ISession)
