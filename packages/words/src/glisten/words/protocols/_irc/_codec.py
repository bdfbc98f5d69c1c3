"""IRC line framing, parsing and serialisation (RFC 1459, RFC 2812, IRCv3 message-tags).

Receiving is lenient where real peers differ (``\\r\\n``, ``\\n`` or a lone ``\\r`` end a line,
runs of spaces separate parameters, empty lines are skipped) and strict where a line could
smuggle something (a NUL refuses the line, as do over-long lines and malformed tags). A refused
line is skipped without being buffered: an endless line costs no memory.

Sending refuses anything that would change the framing: CR, LF or NUL anywhere, a space or a
leading colon in a middle parameter, a body over the limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from glisten.words.protocols._irc._errors import IRCLocalError
from glisten.words.protocols._irc._events import BadLine, BadLineKind, Event, Message
from glisten.words.protocols._irc._limits import DEFAULT_LIMITS, Limits

__all__ = [
    "LineDecoder",
    "decodeText",
    "escapeTagValue",
    "parseLine",
    "parseTags",
    "serializeMessage",
    "serializeTags",
    "splitUTF8",
    "unescapeTagValue",
]

_EOL = re.compile(rb"[\r\n]")
_TAG_KEY = re.compile(r"\+?(?:[A-Za-z0-9][A-Za-z0-9.-]*/)?[A-Za-z0-9-]+\Z")
_FORBIDDEN = re.compile(r"[\r\n\x00]")

_UNESCAPE = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_ESCAPE = str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})


def decodeText(data: bytes) -> str:
    """Decode IRC bytes: UTF-8, or Latin-1 for the lines of older clients that are not UTF-8.

    Latin-1 maps every byte, so decoding never fails and nothing is lost.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def unescapeTagValue(value: str) -> str:
    """Undo IRCv3 tag value escaping; an unknown escape stands for its character, a lone
    trailing backslash is dropped."""
    if "\\" not in value:
        return value
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        j = value.find("\\", i)
        if j < 0:
            out.append(value[i:])
            break
        out.append(value[i:j])
        if j + 1 < n:
            c = value[j + 1]
            out.append(_UNESCAPE.get(c, c))
        i = j + 2
    return "".join(out)


def escapeTagValue(value: str) -> str:
    """Escape a tag value for the wire (``;``, space, backslash, CR, LF)."""
    return value.translate(_ESCAPE)


def parseTags(text: str) -> dict[str, str] | None:
    """Parse a tags section (without ``@``) into a dict; ``None`` if a key is malformed.

    A repeated key keeps its last value, as the IRCv3 specification asks.
    """
    tags: dict[str, str] = {}
    for item in text.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if not _TAG_KEY.match(key):
            return None
        tags[key] = unescapeTagValue(value)
    return tags


def serializeTags(tags: Mapping[str, str | None]) -> str:
    """Render tags as ``k=v;k2`` (no ``@``); a value of ``""`` or ``None`` omits the ``=``.

    :raises IRCLocalError: a key is not a valid tag name, or a value holds a NUL.
    """
    parts = []
    for key, value in tags.items():
        if not _TAG_KEY.match(key):
            raise IRCLocalError("invalid tag name")
        if value and "\x00" in value:
            raise IRCLocalError("NUL in a tag value")
        parts.append(f"{key}={escapeTagValue(value)}" if value else key)
    return ";".join(parts)


def _isCommand(command: str) -> bool:
    if command.isascii() and command.isalpha():
        return True
    return len(command) == 3 and command.isascii() and command.isdigit()


def _malformed(message: str) -> BadLine:
    return BadLine(BadLineKind.MALFORMED, message)


def parseLine(line: bytes, limits: Limits = DEFAULT_LIMITS) -> Event:
    """Parse one line (without its line ending) into a :class:`Message` or a :class:`BadLine`."""
    if b"\x00" in line:
        return BadLine(BadLineKind.NUL, "NUL byte in line")
    return _parseChecked(line, limits)


