"""
OpenSSH's wildcard patterns (``match_pattern`` in its ``match.c``): ``*`` matches any run of
characters, ``?`` any one character, and every other character only itself (``[`` is no
character class, unlike :mod:`fnmatch`). Used for ``ssh_config`` hosts, ``known_hosts``
names, ``authorized_keys`` ``from=``/``permitlisten=`` and agent destination users.
"""

from __future__ import annotations

import re


def wildcard(pattern: str, ignoreCase: bool = False) -> re.Pattern[str]:
    """
    A regular expression matching what ``pattern`` matches, whole strings only (use
    :meth:`re.Pattern.match`).

    :param ignoreCase: host names compare without case; user names do not.
    """
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.DOTALL | (re.IGNORECASE if ignoreCase else 0))
