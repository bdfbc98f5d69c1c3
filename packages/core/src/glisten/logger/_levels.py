"""Log levels: an ordered enumeration from ``debug`` to ``critical``."""

from __future__ import annotations

import enum
from collections.abc import Iterator


class InvalidLogLevelError(Exception):
    """Someone asked for a log level that does not exist."""

    def __init__(self, level: object) -> None:
        super().__init__(f"invalid log level: {level!r}")
        self.level = level


class LogLevel(enum.Enum):
    """How important a log event is; levels compare by severity (``debug < critical``)."""

    # Members are singletons: identity hashing (in C) instead of Enum's hash of the name,
    # which is Python code; levels are dictionary keys on the hot path of every log event.
    __hash__ = object.__hash__

    debug = 0
    info = 1
    warn = 2
    error = 3
    critical = 4

    @classmethod
    def levelWithName(cls, name: str) -> LogLevel:
        """Look a level up by its name.

        :raises InvalidLogLevelError: if there is no level by that name.
        """
        try:
            return cls[name]
        except KeyError:
            raise InvalidLogLevelError(name) from None

    @classmethod
    def lookupByName(cls, name: str) -> LogLevel:
        """Look a level up by its name (Twisted's constants API).

        :raises ValueError: if there is no level by that name.
        """
        try:
            return cls[name]
        except KeyError:
            raise ValueError(name) from None

    @classmethod
    def iterconstants(cls) -> Iterator[LogLevel]:
        """Every level, least severe first."""
        return iter(cls)

    def __lt__(self, other: object) -> bool:
        if other.__class__ is not LogLevel:
            return NotImplemented
        # ``_value_`` is a plain attribute; ``value`` goes through a slower descriptor.
        return self._value_ < other._value_

    def __le__(self, other: object) -> bool:
        if other.__class__ is not LogLevel:
            return NotImplemented
        return self._value_ <= other._value_

    def __gt__(self, other: object) -> bool:
        if other.__class__ is not LogLevel:
            return NotImplemented
        return self._value_ > other._value_

    def __ge__(self, other: object) -> bool:
        if other.__class__ is not LogLevel:
            return NotImplemented
        return self._value_ >= other._value_

    def __repr__(self) -> str:
        return f"<LogLevel={self.name}>"
