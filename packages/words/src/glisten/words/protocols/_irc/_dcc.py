"""DCC (CTCP ``DCC SEND`` and ``DCC CHAT``) without I/O: parsing and writing offers, the file
names they may write, the acknowledgements of a file transfer and the lines of a chat.

A DCC offer names a file chosen by a stranger; :func:`safeFileName` keeps only a plain base
name, so an offer can never write outside the download folder (Twisted's receiver joins the
offered name to the folder as it is).
"""

from __future__ import annotations

import ipaddress
import shlex
import struct

from glisten.words.protocols._irc._errors import IRCBadMessage

__all__ = [
    "DccAckDecoder",
    "DccChatDecoder",
    "dccDescribeAddress",
    "dccParseAddress",
    "formatDccSend",
    "parseDccChat",
    "parseDccPassiveChat",
    "parseDccPassiveReply",
    "parseDccPassiveResume",
    "parseDccPassiveSend",
    "parseDccResume",
    "parseDccSend",
    "quoteFileName",
    "safeFileName",
]

_MAX_NAME = 200
_MAX_TOKEN = 32
_ACK = struct.Struct("!I")


def _isNumber(text: str) -> bool:
    """Only ASCII digits (``str.isdigit`` also takes superscripts, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


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
    if not _isNumber(portText) or not 0 < int(portText) < 65536:
        raise IRCBadMessage("malformed DCC port")
    size = -1
    if len(words) > 3:
        if not _isNumber(words[3]):
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


def parseDccChat(data: str) -> tuple[str, int]:
    """Parse the arguments of ``DCC CHAT``: ``chat address port``.

    :return: ``(address, port)``.
    :raises IRCBadMessage: the offer is malformed.
    """
    words = data.split()
    if len(words) < 3 or words[0].lower() != "chat":
        raise IRCBadMessage("DCC CHAT needs 'chat', an address and a port")
    address = dccParseAddress(words[1])
    if not _isNumber(words[2]) or not 0 < int(words[2]) < 65536:
        raise IRCBadMessage("malformed DCC port")
    return address, int(words[2])


def parseDccPassiveChat(data: str) -> tuple[str, int, str] | None:
    """Parse a passive (reverse) ``DCC CHAT``: ``chat address port token``; port 0 from an
    offerer that cannot listen, a real port in the answer of the side that listens for it.

    :return: ``(address, port, token)``, or None for an ordinary offer (no token).
    :raises IRCBadMessage: a passive offer or answer that is malformed.
    """
    words = data.split()
    if len(words) != 4:
        return None
    if words[0].lower() != "chat":
        raise IRCBadMessage("DCC CHAT needs 'chat', an address and a port")
    address = dccParseAddress(words[1])
    if not _isNumber(words[2]) or not 0 <= int(words[2]) < 65536:
        raise IRCBadMessage("malformed DCC port")
    return address, int(words[2]), _checkToken(words[3])


def dccDescribeAddress(address: str) -> str:
    """An address as DCC offers carry it: IPv4 as a 32-bit integer, IPv6 as its literal.

    :raises IRCBadMessage: ``address`` is not an IP address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise IRCBadMessage("not an IP address") from None
    return str(int(ip)) if ip.version == 4 else str(ip)


def quoteFileName(name: str) -> str:
    """A file name as DCC offers and requests carry it: double-quoted when it holds spaces or
    characters a receiver's shell-like split would take as quoting (double quotes inside
    become single ones)."""
    name = name.replace('"', "'")
    return f'"{name}"' if any(c in name for c in " '\\") else name


def formatDccSend(fileName: str, address: str, port: int, size: int) -> str:
    """The arguments of a ``DCC SEND`` offer (after ``SEND``).

    Only the base name of ``fileName`` is offered (never the sender's folders); a name with
    spaces is put in double quotes, as clients expect.

    :raises IRCBadMessage: nothing usable is left of the name, or the port is out of range.
    """
    name = quoteFileName(safeFileName(fileName))
    if not 0 < port < 65536:
        raise IRCBadMessage("DCC port out of range")
    offer = f"{name} {dccDescribeAddress(address)} {port}"
    return offer if size < 0 else f"{offer} {size}"


class DccAckDecoder:
    """Reads a DCC SEND receiver's acknowledgements: 4-byte big-endian counts of the bytes it
    has received, modulo 2**32.

    :ivar acknowledged: the last count received.
    """

    __slots__ = ("_buffer", "acknowledged")

    def __init__(self) -> None:
        self._buffer = b""
        self.acknowledged = 0

    def receiveData(self, data: bytes, sent: int) -> list[int]:
        """Feed received bytes; ``sent`` is how many file bytes were sent so far.

        :return: the complete acknowledgements in ``data``.
        :raises IRCBadMessage: the peer acknowledges bytes that were never sent.
        """
        buffer = self._buffer + data
        whole = len(buffer) - len(buffer) % 4
        self._buffer = buffer[whole:]
        acks = [a for (a,) in _ACK.iter_unpack(buffer[:whole])]
        for ack in acks:
            # The count wraps at 4 GiB; it must never pass what was sent since the last wrap.
            if (sent - ack) % (1 << 32) > min(sent, (1 << 32) - 1):
                raise IRCBadMessage("DCC acknowledgement of bytes never sent")
            self.acknowledged = ack
        return acks