def _parseChecked(line: bytes, limits: Limits) -> Event:
    """:func:`parseLine` for a line known to hold no NUL."""
    if line.isascii():
        return _parseDecoded(line.decode("ascii"), limits, None)
    try:
        text, encoding = line.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        # Not UTF-8: an older client's Latin-1, which maps every byte.
        text, encoding = line.decode("latin-1"), "latin-1"
    return _parseDecoded(text, limits, encoding)


def _parseDecoded(text: str, limits: Limits, encoding: str | None) -> Event:
    """Parse a decoded line; the limits count the bytes of ``encoding`` (``None`` for ASCII,
    one byte a character)."""
    tags: dict[str, str] = {}
    if text[:1] == "@":
        end = text.find(" ")
        if end < 0:
            return _malformed("tags without a message")
        size = end if encoding is None else len(text[:end].encode(encoding))
        if size + 1 > limits.maxTagsLength:
            return BadLine(BadLineKind.TAGS_TOO_LONG, "message tags too long")
        parsed = parseTags(text[1:end])
        if parsed is None:
            return _malformed("malformed message tag")
        tags = parsed
        text = text[end + 1 :]
    size = len(text) if encoding is None else len(text.encode(encoding))
    if size + 2 > limits.maxBodyLength:
        return BadLine(BadLineKind.TOO_LONG, "line too long")
    return _parseText(text, tags, limits.maxParams)


#: Commands seen, mapped to their upper-cased form: one dictionary look-up validates and
#: normalises the command of most lines. Bounded, so odd commands cannot grow it.
_COMMANDS: dict[str, str] = {}
_MAX_COMMANDS = 512


def _command(word: str) -> str | None:
    """``word`` upper-cased if it is a command (letters) or a numeric (three digits)."""
    known = _COMMANDS.get(word)
    if known is not None:
        return known
    if not (word.isascii() and (word.isalpha() or (len(word) == 3 and word.isdigit()))):
        return None
    command = word.upper()
    if len(_COMMANDS) < _MAX_COMMANDS:
        _COMMANDS[word] = command
    return command


def _parseText(text: str, tags: dict[str, str], maxParams: int) -> Event:
    """Parse a decoded line body; the common shape (``:prefix COMMAND middle... :trailing``,
    single spaces) takes the short way, anything else :func:`_parseBody`."""
    prefix: str | None = None
    body = text
    first = text[:1]
    if first == ":":
        space = text.find(" ")
        if space < 2 or text[space + 1 : space + 2] in ("", " ", ":"):
            return _parseBody(text, tags, maxParams)
        prefix = text[1:space]
        body = text[space + 1 :]
    elif first == " ":
        return _parseBody(text, tags, maxParams)
    head, sep, trailing = body.partition(" :")
    words = head.split(" ")
    command = _COMMANDS.get(words[0]) or _command(words[0])
    if command is None or len(words) > maxParams or "" in words:
        return _parseBody(text, tags, maxParams)
    del words[0]
    if sep:
        words.append(trailing)
    return Message(command, words, prefix, tags)


def _parseBody(text: str, tags: dict[str, str], maxParams: int) -> Event:
    prefix: str | None = None
    if text[:1] == " ":
        text = text.lstrip(" ")
    if text[:1] == ":":
        prefix, sep, text = text.partition(" ")
        prefix = prefix[1:]
        if not sep:
            return _malformed("prefix without a command")
        if not prefix:
            return _malformed("empty prefix")
    # The first " :" starts the trailing parameter: no middle parameter may begin with ":".
    if text[:1] == ":":
        return _malformed("no command")
    head, sep, trailing = text.partition(" :")
    words = (
        [w for w in head.split(" ") if w] if "  " in head or head[-1:] == " " else head.split(" ")
    )
    if not words or not words[0]:
        return _malformed("no command")
    command = _command(words[0])
    if command is None:
        return _malformed("malformed command")
    if len(words) > maxParams:
        return _parseParamsSlowly(text, words[0], command, prefix, tags, maxParams)
    params = words[1:]
    if sep:
        params.append(trailing)
    return Message(command, params, prefix, tags)


