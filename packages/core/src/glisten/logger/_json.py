"""Events as JSON: one record per event, readable back into equivalent events.

Each record is ``RS JSON LF`` (RFC 7464 JSON text sequences) by default. Values that JSON
cannot hold are written as ``{"unpersistable": true, "repr": ...}``; the message survives
anyway because the format fields are rendered into ``log_flattened`` first.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import IO, Any

from ._file import FileLogObserver
from ._format import _failureText, _safeRepr, flattenEvent
from ._interfaces import LogEvent
from ._levels import LogLevel
from ._logger import Logger

_log = Logger(namespace="glisten.logger.json")

_TYPE_KEY = "__glisten_type__"
_DROPPED_KEYS = frozenset({"log_logger", "log_trace"})


def _encodeLevel(level: LogLevel) -> dict[str, Any]:
    return {_TYPE_KEY: "LogLevel", "name": level.name}


def _encodeFailure(failure: object) -> dict[str, Any]:
    failureType = getattr(failure, "type", None)
    typeName = (
        f"{failureType.__module__}.{failureType.__qualname__}"
        if isinstance(failureType, type)
        else _safeRepr(failureType)
    )
    try:
        message = str(failure.getErrorMessage())  # type: ignore[attr-defined]
    except Exception:
        message = _safeRepr(getattr(failure, "value", None))
    return {
        _TYPE_KEY: "Failure",
        "type": typeName,
        "value": message,
        "traceback": _failureText({"log_failure": failure}),
    }


def _default(obj: object) -> Any:
    if isinstance(obj, LogLevel):
        return _encodeLevel(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return {"unpersistable": True, "repr": _safeRepr(obj)}


def eventAsJSON(event: LogEvent) -> str:
    """Serialize ``event`` as one line of JSON (no newline)."""
    flat = dict(event)
    flattenEvent(flat)
    record: dict[str, Any] = {}
    for key, value in flat.items():
        if key in _DROPPED_KEYS or not isinstance(key, str):
            continue
        if key == "log_failure":
            record[key] = _encodeFailure(value)
        elif key == "log_level" and isinstance(value, LogLevel):
            record[key] = _encodeLevel(value)
        else:
            record[key] = value
    try:
        return json.dumps(record, default=_default, skipkeys=True, ensure_ascii=False)
    except (ValueError, RecursionError):
        # A circular structure: keep what every reader needs and drop the rest.
        safe: dict[str, Any] = {
            k: record[k]
            for k in ("log_format", "log_flattened", "log_namespace", "log_time", "log_failure")
            if k in record
        }
        flattened = safe.get("log_flattened")
        if isinstance(flattened, dict):
            # Keep the rendered texts; a value may be the circular part.
            safe["log_flattened"] = {k: v for k, v in flattened.items() if isinstance(v, str)}
        if "log_level" in record:
            safe["log_level"] = record["log_level"]
        return json.dumps(safe, default=_default, skipkeys=True, ensure_ascii=False)


def _objectHook(obj: dict[str, Any]) -> Any:
    kind = obj.get(_TYPE_KEY)
    if kind == "LogLevel":
        try:
            return LogLevel[obj["name"]]
        except (KeyError, TypeError):
            return obj
    return obj


def eventFromJSON(eventText: str) -> LogEvent:
    """Parse one record written by :func:`eventAsJSON` back into an event.

    ``log_level`` comes back as a :class:`LogLevel`; ``log_failure`` as a mapping with
    ``type``, ``value`` and ``traceback`` (the text observers render).

    :raises ValueError: if the text is not a JSON object.
    """
    loaded = json.loads(eventText, object_hook=_objectHook)
    if not isinstance(loaded, dict):
        raise ValueError("a JSON log record must be an object")
    return loaded


def jsonFileLogObserver(outFile: IO[str], recordSeparator: str = "\x1e") -> FileLogObserver:
    """An observer writing each event as a JSON record to ``outFile``.

    :param recordSeparator: written before each record; ``"\\x1e"`` (RFC 7464) by default,
        ``""`` gives plain newline-delimited JSON.
    """

    def _format(event: LogEvent) -> str:
        return f"{recordSeparator}{eventAsJSON(event)}\n"

    return FileLogObserver(outFile, _format)


def eventsFromJSONLogFile(
    inFile: IO[str],
    recordSeparator: str | None = None,
    bufferSize: int = 4096,
    maxRecordSize: int = 16 * 1024 * 1024,
) -> Iterator[LogEvent]:
    """Read the events of a JSON log written by :func:`jsonFileLogObserver`.

    Damaged records (truncated, not JSON, larger than ``maxRecordSize``) are skipped and
    reported through the log, so one bad write does not lose the rest of the file.

    :param recordSeparator: the separator; ``None`` detects it from the first character
        (``"\\x1e"`` if present, else one record per line).
    """

    def chunks() -> Iterator[str]:
        while True:
            data = inFile.read(bufferSize)
            if not data:
                return
            yield data

    source = chunks()
    first = next(source, "")
    if not first:
        return
    if recordSeparator is None:
        recordSeparator = "\x1e" if first.startswith("\x1e") else ""
    separator = recordSeparator if recordSeparator else "\n"
    rsMode = bool(recordSeparator)

    def records() -> Iterator[str]:
        buffer = ""
        skipping = False
        for data in itertools.chain((first,), source):
            buffer += data
            *complete, buffer = buffer.split(separator)
            for record in complete:
                if skipping:
                    skipping = False
                    continue
                yield record
            if len(buffer) > maxRecordSize:
                _log.error(
                    "Skipping JSON log record larger than {maxRecordSize} characters",
                    maxRecordSize=maxRecordSize,
                )
                buffer = ""
                skipping = True
        if not skipping:
            yield buffer

    for record in records():
        if rsMode:
            if not record:
                continue
            if not record.endswith("\n"):
                _log.error("Unable to read truncated JSON record: {record!r}", record=record)
                continue
        elif not record.strip():
            continue
        try:
            yield eventFromJSON(record)
        except ValueError:
            _log.error("Unable to read JSON record: {record!r}", record=record)
