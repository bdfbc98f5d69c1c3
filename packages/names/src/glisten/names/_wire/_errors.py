"""The DNS exceptions that need nothing from glisten's core (re-exported by :mod:`glisten.names.error`)."""

from __future__ import annotations

__all__ = [
    "AuthoritativeDomainError",
    "DNSFormatError",
    "DNSNameError",
    "DNSNotImplementedError",
    "DNSQueryRefusedError",
    "DNSServerError",
    "DNSUnknownError",
    "DomainError",
    "ResolverError",
]


class DomainError(ValueError):
    """
    A domain could not be resolved; ``args[0]`` is usually the response
    :class:`~glisten.names.dns.Message`.
    """


class AuthoritativeDomainError(ValueError):
    """
    An authority knows the name does not exist (used by authorities to tell a
    resolver chain to stop asking other resolvers).
    """


class DNSFormatError(DomainError):
    """The server answered FORMERR: it could not understand the query."""


class DNSServerError(DomainError):
    """The server answered SERVFAIL."""


class DNSNameError(DomainError):
    """The server answered NXDOMAIN: the name does not exist."""


class DNSNotImplementedError(DomainError):
    """The server answered NOTIMP."""


class DNSQueryRefusedError(DomainError):
    """The server answered REFUSED."""


class DNSUnknownError(DomainError):
    """The server answered with a response code glisten does not know."""


class ResolverError(Exception):
    """A resolver was used in a way it does not support (e.g. no servers)."""
