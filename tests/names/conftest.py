"""Shared helpers for glisten-names interop tests against real peers."""

from __future__ import annotations

import os
import shutil

import pytest


def requireBinary(name: str) -> str:
    """
    :return: the path of a peer binary; skip when missing locally, fail in CI.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is required in CI but is not installed")
        pytest.skip(f"{name} is not installed")
    return path
