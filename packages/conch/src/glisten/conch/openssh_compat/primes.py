"""
OpenSSH's ``moduli`` file: the groups an OpenSSH server offers for group exchange.

``parseModuliFile(path)`` returns what :meth:`glisten.conch.ssh.factory.SSHFactory.getPrimes`
gives: size in bits to a list of ``(generator, prime)``. Only lines OpenSSH itself would use are
kept (safe primes, tested and not marked composite); the file and its lines are size-limited,
and malformed lines are skipped.
"""

from __future__ import annotations

import os

__all__ = ["parseModuliFile", "parseModuliLines"]

#: The largest file read, and the longest line (an 8192-bit modulus is 2048 hex digits).
MAX_FILE_SIZE = 4 * 1024 * 1024
MAX_LINE = 8192
#: Group sizes outside these bounds are skipped (the server would refuse them anyway).
MIN_BITS = 1024
MAX_BITS = 16384

_TYPE_SAFE = 2
_TESTS_COMPOSITE = 0x01


def parseModuliLines(lines: list[bytes]) -> dict[int, list[tuple[int, int]]]:
    """
    The usable groups of ``moduli`` lines (``time type tests tries size generator modulus``).

    :param lines: the file's lines.
    :return: size in bits to ``(generator, prime)`` pairs.
    """
    primes: dict[int, list[tuple[int, int]]] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(b"#") or len(line) > MAX_LINE:
            continue
        fields = line.split()
        if len(fields) != 7 or not all(f.isalnum() and f.isascii() for f in fields):
            continue
        try:
            kind, tests, tries, size, generator = (int(f) for f in fields[1:6])
            modulus = int(fields[6], 16)
        except ValueError:
            continue
        bits = size + 1  # the file gives the bit length minus one
        if kind != _TYPE_SAFE or tests & _TESTS_COMPOSITE or not tests & ~_TESTS_COMPOSITE:
            continue
        if tries == 0 or not MIN_BITS <= bits <= MAX_BITS or modulus.bit_length() != bits:
            continue
        if modulus % 2 == 0 or not 1 < generator < modulus - 1:
            continue
        primes.setdefault(bits, []).append((generator, modulus))
    return primes


def parseModuliFile(filename: str | os.PathLike[str]) -> dict[int, list[tuple[int, int]]]:
    """
    Read an OpenSSH ``moduli`` file (``/etc/ssh/moduli``).

    :raises ValueError: the file is larger than :data:`MAX_FILE_SIZE`.
    :raises OSError: it cannot be read.
    """
    with open(filename, "rb") as f:
        data = f.read(MAX_FILE_SIZE + 1)
    if len(data) > MAX_FILE_SIZE:
        raise ValueError("moduli file too large")
    return parseModuliLines(data.splitlines())
