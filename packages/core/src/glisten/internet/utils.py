"""
Run a program and get its output or exit code as a Deferred.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Mapping, Sequence
from typing import Any

from glisten.internet import error, protocol
from glisten.internet.defer import Deferred
from glisten.internet.process import ProcessExecError
from glisten.python.failure import Failure

__all__ = [
    "ProcessKilledError",
    "getProcessOutput",
    "getProcessOutputAndValue",
    "getProcessValue",
]

_StrOrBytes = str | bytes


class _UnexpectedErrorOutput(OSError):
    """
    The program wrote to stderr while ``errortoo`` was false.

    :ivar processEnded: fires when the program has ended.
    """

    def __init__(self, text: bytes, processEnded: Deferred[Any]) -> None:
        OSError.__init__(self, f"got stderr: {text!r}")
        self.processEnded = processEnded


class ProcessKilledError(Exception):
    """
    :func:`getProcessOutputAndValue`'s program was killed by a signal.

    ``args`` is ``(stdout, stderr, signal number)``. (Twisted errbacks with that bare tuple,
    which is not an exception; glisten wraps it.)
    """


def _spawn(
    proto: protocol.ProcessProtocol,
    executable: _StrOrBytes,
    args: Sequence[_StrOrBytes],
    env: Mapping[_StrOrBytes, _StrOrBytes] | None,
    path: _StrOrBytes | None,
    reactor: Any,
) -> None:
    if reactor is None:
        reactor = importlib.import_module("glisten.internet.reactor")
    reactor.spawnProcess(proto, executable, (executable, *args), env, path)


class _OutputCollector(protocol.ProcessProtocol):
    def __init__(self, deferred: Deferred[bytes], errortoo: bool) -> None:
        self.deferred: Deferred[bytes] | None = deferred
        self.errortoo = errortoo
        self.output = io.BytesIO()
        self.onProcessEnded: Deferred[Any] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output.write(data)

    def errReceived(self, data: bytes) -> None:
        if self.errortoo:
            self.output.write(data)
            return
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            d.errback(_UnexpectedErrorOutput(data, self.onProcessEnded))
            self.transport.loseConnection()

    def processEnded(self, reason: Failure) -> None:
        if self.deferred is not None:
            d, self.deferred = self.deferred, None
            if reason.check(ProcessExecError):
                d.errback(reason)
            else:
                d.callback(self.output.getvalue())
        self.onProcessEnded.callback(None)


def getProcessOutput(
    executable: _StrOrBytes,
    args: Sequence[_StrOrBytes] = (),
    env: Mapping[_StrOrBytes, _StrOrBytes] | None = None,
    path: _StrOrBytes | None = None,
    reactor: Any = None,
    errortoo: bool = False,
) -> Deferred[bytes]:
    """
    :return: a Deferred firing with everything the program wrote to stdout (and stderr, with
        ``errortoo``). Output on stderr without ``errortoo`` fails it with an ``OSError``
        (whose ``processEnded`` Deferred fires when the program ends); so does a program that
        cannot be started (:class:`~glisten.internet.process.ProcessExecError`).
    :param env: the environment; None inherits this process's.
    """
    d: Deferred[bytes] = Deferred()
    _spawn(_OutputCollector(d, errortoo), executable, args, env, path, reactor)
    return d


class _ValueCollector(protocol.ProcessProtocol):
    def __init__(self, deferred: Deferred[int | None]) -> None:
        self.deferred = deferred

    def processEnded(self, reason: Failure) -> None:
        self.deferred.callback(getattr(reason.value, "exitCode", None))


def getProcessValue(
    executable: _StrOrBytes,
    args: Sequence[_StrOrBytes] = (),
    env: Mapping[_StrOrBytes, _StrOrBytes] | None = None,
    path: _StrOrBytes | None = None,
    reactor: Any = None,
) -> Deferred[int | None]:
    """
    :return: a Deferred firing with the program's exit code (None if a signal killed it, 127
        if it could not be started).
    """
    d: Deferred[int | None] = Deferred()
    _spawn(_ValueCollector(d), executable, args, env, path, reactor)
    return d


class _EverythingCollector(protocol.ProcessProtocol):
    def __init__(self, deferred: Deferred[tuple[bytes, bytes, int]]) -> None:
        self.deferred = deferred
        self.out = io.BytesIO()
        self.err = io.BytesIO()

    def outReceived(self, data: bytes) -> None:
        self.out.write(data)

    def errReceived(self, data: bytes) -> None:
        self.err.write(data)

    def processEnded(self, reason: Failure) -> None:
        out, err = self.out.getvalue(), self.err.getvalue()
        value = reason.value
        if isinstance(value, error.ProcessTerminated) and value.signal is not None:
            self.deferred.errback(ProcessKilledError(out, err, value.signal))
            return
        code = getattr(value, "exitCode", None)
        self.deferred.callback((out, err, code if code is not None else -1))


def getProcessOutputAndValue(
    executable: _StrOrBytes,
    args: Sequence[_StrOrBytes] = (),
    env: Mapping[_StrOrBytes, _StrOrBytes] | None = None,
    path: _StrOrBytes | None = None,
    reactor: Any = None,
) -> Deferred[tuple[bytes, bytes, int]]:
    """
    :return: a Deferred firing with ``(stdout, stderr, exit code)``; if a signal killed the
        program it fails with :class:`ProcessKilledError` holding ``(stdout, stderr, signal)``.
    """
    d: Deferred[tuple[bytes, bytes, int]] = Deferred()
    _spawn(_EverythingCollector(d), executable, args, env, path, reactor)
    return d
