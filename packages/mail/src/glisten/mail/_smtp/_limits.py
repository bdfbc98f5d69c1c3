"""What one SMTP connection accepts from its peer."""

from __future__ import annotations

import attrs


@attrs.frozen
class Limits:
    """Limits of one SMTP session; going over one is answered with the RFC's reply.

    :ivar maxCommandLine: Longest command line with its CRLF. RFC 5321 4.5.3.1.4 says 512;
        ESMTP parameters (RFC 1869) and UTF-8 addresses add to it, so the default leaves room.
    :ivar maxDataLine: Longest line of message text with its CRLF (RFC 5321 4.5.3.1.6: 1000).
    :ivar maxMessageSize: Largest message, in octets after dot-unstuffing; advertised as SIZE.
    :ivar maxRecipients: Most accepted recipients per transaction (RFC 5321 says at least 100).
    :ivar maxErrors: Bad commands tolerated before the server answers 421 and closes.
    :ivar maxAuthLine: Longest SASL response line.
    :ivar maxReplyLine: Longest reply line a client accepts.
    :ivar maxReplyLines: Most lines of one multi-line reply a client accepts.
    :ivar maxPipelined: Most unanswered bytes the server buffers while it waits for the
        application; a client that pipelines more than this is cut off.
    """

    maxCommandLine: int = 2048
    maxDataLine: int = 1000
    maxMessageSize: int = 32 * 1024 * 1024
    maxRecipients: int = 100
    maxErrors: int = 20
    maxAuthLine: int = 12288
    maxReplyLine: int = 2048
    maxReplyLines: int = 100
    maxPipelined: int = 1024 * 1024


DEFAULT_LIMITS = Limits()
