"""An HTTP header collection: :class:`Headers`, as in ``twisted.web.http_headers``.

Names are case-insensitive and kept lower-cased; each name maps to a list of values in order.
``str`` names and values are accepted and encoded (names as ISO-8859-1, values as UTF-8), and
a ``str`` name gets ``str`` values back. Like Twisted, CR and LF in names and values are
replaced by spaces, so no caller can split a header into two (response splitting); unlike
Twisted before 24.7, a name that is not an RFC 9110 token is refused with
:class:`InvalidHeaderName` (a :class:`ValueError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import AnyStr, TypeVar, overload

from glisten.web._h11 import canonicalName

_T = TypeVar("_T")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NEWLINES = re.compile(rb"\r\n|\r|\n")
_NAMES: dict[str | bytes, bytes] = {}


class InvalidHeaderName(ValueError):
    """A header name is not an RFC 9110 token (section 5.1), as in Twisted."""


def _encodeName(name: str | bytes) -> bytes:
    encoded = _NAMES.get(name)
    if encoded is not None:
        return encoded
    raw = name.encode("iso-8859-1") if isinstance(name, str) else name
    raw = _NEWLINES.sub(b" ", raw).lower()
    if _TOKEN.fullmatch(raw) is None:
        raise InvalidHeaderName(name)
    if len(_NAMES) < 2000:
        _NAMES[name] = raw
    return raw


def _encodeValue(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if b"\r" in raw or b"\n" in raw:
        raw = _NEWLINES.sub(b" ", raw)
    return raw


class Headers:
    """Header fields of a request or response.

    :param rawHeaders: Initial fields: a mapping of names to lists of values.
    """

    __slots__ = ("_raw",)

    def __init__(self, rawHeaders: Mapping[AnyStr, Sequence[AnyStr]] | None = None) -> None:
        self._raw: dict[bytes, list[bytes]] = {}
        if rawHeaders is not None:
            for name, values in rawHeaders.items():
                self.setRawHeaders(name, values)

    @classmethod
    def _fromParsed(cls, raw: dict[bytes, list[bytes]]) -> Headers:
        """Wrap fields the codec already validated and lower-cased, without copying."""
        headers = cls.__new__(cls)
        headers._raw = raw
        return headers

    def __repr__(self) -> str:
        # As Twisted shows them: the class's own name and canonically capitalized names.
        canonical = {canonicalName(k): v for k, v in self._raw.items()}
        return f"{type(self).__name__}({canonical!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._raw == other._raw
        return NotImplemented

    def __hash__(self) -> int:
        raise TypeError("Headers are mutable and cannot be hashed")

    def copy(self) -> Headers:
        """A copy that does not share value lists with this one."""
        return Headers._fromParsed({k: list(v) for k, v in self._raw.items()})

    def hasHeader(self, name: AnyStr) -> bool:
        """Whether ``name`` has at least one value."""
        return _encodeName(name) in self._raw

    def removeHeader(self, name: AnyStr) -> None:
        """Remove every value of ``name`` (no error if there is none)."""
        self._raw.pop(_encodeName(name), None)

    def setRawHeaders(self, name: AnyStr, values: Sequence[AnyStr]) -> None:
        """Replace all values of ``name``.

        :raises TypeError: ``values`` is a single string rather than a sequence of them.
        """
        if isinstance(values, (str, bytes)):
            raise TypeError("values must be a sequence of str or bytes, not a single string")
        self._raw[_encodeName(name)] = [_encodeValue(v) for v in values]

    def _setOne(self, name: bytes, value: bytes) -> None:
        """``setRawHeaders(name, [value])`` for bytes, without the generic conversions."""
        key = _NAMES.get(name)
        if key is None:
            key = _encodeName(name)
        if b"\r" in value or b"\n" in value:
            value = _NEWLINES.sub(b" ", value)
        self._raw[key] = [value]

    def addRawHeader(self, name: AnyStr, value: AnyStr) -> None:
        """Append one value to ``name``."""
        key = _encodeName(name)
        encoded = _encodeValue(value)
        existing = self._raw.get(key)
        if existing is None:
            self._raw[key] = [encoded]
        else:
            existing.append(encoded)

    @overload
    def getRawHeaders(self, name: AnyStr) -> list[AnyStr] | None: ...

    @overload
    def getRawHeaders(self, name: AnyStr, default: _T) -> list[AnyStr] | _T: ...

    def getRawHeaders(self, name: AnyStr, default: object = None) -> object:
        """All values of ``name``, or ``default`` if it has none. A ``str`` name gives ``str``
        values (decoded as UTF-8)."""
        values = self._raw.get(_encodeName(name))
        if values is None:
            return default
        if isinstance(name, str):
            return [v.decode("utf-8", "replace") for v in values]
        return list(values)

    def getAllRawHeaders(self) -> Iterator[tuple[bytes, Sequence[bytes]]]:
        """Every name (canonically capitalized) with its values."""
        for name, values in self._raw.items():
            yield canonicalName(name), values


__all__ = ["Headers", "InvalidHeaderName"]