class DccChatDecoder:
    """Splits a DCC CHAT stream into lines (LF, or CR LF), decoded as UTF-8 with bad bytes
    replaced.

    :param maxLineLength: the longest line in bytes; a longer one raises (and is not buffered).
    """

    __slots__ = ("_buffer", "maxLineLength")

    def __init__(self, maxLineLength: int = 4096) -> None:
        self.maxLineLength = maxLineLength
        self._buffer = b""

    def receiveData(self, data: bytes) -> list[str]:
        """Feed received bytes.

        :return: the complete lines in ``data``, without their line endings.
        :raises IRCBadMessage: a line is longer than ``maxLineLength``.
        """
        *lines, rest = (self._buffer + data).split(b"\n")
        if len(rest) > self.maxLineLength:
            self._buffer = b""
            raise IRCBadMessage("DCC CHAT line too long")
        self._buffer = rest
        out = []
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if len(line) > self.maxLineLength:
                raise IRCBadMessage("DCC CHAT line too long")
            out.append(line.decode("utf-8", "replace"))
        return out


def parseDccResume(data: str) -> tuple[str, int, int]:
    """Parse the arguments of ``DCC RESUME`` or ``DCC ACCEPT``: ``filename port position``.

    :return: ``(filename, port, position)``.
    :raises IRCBadMessage: the request is malformed.
    """
    try:
        words = shlex.split(data)
    except ValueError:
        raise IRCBadMessage("malformed DCC RESUME quoting") from None
    if len(words) < 3 or not _isNumber(words[-2]) or not _isNumber(words[-1]):
        raise IRCBadMessage("DCC RESUME needs a file name, a port and a position")
    port = int(words[-2])
    if not 0 < port < 65536:
        raise IRCBadMessage("malformed DCC port")
    return " ".join(words[:-2]), port, int(words[-1])


def _checkToken(token: str) -> str:
    if not (token.isascii() and token.isalnum() and len(token) <= _MAX_TOKEN):
        raise IRCBadMessage("malformed passive DCC token")
    return token


def parseDccPassiveSend(data: str) -> tuple[str, int, str] | None:
    """Parse a passive (reverse) ``DCC SEND``: ``filename address 0 size token``, from a
    sender that cannot listen and asks the receiver to.

    :return: ``(filename, size, token)``, or None for an ordinary (active) offer.
    :raises IRCBadMessage: a passive offer that is malformed.
    """
    try:
        words = shlex.split(data)
    except ValueError:
        raise IRCBadMessage("malformed DCC SEND quoting") from None
    if len(words) < 3 or words[2] != "0":
        return None
    if len(words) != 5:
        raise IRCBadMessage("a passive DCC SEND needs a size and a token")
    filename, address, _, size, token = words
    dccParseAddress(address)
    if not _isNumber(size):
        raise IRCBadMessage("malformed DCC file size")
    return filename, int(size), _checkToken(token)


def parseDccPassiveReply(data: str) -> tuple[str, str, int, int, str] | None:
    """Parse a receiver's answer to our passive ``DCC SEND``: ``filename address port size
    token``, naming where it listens for the file offered with that token.

    :return: ``(filename, address, port, size, token)``, or None for an offer without a
        token (an ordinary active one, or a passive one: port 0).
    :raises IRCBadMessage: an answer that is malformed.
    """
    try:
        words = shlex.split(data)
    except ValueError:
        raise IRCBadMessage("malformed DCC SEND quoting") from None
    if len(words) != 5 or words[2] == "0":
        return None
    filename, address, port, size = parseDccSend(shlex.join(words[:4]))
    return filename, address, port, size, _checkToken(words[4])


def parseDccPassiveResume(data: str) -> tuple[str, int, str] | None:
    """Parse a passive ``DCC RESUME`` or ``DCC ACCEPT``: ``filename 0 position token``.

    :return: ``(filename, position, token)``, or None for the active form (a real port and
        no token: :func:`parseDccResume`).
    :raises IRCBadMessage: a passive request that is malformed.
    """
    try:
        words = shlex.split(data)
    except ValueError:
        raise IRCBadMessage("malformed DCC RESUME quoting") from None
    if len(words) < 4 or words[-3] != "0":
        return None
    if not _isNumber(words[-2]):
        raise IRCBadMessage("malformed DCC resume position")
    return " ".join(words[:-3]), int(words[-2]), _checkToken(words[-1])
