"""DCC offers (CTCP ``DCC SEND``): parsing and the file names they may write, without I/O.

A DCC offer names a file chosen by a stranger; :func:`safeFileName` keeps only a plain base
name, so an offer can never write outside the download folder (Twisted's receiver joins the
offered name to the folder as it is).
"""

from __future__ import annotations

import ipaddress
import shlex

from glisten.words.protocols._irc._errors import IRCBadMessage

__all__ = ["dccParseAddress", "parseDccSend", "safeFileName"]

_MAX_NAME = 200


def dccParseAddress(address: str) -> str:
    """A DCC address (a 32-bit integer, or a dotted quad / IPv6 literal) as text.

    :raises IRCBadMessage: it is neither.
    """
    try:
        if address.isdigit():
            return str(ipaddress.IPv4Address(int(address)))
        return str(ipaddress.ip_address(address))
    except ValueError:
        raise IRCBadMessage("malformed DCC address") from None


def parseDccSend(data: str) -> tuple[str, str, int, int]:
    """Parse the arguments of ``DCC SEND``: ``filename address port [size]``.

    :return: ``(filename, address, port, size)``; ``size`` is -1 when not given.
    :raises IRCBadMessage: the offer is malformed.
    """
    try:
        words = shlex.split(data)
    except ValueError:
        raise IRCBadMessage("malformed DCC SEND quoting") from None
    if len(words) < 3:
        raise IRCBadMessage("DCC SEND needs a file name, an address and a port")
    filename, address, portText = words[:3]
    address = dccParseAddress(address)
    if not portText.isdigit() or not 0 < int(portText) < 65536:
        raise IRCBadMessage("malformed DCC port")
    size = -1
    if len(words) > 3:
        if not words[3].isdigit():
            raise IRCBadMessage("malformed DCC file size")
        size = int(words[3])
    return filename, address, int(portText), size


def safeFileName(name: str) -> str:
    """The base name of an offered file, safe to create in a download folder.

    Folder parts (``/`` and ``\\``) are dropped, as are leading dots (no ``..``, no hidden
    files) and control characters.

    :raises IRCBadMessage: nothing usable is left.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).lstrip(".").strip()
    if not base:
        raise IRCBadMessage("unusable DCC file name")
    return base[:_MAX_NAME]
