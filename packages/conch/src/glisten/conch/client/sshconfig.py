"""
A subset of OpenSSH's client configuration (``~/.ssh/config``, ``ssh -o``, ``ssh -F``), for
``glisten conch`` and ``glisten cftp``.

Understood: ``Host`` blocks (patterns with ``*`` and ``?``, ``!`` negation, several patterns a
line), ``Match all``, and the keywords ``HostName``, ``Port``, ``User``, ``IdentityFile``,
``UserKnownHostsFile``, ``StrictHostKeyChecking`` (``yes``, ``ask``, ``accept-new``, ``no``)
``BatchMode``, ``EscapeChar``, ``SendEnv``, ``SetEnv`` and ``StreamLocalBindUnlink``. As in OpenSSH the first value found for a keyword wins (``-o`` options come
before the file), ``IdentityFile`` and ``SendEnv`` lines add up (``SendEnv -PATTERN`` takes
names listed so far away again), and only the first ``SetEnv`` line applies. Other keywords are ignored; ``Include``
and other ``Match`` criteria are reported in :attr:`SSHConfig.warnings` and their blocks never
apply. Paths take ``~`` and the ``%d %h %p %r %u %%`` tokens.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
from collections.abc import Mapping

import attrs

from glisten.conch.client._escapes import parseEscapeChar
from glisten.conch.ssh._ssh._wildcards import wildcard

__all__ = ["ConfigError", "HostConfig", "Limits", "SSHConfig"]


class ConfigError(ValueError):
    """A configuration line is malformed; the message names the line, not its text."""


@attrs.frozen
class Limits:
    """
    :ivar maxBytes: the largest configuration file read.
    :ivar maxLineLength: the longest line.
    :ivar maxPatterns: host patterns on one ``Host`` line.
    """

    maxBytes: int = 1024 * 1024
    maxLineLength: int = 4096
    maxPatterns: int = 256


@attrs.frozen
class HostConfig:
    """
    The settings that apply to one host (``None`` or empty: not set).

    :ivar strictHostKeyChecking: ``"yes"``, ``"ask"``, ``"accept-new"`` or ``"no"``.
    :ivar escapeChar: ``EscapeChar`` as written (``none``, one character or ``^X``).
    :ivar sendEnv: ``SendEnv`` patterns of local environment variable names to send.
    :ivar setEnv: ``SetEnv``'s ``(name, value)`` pairs to send.
    """

    hostName: str | None = None
    port: int | None = None
    user: str | None = None
    identityFiles: tuple[str, ...] = ()
    userKnownHostsFiles: tuple[str, ...] = ()
    strictHostKeyChecking: str | None = None
    batchMode: bool | None = None
    escapeChar: str | None = None
    sendEnv: tuple[str, ...] = ()
    setEnv: tuple[tuple[str, str], ...] = ()
    streamLocalBindUnlink: bool | None = None

    def environment(self, environ: Mapping[str, str]) -> list[tuple[str, str]]:
        """
        The variables to send in ``env`` requests, as ``ssh`` does: those of ``environ``
        whose names match a ``SendEnv`` pattern (case matters), then the ``SetEnv`` ones.
        """
        patterns = [_pattern(p, caseSensitive=True) for p in self.sendEnv]
        sent = [
            (name, value) for name, value in environ.items() if any(p.match(name) for p in patterns)
        ]
        return sent + list(self.setEnv)


_STRICT = {
    "yes": "yes",
    "true": "yes",
    "ask": "ask",
    "accept-new": "accept-new",
    "no": "no",
    "off": "no",
    "false": "no",
}
#: Keywords taking several values on one line.
_MANY_VALUES = frozenset({"userknownhostsfile", "sendenv", "setenv"})
_BOOLEAN = {"yes": True, "true": True, "no": False, "false": False}
_KNOWN = frozenset(
    {
        "hostname",
        "port",
        "user",
        "identityfile",
        "userknownhostsfile",
        "stricthostkeychecking",
        "batchmode",
        "escapechar",
        "sendenv",
        "setenv",
        "streamlocalbindunlink",
    }
)


def _pattern(pattern: str, caseSensitive: bool = False) -> re.Pattern[str]:
    return wildcard(pattern if caseSensitive else pattern.lower())


@attrs.define(slots=True)
class _Block:
    """A ``Host`` or ``Match`` block: who it applies to and its settings in order."""

    patterns: list[tuple[bool, re.Pattern[str]]] | None
    always: bool = False
    entries: list[tuple[str, tuple[str, ...]]] = attrs.Factory(list)

    def matches(self, host: str) -> bool:
        if self.always:
            return True
        if self.patterns is None:
            return False
        host = host.lower()
        matched = False
        for negated, pattern in self.patterns:
            if pattern.match(host):
                if negated:
                    return False
                matched = True
        return matched


class SSHConfig:
    """
    Parsed configuration: ``-o`` options first, then a file.

    :ivar warnings: what was found and not understood (``Include``, ``Match`` criteria).
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._blocks: list[_Block] = []
        self._options = 0
        self.warnings: list[str] = []

    @classmethod
    def fromString(cls, text: str, limits: Limits | None = None) -> SSHConfig:
        """
        Parse a configuration file's text.

        :raises ConfigError: a malformed line (the file is not used at all, as in ``ssh``).
        """
        config = cls(limits)
        config.addText(text)
        return config

    @classmethod
    def fromPath(cls, path: str, limits: Limits | None = None) -> SSHConfig:
        """
        Parse a configuration file; a missing file is an empty configuration.

        :raises ConfigError: malformed or too large.
        """
        config = cls(limits)
        try:
            with open(path, "rb") as f:
                data = f.read(config.limits.maxBytes + 1)
        except FileNotFoundError:
            return config
        except OSError as e:
            raise ConfigError(f"cannot read {path}: {e.strerror}") from None
        if len(data) > config.limits.maxBytes:
            raise ConfigError(f"{path}: the file is too large")
        config.addText(data.decode("utf-8", "replace"), path)
        return config

    def addOption(self, option: str) -> None:
        """
        An ``-o Keyword=Value`` option: it applies to every host, before the file's lines.

        :raises ConfigError: it is not a setting (``Host`` and ``Match`` are refused).
        """
        block = _Block(None, always=True)
        keyword, value = self._split(option, "-o option")
        if keyword in ("host", "match", "include"):
            raise ConfigError(f"-o option: {keyword} is not allowed here")
        self._entry(block, keyword, value, "-o option")
        # Options come before everything read from files, in the order given.
        self._blocks.insert(self._options, block)
        self._options += 1

    def addText(self, text: str, source: str = "config") -> None:
        """Add a file's lines after what is already there."""
        current = _Block(None, always=True)
        blocks = [current]
        for number, line in enumerate(text.splitlines(), 1):
            where = f"{source} line {number}"
            if len(line) > self.limits.maxLineLength:
                raise ConfigError(f"{where}: line too long")
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            keyword, value = self._split(stripped, where)
            if keyword == "host":
                current = _Block(self._hostPatterns(value, where))
                blocks.append(current)
            elif keyword == "match":
                words = value.split()
                if [w.lower() for w in words] == ["all"]:
                    current = _Block(None, always=True)
                else:
                    self.warnings.append(f"{where}: Match criteria are not supported")
                    current = _Block(None)
                blocks.append(current)
            elif keyword == "include":
                self.warnings.append(f"{where}: Include is not supported")
            else:
                self._entry(current, keyword, value, where)
        self._blocks.extend(blocks)

    @staticmethod
    def _split(line: str, where: str) -> tuple[str, str]:
        match = re.match(r"([A-Za-z][A-Za-z0-9]*)\s*(?:=|\s)\s*(.*)\Z", line.strip(), re.DOTALL)
        if match is None or not match.group(2).strip():
            raise ConfigError(f"{where}: expected 'Keyword value'")
        return match.group(1).lower(), match.group(2).strip()

    def _hostPatterns(self, value: str, where: str) -> list[tuple[bool, re.Pattern[str]]]:
        words = self._words(value, where)
        if len(words) > self.limits.maxPatterns:
            raise ConfigError(f"{where}: too many host patterns")
        return [(w.startswith("!"), _pattern(w[1:] if w.startswith("!") else w)) for w in words]

    @staticmethod
    def _words(value: str, where: str) -> list[str]:
        try:
            words = shlex.split(value)
        except ValueError:
            raise ConfigError(f"{where}: unbalanced quotes") from None
        if not words or any(not w for w in words):
            raise ConfigError(f"{where}: empty value")
        return words

    def _entry(self, block: _Block, keyword: str, value: str, where: str) -> None:
        if keyword not in _KNOWN:
            return
        words = self._words(value, where)
        if keyword not in _MANY_VALUES and len(words) != 1:
            raise ConfigError(f"{where}: {keyword} takes one value")
        word = words[0]
        if keyword == "port":
            if not word.isdigit() or not 0 < int(word) < 65536:
                raise ConfigError(f"{where}: bad port")
        elif keyword == "stricthostkeychecking":
            if word.lower() not in _STRICT:
                raise ConfigError(f"{where}: bad StrictHostKeyChecking value")
        elif keyword in ("batchmode", "streamlocalbindunlink"):
            if word.lower() not in _BOOLEAN:
                spelled = "BatchMode" if keyword == "batchmode" else "StreamLocalBindUnlink"
                raise ConfigError(f"{where}: bad {spelled} value")
        elif keyword == "sendenv":
            if any("=" in w or w == "-" for w in words):
                raise ConfigError(f"{where}: bad SendEnv name")
        elif keyword == "setenv":
            if any(w.partition("=")[0] in ("", "-") or "=" not in w for w in words):
                raise ConfigError(f"{where}: SetEnv takes NAME=VALUE")
        elif keyword == "escapechar":
            try:
                parseEscapeChar(word)
            except ValueError:
                raise ConfigError(f"{where}: bad EscapeChar value") from None
        block.entries.append((keyword, tuple(words)))

    def lookup(self, host: str, user: str | None = None, port: int | None = None) -> HostConfig:
        """
        The settings for ``host`` (the name given on the command line).

        :param user: the user already chosen on the command line, for ``%r``.
        :param port: the port already chosen, for ``%p``.
        """
        found: dict[str, tuple[str, ...]] = {}
        identityFiles: list[str] = []
        sendEnv: list[str] = []
        for block in self._blocks:
            if not block.matches(host):
                continue
            for keyword, words in block.entries:
                if keyword == "identityfile":
                    identityFiles.extend(words)
                elif keyword == "sendenv":
                    _addSendEnv(sendEnv, words)
                else:
                    found.setdefault(keyword, words)
        hostName = found["hostname"][0] if "hostname" in found else None
        if hostName is not None:
            hostName = hostName.replace("%h", host).replace("%%", "%")
        configPort = int(found["port"][0]) if "port" in found else None
        configUser = found["user"][0] if "user" in found else None
        tokens = {
            "d": os.path.expanduser("~"),
            "h": hostName or host,
            "p": str(port or configPort or 22),
            "r": user or configUser or getpass.getuser(),
            "u": getpass.getuser(),
        }
        strict = found.get("stricthostkeychecking")
        batch = found.get("batchmode")
        unlink = found.get("streamlocalbindunlink")
        return HostConfig(
            hostName=hostName,
            port=configPort,
            user=configUser,
            identityFiles=tuple(_path(p, tokens) for p in identityFiles),
            userKnownHostsFiles=tuple(
                _path(p, tokens) for p in found.get("userknownhostsfile", ())
            ),
            strictHostKeyChecking=_STRICT[strict[0].lower()] if strict else None,
            batchMode=_BOOLEAN[batch[0].lower()] if batch else None,
            escapeChar=found["escapechar"][0] if "escapechar" in found else None,
            sendEnv=tuple(sendEnv),
            setEnv=_setEnv(found.get("setenv", ())),
            streamLocalBindUnlink=_BOOLEAN[unlink[0].lower()] if unlink else None,
        )


def _addSendEnv(names: list[str], words: tuple[str, ...]) -> None:
    """A ``SendEnv`` line: patterns added, ``-PATTERN`` removing those listed that match it."""
    for word in words:
        if word.startswith("-"):
            removed = _pattern(word[1:], caseSensitive=True)
            names[:] = [n for n in names if not removed.match(n)]
        elif word not in names:
            names.append(word)


def _setEnv(words: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """A ``SetEnv`` line's pairs; a name given twice keeps its first value, as in ``ssh``."""
    pairs: dict[str, str] = {}
    for word in words:
        name, _, value = word.partition("=")
        pairs.setdefault(name, value)
    return tuple(pairs.items())


def _path(path: str, tokens: dict[str, str]) -> str:
    """``~`` and ``%x`` tokens expanded (an unknown token is kept as written)."""

    def expand(match: re.Match[str]) -> str:
        letter = match.group(1)
        if letter == "%":
            return "%"
        return tokens.get(letter, match.group(0))

    path = re.sub(r"%(.)", expand, path)
    return os.path.expanduser(path)
