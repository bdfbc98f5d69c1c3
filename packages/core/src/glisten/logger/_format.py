"""Turning log events into text.

Format strings use PEP 3101 syntax with the event's fields as keyword arguments, plus one
addition Twisted programs rely on: ``{name()}`` calls the field and formats the result, so an
expensive value is only computed when an observer actually renders the event.

An event that went through JSON carries ``log_flattened``, which keeps two entries per format
field, with Twisted's key spelling: the rendered text under ``"name!CONVERSION:SPEC"``
(conversion ``s`` unless it was ``r``: ``"a!s:"``, ``"b!r:>10"``) and the value itself under
``"name!:SPEC"`` (``"a!:"``). Formatting prefers the text, so a log read back from disk renders
exactly as it was written; :func:`extractField` returns the value, so an analysis of a saved log
gets the integer that was logged, not its text.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from ._interfaces import LogEvent

timeFormatRFC3339 = "%Y-%m-%dT%H:%M:%S%z"

_formatter = string.Formatter()


@lru_cache(maxsize=1024)
def _parse(formatString: str) -> tuple[tuple[str, str | None, str | None, str | None], ...]:
    """The parsed pieces of a format string: a program has few, and logs them often."""
    return tuple(_formatter.parse(formatString))


class _CallMapping(Mapping[str, Any]):
    """Field lookup where ``"name()"`` means: look ``name`` up and call it."""

    def __init__(self, submapping: Mapping[str, Any]) -> None:
        self._submapping = submapping

    def __getitem__(self, key: str) -> Any:
        callit = key.endswith("()")
        realKey = key[:-2] if callit else key
        value = self._submapping[realKey]
        return value() if callit else value

    def __iter__(self) -> Any:
        return iter(self._submapping)

    def __len__(self) -> int:
        return len(self._submapping)


def _fieldKey(fieldName: str, conversion: str | None, formatSpec: str) -> str:
    """The ``log_flattened`` key of a field's rendered text (Twisted's spelling)."""
    return f"{fieldName}!{conversion if conversion == 'r' else 's'}:{formatSpec}"


def _valueKey(fieldName: str, formatSpec: str) -> str:
    """The ``log_flattened`` key of a field's value (Twisted's spelling)."""
    return f"{fieldName}!:{formatSpec}"


def _legacyKey(fieldName: str, conversion: str | None, formatSpec: str) -> str:
    """The text key written by glisten 0.1 (read back for old JSON logs)."""
    key = fieldName
    if conversion:
        key += "!" + conversion
    if formatSpec:
        key += ":" + formatSpec
    return key


def _render(
    formatString: str,
    mapping: Mapping[str, Any],
    flattened: Mapping[str, Any] | None,
    record: dict[str, Any] | None,
    depth: int = 0,
) -> str:
    """Format ``formatString`` against ``mapping``.

    :param flattened: pre-rendered fields (from JSON), used in preference to ``mapping``.
    :param record: if given, every field's text and value are stored here (see the module).
    """
    if depth > 2:
        raise ValueError("format specification nested too deeply")
    out: list[str] = []
    for literal, fieldName, formatSpec, conversion in _parse(formatString):
        out.append(literal)
        if fieldName is None:
            continue
        if fieldName == "" or fieldName.isdigit():
            raise ValueError("positional fields are not allowed in log formats")
        spec = formatSpec or ""
        if "{" in spec:
            spec = _render(spec, mapping, flattened, None, depth + 1)
        spec0 = formatSpec or ""
        key = _fieldKey(fieldName, conversion, spec0)
        if flattened is not None and key in flattened:
            text = str(flattened[key])
        elif flattened is not None and _legacyKey(fieldName, conversion, spec0) in flattened:
            text = str(flattened[_legacyKey(fieldName, conversion, spec0)])
        else:
            value, _ = _formatter.get_field(fieldName, (), mapping)
            if record is not None:
                record[_valueKey(fieldName, formatSpec or "")] = value
            if conversion:
                value = _formatter.convert_field(value, conversion)
            text = format(value, spec)
        if record is not None:
            record[key] = text
        out.append(text)
    return "".join(out)


def formatWithCall(formatString: str, mapping: Mapping[str, Any]) -> str:
    """Format a PEP 3101 string with keyword fields, where ``{f()}`` calls ``f``.

    :raises Exception: whatever formatting raises; :func:`formatEvent` is the safe variant.
    """
    return _render(formatString, _CallMapping(mapping), None, None)


def extractField(field: str, event: LogEvent) -> Any:
    """The value of one format field (``"a.b[0]"``, ``"f()"``) of ``event``.

    For an event read back from JSON, the value kept by :func:`flattenEvent` is returned (as
    JSON stored it: numbers and strings come back as they were logged).

    :raises KeyError: if the field cannot be found.
    """
    flattened = event.get("log_flattened")
    if isinstance(flattened, Mapping):
        try:
            parsed = list(_formatter.parse("{" + field + "}"))
        except ValueError as e:
            raise KeyError(field) from e
        fieldName = parsed[0][1] if len(parsed) == 1 else None
        if fieldName is not None:
            formatSpec = parsed[0][2]
            valueKey = _valueKey(fieldName, formatSpec or "")
            if valueKey in flattened:
                return flattened[valueKey]
            if not formatSpec:
                # The field was logged with a format spec: its value is the same.
                prefix = fieldName + "!:"
                for key, value in flattened.items():
                    if isinstance(key, str) and key.startswith(prefix):
                        return value
    try:
        value, _ = _formatter.get_field(field, (), _CallMapping(event))
    except (KeyError, AttributeError, IndexError, TypeError, ValueError) as e:
        if isinstance(flattened, Mapping) and field in flattened:
            # A log written by glisten 0.1 kept only the text.
            return flattened[field]
        raise KeyError(field) from e
    return value


def flattenEvent(event: LogEvent) -> None:
    """Keep the text and the value of each field of ``event["log_format"]`` in ``log_flattened``.

    After this, the event can be serialized without losing what its message says (the text)
    or what it logged (the value, for :func:`extractField`). Formatting errors are ignored
    here; they surface when the event is formatted.
    """
    fmt = event.get("log_format")
    if not isinstance(fmt, str):
        return
    record: dict[str, Any] = {}
    try:
        _render(fmt, _CallMapping(event), None, record)
    except Exception:
        return
    event["log_flattened"] = record


def formatEvent(event: LogEvent) -> str:
    """Render the message of ``event`` from its ``log_format`` and fields.

    Never raises: an event that cannot be formatted renders as a note saying why, because a
    broken log call must not take the program (or the other observers) down with it.

    :return: the message, or ``""`` if the event has no ``log_format``.
    """
    try:
        fmt = event.get("log_format")
        if fmt is None:
            return ""
        if not isinstance(fmt, str):
            raise TypeError(f"log_format must be a str, not {type(fmt).__name__}")
        flattened = event.get("log_flattened")
        if not isinstance(flattened, Mapping):
            flattened = None
        return _render(fmt, _CallMapping(event), flattened, None)
    except Exception as e:
        return formatUnformattableEvent(event, e)


def formatUnformattableEvent(event: LogEvent, error: BaseException) -> str:
    """Describe an event whose format failed, as safely as possible."""
    try:
        return f"Unable to format event {event!r}: {error}"
    except Exception:
        fields = ", ".join(_safeRepr(k) + " = " + _safeRepr(v) for k, v in event.items())
        return f"MESSAGE LOST: unformattable object logged: {error!r}\nRecoverable data: {fields}"


def _safeRepr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__} object>"


def formatTime(
    when: float | None, timeFormat: str | None = timeFormatRFC3339, default: str = "-"
) -> str:
    """Render a POSIX timestamp in local time.

    :param timeFormat: a :func:`time.strftime` format, or ``None`` for ``default``.
    :return: the rendered time, or ``default`` if there is no time or no format.
    """
    if timeFormat is None or when is None:
        return default
    try:
        return datetime.fromtimestamp(when).astimezone().strftime(timeFormat)
    except (ValueError, OverflowError, OSError):
        return default


def _failureText(event: LogEvent) -> str:
    failure = event.get("log_failure")
    if failure is None:
        return ""
    try:
        getTraceback = getattr(failure, "getTraceback", None)
        if getTraceback is not None:
            return str(getTraceback())
        if isinstance(failure, Mapping):
            return str(failure.get("traceback", ""))
        return str(failure)
    except Exception as e:
        return f"(unable to obtain traceback from failure: {e!r})"


def eventAsText(
    event: LogEvent,
    includeTraceback: bool = True,
    includeTimestamp: bool = True,
    includeSystem: bool = True,
    formatTime: Callable[[float | None], str] = formatTime,
) -> str:
    """Render an event as one (possibly multi-line) string, without a trailing newline.

    :param includeTraceback: append the traceback of ``log_failure``.
    :param includeTimestamp: prefix the time.
    :param includeSystem: prefix ``[system]`` (``log_system`` or ``namespace#level``).
    """
    text = formatEvent(event)
    if includeTraceback and "log_failure" in event:
        tb = _failureText(event).rstrip("\n")
        text = f"{text}\n{tb}" if text else tb
    if not text:
        return ""
    prefix = ""
    if includeTimestamp:
        prefix = formatTime(event.get("log_time")) + " "
    if includeSystem:
        prefix += "[" + _systemOf(event) + "] "
    return prefix + text


def _systemOf(event: LogEvent) -> str:
    system = event.get("log_system")
    if system is not None:
        return str(system)
    namespace = event.get("log_namespace", "-")
    level = event.get("log_level")
    levelName = getattr(level, "name", "-") if level is not None else "-"
    return f"{namespace}#{levelName}"


def formatEventAsClassicLogText(
    event: LogEvent, formatTime: Callable[[float | None], str] = formatTime
) -> str | None:
    """Render an event as one classic log entry: ``TIME [SYSTEM] message``, newline-terminated.

    Continuation lines are indented with a tab so each entry stays recognizable.

    :return: the line, or ``None`` if the event has nothing to say.
    """
    text = eventAsText(event, includeTimestamp=False, includeSystem=False)
    if not text:
        return None
    text = text.replace("\n", "\n\t")
    return f"{formatTime(event.get('log_time'))} [{_systemOf(event)}] {text}\n"