def _parseParamsSlowly(
    text: str, word: str, command: str, prefix: str | None, tags: dict[str, str], maxParams: int
) -> Event:
    """RFC 2812's rule for more than 14 middle parameters: the rest of the line is the last."""
    n = len(text)
    i = text.find(word) + len(word)
    params: list[str] = []
    while True:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        if text[i] == ":":
            params.append(text[i + 1 :])
            break
        if len(params) == maxParams - 1:
            params.append(text[i:].rstrip(" "))
            break
        sp = text.find(" ", i)
        if sp < 0:
            sp = n
        params.append(text[i:sp])
        i = sp
    return Message(command, params, prefix, tags)


#: Allocates a :class:`Message` without running its ``__init__`` (the hot loop below sets
#: every field itself).
_newMessage = object.__new__


def _parseAsciiLines(lines: list[str], limits: Limits, events: list[Event]) -> None:
    """Parse ASCII lines without NUL into ``events``, skipping empty ones.

    The shape of nearly every line a server sends, ``:prefix COMMAND middle... :trailing``
    with single spaces and no tags, is parsed here without a further call, into a
    :class:`Message` filled in place; any other line goes to :func:`_parseDecoded`.
    """
    bodyMax = limits.maxBodyLength - 2
    maxWords = limits.maxParams + 1  # the prefix, the command and up to 14 middle ones
    command_ = _COMMANDS.get
    append = events.append
    new = _newMessage
    for line in filter(None, lines):
        if line[0] == ":" and len(line) <= bodyMax:
            head, sep, trailing = line.partition(" :")
            params = head.split(" ")
            if 2 <= len(params) <= maxWords and "" not in params and params[0] != ":":
                command = command_(params[1])
                if command is not None:
                    message = new(Message)
                    message.command = command
                    message.prefix = params[0][1:]
                    del params[:2]
                    if sep:
                        params.append(trailing)
                    message.params = params
                    message.tags = {}
                    append(message)
                    continue
        append(_parseDecoded(line, limits, None))


class LineDecoder:
    """Turns a byte stream into events, one per non-empty line.

    Walks its buffer with an offset, so the cost is linear in the input however it is cut up;
    holds at most one line (tags plus body) and nothing of a refused one.
    """

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._buf = bytearray()
        self._tagEnd = -1
        self._tagScan = 0  # where to go on looking for the space after the tags  # offset of the space ending the tags of the pending line, if seen
        self._discarding = False

    def receiveData(self, data: bytes) -> list[Event]:
        """Feed received bytes; return the events of every line they complete."""
        events: list[Event] = []
        if self._discarding:
            m = _EOL.search(data)
            if m is None:
                return events
            data = data[m.end() :]
            self._discarding = False
        buf = self._buf
        if b"\n" not in data and b"\r" not in data:
            # No line ends here: only keep the bytes (and check the pending line's size).
            buf += data
        else:
            if buf:
                buf += data
                data = bytes(buf)
                buf.clear()
            # One NUL search and one ASCII check per chunk instead of one per line.
            nul = b"\x00" in data
            if not nul and data.isascii():
                lines = data.decode("ascii").replace("\r", "\n").split("\n")
                buf += lines.pop().encode("ascii")
                _parseAsciiLines(lines, self.limits, events)
            else:
                # Every line ending becomes LF (CRLF gives an empty line, which is skipped).
                blines = data.replace(b"\r", b"\n").split(b"\n")
                buf += blines.pop()
                limits = self.limits
                parse = parseLine if nul else _parseChecked
                for line in blines:
                    if line:
                        events.append(parse(line, limits))
            self._tagEnd = -1
            self._tagScan = 0
        over = self._overLimit()
        if over is not None:
            events.append(over)
            buf.clear()
            self._tagEnd = -1
            self._tagScan = 0
            self._discarding = True
        return events

    def _overLimit(self) -> BadLine | None:
        """The refusal for the pending (incomplete) line, if it is already too long."""
        buf = self._buf
        length = len(buf)
        limits = self.limits
        bodyMax = limits.maxBodyLength - 2
        if length <= bodyMax:
            return None
        if buf[:1] != b"@":
            return BadLine(BadLineKind.TOO_LONG, "line too long")
        if self._tagEnd < 0:
            self._tagEnd = buf.find(b" ", self._tagScan, limits.maxTagsLength)
            if self._tagEnd < 0:
                self._tagScan = min(length, limits.maxTagsLength)
                if length >= limits.maxTagsLength:
                    return BadLine(BadLineKind.TAGS_TOO_LONG, "message tags too long")
                return None
        if length - (self._tagEnd + 1) > bodyMax:
            return BadLine(BadLineKind.TOO_LONG, "line too long")
        return None


