"""Events the IRC codec produces.

One :class:`Message` per line; a line that cannot be used becomes a :class:`BadLine` and the
codec carries on with the next one (IRC resynchronises on line endings).
"""

from __future__ import annotations

import enum

import attrs


@attrs.define(slots=True)
class Message:
    """One parsed IRC line.

    :ivar command: the command, upper-cased, or a three-digit numeric.
    :ivar params: the parameters, the trailing one included, decoded.
    :ivar prefix: the source (``nick!user@host`` or a server name), ``None`` when absent.
    :ivar tags: IRCv3 message tags, unescaped; a tag without a value maps to ``""``.
    """

    command: str
    params: list[str]
    prefix: str | None = None
    tags: dict[str, str] = attrs.Factory(dict)


class BadLineKind(enum.Enum):
    """Why a line was refused."""

    #: The line (without its tags) is longer than ``Limits.maxBodyLength``.
    TOO_LONG = "too long"
    #: The tags section is longer than ``Limits.maxTagsLength``.
    TAGS_TOO_LONG = "tags too long"
    #: The line contains a NUL byte.
    NUL = "NUL byte"
    #: The line has no command, an empty prefix, a malformed tag or command.
    MALFORMED = "malformed"


@attrs.define(slots=True, frozen=True)
class BadLine:
    """A line was refused and skipped.

    :ivar kind: why.
    :ivar message: a short explanation for logs; never echoes the peer's bytes.
    """

    kind: BadLineKind
    message: str


Event = Message | BadLine
