"""Shared helpers for glisten-names interop tests against real peers."""

from __future__ import annotations

from .._peers import requireBinary

__all__ = ["requireBinary"]