def serializeMessage(
    command: str,
    params: Sequence[str] = (),
    prefix: str | None = None,
    tags: Mapping[str, str | None] | None = None,
    maxBodyLength: int | None = DEFAULT_LIMITS.maxBodyLength,
    truncate: bool = False,
    trailing: bool = False,
) -> bytes:
    """Render one IRC line, ``\\r\\n`` included.

    :param command: a command or numeric.
    :param params: the parameters; the last one is sent as trailing when it has to be.
    :param prefix: the source, for servers.
    :param tags: IRCv3 tags to put in front.
    :param maxBodyLength: the limit for the line after its tags, ``None`` for no limit.
    :param truncate: shorten the last parameter (at a UTF-8 character boundary) to fit the
        limit instead of refusing, as a server relaying a message does.
    :param trailing: always mark the last parameter with ``:`` (as chat text customarily is).
    :raises IRCLocalError: the line would break IRC framing or is too long.
    """
    if not command or not _isCommand(command):
        raise IRCLocalError("invalid command")
    parts: list[str] = []
    if prefix is not None:
        if not prefix or " " in prefix or _FORBIDDEN.search(prefix):
            raise IRCLocalError("invalid prefix")
        parts.append(":" + prefix)
    parts.append(command)
    last = len(params) - 1
    for index, param in enumerate(params):
        if _FORBIDDEN.search(param):
            raise IRCLocalError("CR, LF or NUL in a parameter")
        if index == last:
            if trailing or not param or " " in param or param[0] == ":":
                param = ":" + param
        elif not param or " " in param or param[0] == ":":
            raise IRCLocalError("empty, spaced or colon-led middle parameter")
        parts.append(param)
    body = " ".join(parts).encode("utf-8")
    if maxBodyLength is not None and len(body) + 2 > maxBodyLength:
        if not truncate or not params:
            raise IRCLocalError("line too long")
        fixed = (" ".join(parts[:-1]) + " :").encode("utf-8")
        room = maxBodyLength - 2 - len(fixed)
        if room < 0:
            raise IRCLocalError("line too long")
        body = fixed + _cutUTF8(params[-1].encode("utf-8"), room)
    head = b""
    if tags:
        head = b"@" + serializeTags(tags).encode("utf-8") + b" "
    return head + body + b"\r\n"


def _cutUTF8(data: bytes, size: int) -> bytes:
    """Cut ``data`` to at most ``size`` bytes without splitting a UTF-8 sequence."""
    if len(data) <= size:
        return data
    end = size
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


def splitUTF8(text: str, size: int) -> list[str]:
    """Split ``text`` into pieces of at most ``size`` UTF-8 bytes, never inside a character,
    preferring to break at a space (which is dropped) in the second half of a piece.

    :raises ValueError: ``size`` cannot hold a single character.
    """
    if size < 4:
        raise ValueError("size too small for a UTF-8 character")
    data = text.encode("utf-8")
    pieces: list[str] = []
    pos, n = 0, len(data)
    while n - pos > size:
        end = pos + size
        while (data[end] & 0xC0) == 0x80:
            end -= 1
        space = data.rfind(b" ", pos + size // 2, end + 1)
        if space >= 0:
            # Break at the space and drop it: servers strip trailing spaces anyway.
            pieces.append(data[pos:space].decode("utf-8"))
            pos = space + 1
            continue
        pieces.append(data[pos:end].decode("utf-8"))
        pos = end
    pieces.append(data[pos:].decode("utf-8"))
    return pieces
