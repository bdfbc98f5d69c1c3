"""IRC ban masks (``nick!user@host`` with ``*`` and ``?`` wildcards), without I/O.

Matching is ASCII case-insensitive (the server's CASEMAPPING) and runs in time proportional
to the product of the two lengths at worst: no regular expression, so a crafted mask cannot
make the server backtrack exponentially.
"""

from __future__ import annotations

from glisten.words.protocols._irc._errors import IRCBadMessage

__all__ = ["MAX_MASK_LENGTH", "matchMask", "normalizeMask"]

MAX_MASK_LENGTH = 120


def normalizeMask(mask: str) -> str:
    """Complete a mask to ``nick!user@host`` form (``bob`` -> ``bob!*@*``, ``*@host`` ->
    ``*!*@host``), collapse runs of ``*`` and lower-case it.

    :raises IRCBadMessage: the mask is empty, too long, or holds spaces or control characters.
    """
    if not mask or len(mask) > MAX_MASK_LENGTH or any(c <= " " or c == "\x7f" for c in mask):
        raise IRCBadMessage("unusable ban mask")
    nick, bang, rest = mask.partition("!")
    if not bang:
        if "@" in mask:
            nick, rest = "*", mask
        else:
            rest = "*@*"
    user, at, host = rest.partition("@")
    if not at:
        host = "*"
    parts = [p or "*" for p in (nick, user, host)]
    if any("!" in p or "@" in p for p in parts):
        raise IRCBadMessage("unusable ban mask")
    full = f"{parts[0]}!{parts[1]}@{parts[2]}".lower()
    while "**" in full:
        full = full.replace("**", "*")
    return full


def matchMask(mask: str, hostmask: str) -> bool:
    """Whether ``hostmask`` (``nick!user@host``) matches a normalised ``mask``."""
    text = hostmask.lower()
    m = t = 0
    star = -1
    resume = 0
    while t < len(text):
        if m < len(mask) and (mask[m] == "?" or mask[m] == text[t]):
            m += 1
            t += 1
        elif m < len(mask) and mask[m] == "*":
            star, resume = m, t
            m += 1
        elif star >= 0:
            resume += 1
            m, t = star + 1, resume
        else:
            return False
    while m < len(mask) and mask[m] == "*":
        m += 1
    return m == len(mask)
