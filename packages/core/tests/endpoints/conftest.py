"""Shared helpers for the endpoint tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def makeCertificate(issueCertificate: Callable[..., Any]) -> Callable[..., tuple[Path, Path]]:
    """``makeCertificate(directory, name="localhost")``: write a self-signed certificate for
    ``name`` (also its own authority) and its key as ``<name>.crt`` and ``<name>.key``; return
    the key's path and the certificate's path."""

    def makeCertificate(directory: Path, name: str = "localhost") -> tuple[Path, Path]:
        issued, _, _ = issueCertificate(name, [name], ca=True)
        keyPath, certPath = issued.writeTo(directory, name)
        return keyPath, certPath

    return makeCertificate
