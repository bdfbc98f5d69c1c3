"""What one IMAP4 connection accepts from its peer."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Limits of one IMAP4 session; going over one is answered with a tagged ``BAD`` (or
    ``NO [TOOBIG]``) or, when the input cannot be skipped safely, ``* BYE`` and a close.

    :ivar maxLine: Longest line of a command (the text between literals), CRLF included.
    :ivar maxLiteral: Largest literal (an ``APPEND``ed message).
    :ivar maxCommand: Most bytes in one command, literals included.
    :ivar maxLiterals: Most literals in one command (so most messages in a MULTIAPPEND).
    :ivar maxDepth: Deepest nesting of parenthesised lists.
    :ivar maxTokens: Most tokens (atoms, strings, lists) in one command.
    :ivar maxSetRanges: Most ranges in one sequence set.
    :ivar maxErrors: Bad commands tolerated before ``* BYE``.
    :ivar maxUnauthenticated: Commands accepted before a successful login.
    :ivar maxPipelined: Unparsed bytes buffered while the application works on a command.
    """

    maxLine: int = 64 * 1024
    maxLiteral: int = 64 * 1024 * 1024
    maxCommand: int = 65 * 1024 * 1024
    maxLiterals: int = 64
    maxDepth: int = 16
    maxTokens: int = 10_000
    maxSetRanges: int = 1_000
    maxErrors: int = 20
    maxUnauthenticated: int = 30
    maxPipelined: int = 1024 * 1024


DEFAULT_LIMITS = Limits()
