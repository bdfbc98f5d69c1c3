"""Exceptions raised by glisten.names (Twisted's ``twisted.names.error``).

The ``DNS*Error`` classes describe a response code received from a server;
:class:`glisten.names.dns.DNSDecodeError` (a :class:`DNSFormatError`) is raised
when a message itself cannot be decoded.
"""

from __future__ import annotations

from glisten.internet.defer import TimeoutError as _DeferTimeoutError
from glisten.names._wire._errors import (
    AuthoritativeDomainError,
    DNSFormatError,
    DNSNameError,
    DNSNotImplementedError,
    DNSQueryRefusedError,
    DNSServerError,
    DNSUnknownError,
    DomainError,
    ResolverError,
)

__all__ = [
    "AuthoritativeDomainError",
    "DNSFormatError",
    "DNSNameError",
    "DNSNotImplementedError",
    "DNSQueryRefusedError",
    "DNSQueryTimeoutError",
    "DNSServerError",
    "DNSUnknownError",
    "DomainError",
    "ResolverError",
]


class DNSQueryTimeoutError(_DeferTimeoutError):
    """No answer arrived in time; ``id`` is the query (or its id) that timed out."""

    def __init__(self, id: object) -> None:
        super().__init__(id)
        self.id = id
