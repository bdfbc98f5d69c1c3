"""
The building blocks of name resolution, public so that resolver packages (glisten-names)
can implement :class:`~glisten.internet.interfaces.IHostnameResolver` without reaching into
a private module: :class:`HostResolution` is the cancellable handle a resolver hands its
receiver, the others adapt between the one-address and many-address resolver interfaces.
"""

from glisten.internet._resolver import (
    ComplexResolverSimplifier,
    GAIResolver,
    HostResolution,
    SimpleResolverComplexifier,
)

__all__ = [
    "ComplexResolverSimplifier",
    "GAIResolver",
    "HostResolution",
    "SimpleResolverComplexifier",
]
