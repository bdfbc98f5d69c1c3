"""RPL_ISUPPORT (005) tokens, parsed into :class:`ServerSupportedFeatures` as Twisted does."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["ServerSupportedFeatures"]

_HEX_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")


def _unescape(value: str) -> str:
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _intOrDefault(value: str | None, default: int | None = None) -> int | None:
    if value:
        try:
            return int(value)
        except ValueError:
            pass
    return default


class ServerSupportedFeatures:
    """What the server announced in RPL_ISUPPORT, with RFC 1459 defaults until it does.

    Each known token has an ``isupport_<TOKEN>`` method turning its values into a useful
    shape (``PREFIX`` into ``{mode: (prefix, rank)}``, ``CHANMODES`` into a dict of mode
    groups, lengths into ints); unknown tokens keep a tuple of their comma-separated values.
    """

    def __init__(self) -> None:
        self._features: dict[str, Any] = {
            "CHANNELLEN": 200,
            "CHANTYPES": tuple("#&"),
            "MODES": 3,
            "NICKLEN": 9,
            "PREFIX": self._parsePrefixParam("(ov)@+"),
            "CHANMODES": self._parseChanModesParam(["b", "k", "l", "imnpst"]),
        }

    @staticmethod
    def _splitParamArgs(params: Iterable[str], valueProcessor: Any = None) -> list[Any]:
        """Split ``key:value`` items (as in ``TARGMAX`` or ``MAXLIST``)."""
        if valueProcessor is None:

            def valueProcessor(x: str) -> str:
                return x

        out = []
        for param in params:
            if ":" not in param:
                param += ":"
            key, _, value = param.partition(":")
            out.append((key, valueProcessor(value)))
        return out

    @staticmethod
    def _unescapeParamValue(value: str) -> str:
        return _unescape(value)

    @classmethod
    def _splitParam(cls, param: str) -> tuple[str, list[str]]:
        """Split ``KEY=v1,v2`` into ``("KEY", ["v1", "v2"])`` (``\\xHH`` escapes undone)."""
        key, sep, value = param.partition("=")
        if not sep:
            return key, []
        return key, [cls._unescapeParamValue(v) for v in value.split(",")]

    @staticmethod
    def _parsePrefixParam(prefix: str) -> dict[str, tuple[str, int]] | None:
        """``(ov)@+`` -> ``{"o": ("@", 0), "v": ("+", 1)}``; ``None`` if malformed."""
        if not prefix:
            return None
        if not prefix.startswith("(") or ")" not in prefix:
            return None
        modes, symbols = prefix[1:].split(")", 1)
        if len(modes) != len(symbols):
            return None
        return {m: (s, rank) for rank, (m, s) in enumerate(zip(modes, symbols, strict=True))}

    @staticmethod
    def _parseChanModesParam(params: list[str]) -> dict[str, str]:
        names = ("addressModes", "param", "setParam", "noParam")
        items = list(params)[: len(names)]
        items += [""] * (len(names) - len(items))
        return dict(zip(names, items, strict=True))

    def getFeature(self, feature: str, default: Any = None) -> Any:
        """The parsed value of ``feature``, or ``default`` if the server did not announce it."""
        return self._features.get(feature, default)

    def hasFeature(self, feature: str) -> bool:
        """Whether the server announced ``feature`` (or it has a default)."""
        return self.getFeature(feature) is not None

    def parse(self, params: Iterable[str]) -> None:
        """Apply the tokens of one RPL_ISUPPORT reply (``-TOKEN`` withdraws one)."""
        for param in params:
            key, value = self._splitParam(param)
            if not key:
                continue
            if key.startswith("-"):
                self._features.pop(key[1:], None)
                continue
            method = getattr(self, "isupport_" + key, None)
            try:
                parsed = method(value) if method is not None else self.isupport_unknown(value)
            except (ValueError, IndexError, TypeError):
                continue  # a malformed token is ignored, the default stays
            if parsed is not None:
                self._features[key] = parsed

    def isupport_unknown(self, params: list[str]) -> tuple[str, ...]:
        return tuple(params)

    def isupport_CASEMAPPING(self, params: list[str]) -> str:
        return params[0] if params else "rfc1459"

    def isupport_CHANLIMIT(self, params: list[str]) -> list[tuple[str, int | None]]:
        return self._splitParamArgs(params, _intOrDefault)

    def isupport_CHANMODES(self, params: list[str]) -> dict[str, str]:
        return self._parseChanModesParam(params)

    def isupport_CHANNELLEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None, 200)

    def isupport_CHANTYPES(self, params: list[str]) -> tuple[str, ...]:
        return tuple(params[0]) if params else ()

    def isupport_EXCEPTS(self, params: list[str]) -> str:
        return params[0] if params and params[0] else "e"

    def isupport_IDCHAN(self, params: list[str]) -> list[tuple[str, str]]:
        return self._splitParamArgs(params)

    def isupport_INVEX(self, params: list[str]) -> str:
        return params[0] if params and params[0] else "I"

    def isupport_KICKLEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None)

    def isupport_MAXLIST(self, params: list[str]) -> list[tuple[str, int | None]]:
        return self._splitParamArgs(params, _intOrDefault)

    def isupport_MODES(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None)

    def isupport_NETWORK(self, params: list[str]) -> str | None:
        return params[0] if params else None

    def isupport_NICKLEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None, 9)

    def isupport_PREFIX(self, params: list[str]) -> dict[str, tuple[str, int]] | None:
        return self._parsePrefixParam(params[0] if params else "")

    def isupport_SAFELIST(self, params: list[str]) -> bool:
        return True

    def isupport_STATUSMSG(self, params: list[str]) -> str | None:
        return params[0] if params else None

    def isupport_TARGMAX(self, params: list[str]) -> dict[str, int | None]:
        return dict(self._splitParamArgs(params, _intOrDefault))

    def isupport_TOPICLEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None)

    def isupport_USERLEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None)

    def isupport_LINELEN(self, params: list[str]) -> int | None:
        return _intOrDefault(params[0] if params else None)
