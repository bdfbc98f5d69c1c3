"""Random bytes: secure ones from the OS, and (clearly named) insecure ones for tests."""

from __future__ import annotations

import os
import random

__all__ = ["RandomFactory", "SecureRandomNotAvailable", "insecureRandom", "secureRandom"]


class SecureRandomNotAvailable(RuntimeError):
    """No secure source of randomness is available."""


class SourceNotAvailable(RuntimeError):
    """A particular source of randomness is unavailable."""


class RandomFactory:
    """Where :func:`secureRandom` and :func:`insecureRandom` come from."""

    getrandbits = staticmethod(random.getrandbits)

    def secureRandom(self, nbytes: int, fallback: bool = False) -> bytes:
        """``nbytes`` bytes from the OS's cryptographic generator.

        :param fallback: accepted for compatibility; there is no weaker fallback.
        :raises SecureRandomNotAvailable: the OS has no such generator.
        """
        try:
            return os.urandom(nbytes)
        except NotImplementedError:
            raise SecureRandomNotAvailable("no secure random source available")

    def insecureRandom(self, nbytes: int) -> bytes:
        """``nbytes`` pseudo-random bytes; never use them for keys or tokens."""
        if nbytes == 0:
            return b""
        return self.getrandbits(nbytes * 8).to_bytes(nbytes, "big")


factory = RandomFactory()
secureRandom = factory.secureRandom
insecureRandom = factory.insecureRandom
