"""Peers for the howto tests (OpenSSH for the SSH howto's shell)."""

from __future__ import annotations

from .._peers import requireBinary

__all__ = ["requireBinary"]
