"""OpenSSH ``moduli`` files for group exchange (``openssh_compat.primes``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.conch.openssh_compat import primes
from glisten.conch.ssh._ssh._kex import GEX_GROUPS


def _line(bits: int, generator: int = 2, kind: int = 2, tests: int = 6, tries: int = 100) -> bytes:
    return b"20220714110357 %d %d %d %d %d %X" % (
        kind,
        tests,
        tries,
        bits - 1,
        generator,
        GEX_GROUPS[bits],
    )


def test_parse(tmp_path: Path) -> None:
    path = tmp_path / "moduli"
    path.write_bytes(
        b"# Time Type Tests Tries Size Generator Modulus\n"
        + _line(2048)
        + b"\n"
        + _line(2048, generator=5)
        + b"\n\n"
        + _line(4096)
        + b"\n"
    )
    assert primes.parseModuliFile(path) == {
        2048: [(2, GEX_GROUPS[2048]), (5, GEX_GROUPS[2048])],
        4096: [(2, GEX_GROUPS[4096])],
    }


@pytest.mark.parametrize(
    "line",
    [
        _line(2048, kind=4),  # not a safe prime
        _line(2048, tests=1),  # marked composite
        _line(2048, tests=0),  # never tested
        _line(2048, tries=0),
        _line(2048, generator=1),
        _line(2048).replace(b" 2047 ", b" 3071 "),  # size does not match the modulus
        _line(2048) + b" extra",
        _line(2048).replace(b" 2 6 ", b" x 6 "),
        _line(2048)[:-1] + b"G",
    ],
)
def test_unusableLinesSkipped(line: bytes) -> None:
    assert primes.parseModuliLines([line]) == {}


def test_everyPrefixIsSkippedOrWhole() -> None:
    line = _line(2048)
    for end in range(len(line) + 1):
        parsed = primes.parseModuliLines([line[:end]])
        assert parsed in ({}, {2048: [(2, GEX_GROUPS[2048])]})


def test_tooLarge(tmp_path: Path) -> None:
    path = tmp_path / "moduli"
    path.write_bytes(b"#" * (primes.MAX_FILE_SIZE + 1))
    with pytest.raises(ValueError):
        primes.parseModuliFile(path)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_randomLinesNeverRaise(lines: list[bytes]) -> None:
    assert isinstance(primes.parseModuliLines(lines), dict)


def test_glistenSshModuliOption(tmp_path: Path) -> None:
    from glisten.conch import tap

    from ._pairs import hostKey

    path = tmp_path / "moduli"
    path.write_bytes(_line(3072) + b"\n")
    factory = tap.makeFactory({b"ssh-ed25519": hostKey()}, None, moduli=str(path))
    assert factory.getPrimes() == {3072: [(2, GEX_GROUPS[3072])]}
    assert tap.makeFactory({b"ssh-ed25519": hostKey()}, None).getPrimes() is None
    path.write_bytes(b"# nothing\n")
    with pytest.raises(ValueError):
        tap.makeFactory({b"ssh-ed25519": hostKey()}, None, moduli=str(path))
    with pytest.raises(ValueError):
        tap.makeFactory({b"ssh-ed25519": hostKey()}, None, moduli=str(tmp_path / "missing"))
