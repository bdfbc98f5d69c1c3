"""Peers for the howto tests (OpenSSH for the SSH howto's shell) and free ports for the
servers the command-line howtos start."""

from __future__ import annotations

from .._peers import freePort, requireBinary, waitForPort

__all__ = ["freePort", "requireBinary", "waitForPort"]
