"""What one POP3 connection accepts from its peer."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Limits of one POP3 session, either side.

    :ivar maxCommandLine: Longest command line with its CRLF. RFC 2449 says 255; SASL
        initial responses (RFC 5034) may be longer, so the default leaves room.
    :ivar maxAuthLine: Longest SASL continuation line from a client.
    :ivar maxErrors: Bad commands a server tolerates before it says goodbye and closes.
    :ivar maxLoginFailures: Failed logins a server tolerates on one connection.
    :ivar maxPipelined: Unparsed bytes a server buffers while the application works on a
        command; a client pipelining more than this is cut off.
    :ivar maxStatusLine: Longest status line (``+OK ...``) a client accepts (RFC 2449: 512).
    :ivar maxDataLine: Longest line of a multi-line response a client accepts.
    :ivar maxResponse: Largest multi-line response a client accepts, in bytes.
    """

    maxCommandLine: int = 1024
    maxAuthLine: int = 12288
    maxErrors: int = 10
    maxLoginFailures: int = 3
    maxPipelined: int = 64 * 1024
    maxStatusLine: int = 4096
    maxDataLine: int = 256 * 1024
    maxResponse: int = 256 * 1024 * 1024


DEFAULT_LIMITS = Limits()
