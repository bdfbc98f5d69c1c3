"""The error a script's malformed response head raises."""

from __future__ import annotations


class CGIResponseError(Exception):
    """The script's output does not start with a valid CGI header block."""
