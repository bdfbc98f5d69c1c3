"""Run a service the way the ``glisten`` command does.

:func:`runService` owns the process for the service's lifetime: it opens the log, installs
the reactor, writes the pid file, starts the service, tells systemd when it is ready, runs
until SIGINT/SIGTERM (or ``reactor.stop()``), stops the service, and returns the exit status.
SIGHUP reopens the log file (for logrotate) and never ends the process. A port that cannot be
bound is one line on standard error (``glisten: cannot listen on tcp:8080: address already in
use``); its traceback is logged at debug level only.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import IO, Any, cast

from glisten.internet.main import getReactor
from glisten.python._pid import pidIsRunning

from ..internet._systemd import notify
from ..internet.defer import Deferred
from ..internet.defer import TimeoutError as _GraceOver
from ..logger import (
    FilteringLogObserver,
    InvalidLogLevelError,
    Logger,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogBeginner,
    jsonFileLogObserver,
    textFileLogObserver,
)
from ..logger._file import FileLogObserver
from ..logger._format import _systemOf, eventAsText
from ..logger._interfaces import LogEvent
from ..python.failure import Failure
from .service import IService, IServiceCollection

_log = Logger()

#: syslog priorities (``sd-daemon(3)``) for each level.
_JOURNAL_PRIORITY: dict[LogLevel, int] = {
    LogLevel.debug: 7,
    LogLevel.info: 6,
    LogLevel.warn: 4,
    LogLevel.error: 3,
    LogLevel.critical: 2,
}


class RunnerError(Exception):
    """The runner cannot go on; the message is one line for the user."""


def journalFormat(event: LogEvent) -> str | None:
    """Render an event as ``<priority>`` prefixed lines, which journald turns into levels.

    Every line gets the prefix because journald reads each line as its own entry; there is
    no timestamp because the journal adds its own.
    """
    text = eventAsText(event, includeTimestamp=False, includeSystem=True)
    if not text:
        return None
    priority = _JOURNAL_PRIORITY.get(event.get("log_level", LogLevel.info), 6)
    prefix = f"<{priority}>"
    lines = text.split("\n")
    return "".join(f"{prefix}{'' if i == 0 else '  '}{line}\n" for i, line in enumerate(lines))


def journalFileLogObserver(outFile: IO[str]) -> FileLogObserver:
    """An observer writing priority-prefixed lines for systemd's journal to ``outFile``."""
    return FileLogObserver(outFile, journalFormat)


def _streamIsJournal(stream: IO[str], environ: dict[str, str] | os._Environ[str]) -> bool:
    """Whether ``stream`` is the journal stream systemd announced in ``JOURNAL_STREAM``."""
    value = environ.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        st = os.fstat(stream.fileno())
        return (st.st_dev, st.st_ino) == (int(device), int(inode))
    except (ValueError, OSError, AttributeError):
        return False


class _LogFile:
    """A log file that :meth:`reopen` reopens under its path (after logrotate moved it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = self._open()

    def _open(self) -> IO[str]:
        return open(self.path, "a", encoding="utf-8", buffering=1)

    def write(self, text: str) -> int:
        return self._file.write(text)

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def reopen(self) -> None:
        """Close the file and open its path again; keep the old one if that fails."""
        try:
            new = self._open()
        except OSError as e:
            _log.error("Cannot reopen log file {path}: {error}", path=self.path, error=e)
            return
        old, self._file = self._file, new
        old.close()

    def close(self) -> None:
        self._file.close()


def _openLog(logFile: str | None) -> IO[str]:
    if logFile is None or logFile == "-":
        return sys.stdout
    try:
        return cast(IO[str], _LogFile(logFile))
    except OSError as e:
        raise RunnerError(f"glisten: cannot open log file {logFile!r}: {e.strerror or e}") from None


def _startFailure(e: BaseException) -> str | None:
    """One line for a start-up failure the user can fix without a traceback (a port that is
    taken), or None for one that needs the traceback (a bug)."""
    from ..internet.error import CannotListenError

    if not isinstance(e, CannotListenError):
        return None
    reason: object = e.socketError
    if isinstance(reason, OSError) and reason.strerror:
        reason = reason.strerror[:1].lower() + reason.strerror[1:]
    if isinstance(e.port, int):
        where = f"tcp:{e.port}"
        if e.interface:
            where += f":interface={e.interface}"
    else:
        port = e.port
        where = f"unix:{os.fsdecode(port) if isinstance(port, bytes) else port}"
    return f"glisten: cannot listen on {where}: {reason}"


def _onSighup(
    reactor: Any, stream: IO[str], then: Callable[[], object] | None = None
) -> Callable[[int, Any], None]:
    """A SIGHUP handler: reopen the log file (what logrotate expects), call ``then``, and
    never die of it."""

    def reopen() -> None:
        if isinstance(stream, _LogFile):
            stream.reopen()
            _log.info("SIGHUP: reopened the log file {path}", path=stream.path)
        elif then is None:
            _log.info("SIGHUP ignored")
        if then is not None:
            then()

    def handler(signum: int, frame: Any) -> None:
        # Only queue work: the handler may interrupt code that holds the log's locks.
        reactor.callFromThread(reopen)

    return handler


def _makeObserver(
    stream: IO[str], logFormat: str | None, logFile: str | None, level: LogLevel
) -> Callable[[LogEvent], None]:
    if logFormat is None:
        isStdout = logFile is None or logFile == "-"
        logFormat = "journal" if isStdout and _streamIsJournal(stream, os.environ) else "text"
    if logFormat == "text":
        observer: Callable[[LogEvent], None] = textFileLogObserver(stream)
    elif logFormat == "json":
        observer = jsonFileLogObserver(stream)
    elif logFormat == "journal":
        observer = journalFileLogObserver(stream)
    else:
        raise RunnerError(f"glisten: unknown log format {logFormat!r}")
    return FilteringLogObserver(observer, [LogLevelFilterPredicate(defaultLogLevel=level)])


def _workerObserver(
    observer: Callable[[LogEvent], None], workerId: int
) -> Callable[[LogEvent], None]:
    """``observer``, with each event saying which worker logged it (a copy: other observers
    see the event as it was)."""
    tag = f"worker {workerId}"

    def tagged(event: LogEvent) -> None:
        event = dict(event)
        event["log_worker"] = workerId
        event["log_system"] = f"{tag} {_systemOf(event)}"
        observer(event)

    return tagged


def _installReactor(reactorName: str | None) -> Any:
    if reactorName is None:
        return getReactor()
    from .reactors import getReactorTypes, installReactor

    installed = sys.modules.get("glisten.internet.reactor")
    if installed is not None:
        # Something (a plugin building its service, say) installed one already; that is fine
        # if it is the kind asked for.
        for kind in getReactorTypes():
            if kind.shortName == reactorName and type(installed).__module__ == kind.moduleName:
                return installed
        raise RunnerError(
            f"glisten: cannot install reactor {reactorName!r}: "
            f"{type(installed).__name__} was installed already"
        )
    try:
        return installReactor(reactorName)
    except Exception as e:
        raise RunnerError(f"glisten: cannot install reactor {reactorName!r}: {e}") from None


def _writePidFile(pidFile: str) -> None:
    try:
        with open(pidFile, encoding="ascii") as f:
            old = f.read().strip()
    except FileNotFoundError:
        old = ""
    except OSError as e:
        raise RunnerError(f"glisten: cannot read pid file {pidFile!r}: {e.strerror}") from None
    if old:
        try:
            oldPid = int(old)
        except ValueError:
            oldPid = 0
        if oldPid > 0 and oldPid != os.getpid() and pidIsRunning(oldPid):
            raise RunnerError(
                f"glisten: pid file {pidFile!r} names process {oldPid}, which is running"
            )
    try:
        with open(pidFile, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as e:
        raise RunnerError(f"glisten: cannot write pid file {pidFile!r}: {e.strerror}") from None


def _removePidFile(pidFile: str) -> None:
    try:
        os.remove(pidFile)
    except OSError as e:
        if e.errno != errno.ENOENT:
            _log.warn("Cannot remove pid file {pidFile}: {error}", pidFile=pidFile, error=e)


def _walk(service: Any) -> Iterator[Any]:
    yield service
    if IServiceCollection.providedBy(service):
        for child in service:
            yield from _walk(child)


def runService(
    service: IService,
    *,
    reactorName: str | None = None,
    logLevel: str = "info",
    logFile: str | None = None,
    logFormat: str | None = None,
    pidFile: str | None = None,
    logStream: IO[str] | None = None,
    grace: float | None = None,
    workerId: int | None = None,
    ready: Callable[[], Deferred[None]] | None = None,
    onHangup: Callable[[], object] | None = None,
) -> int:
    """Run ``service`` until the process is told to stop.

    :param reactorName: ``epoll``, ``poll``, ``select`` or ``asyncio``; ``None`` for the
        default reactor.
    :param logLevel: the least severe level written to the log.
    :param logFile: a path to append to; ``None`` or ``"-"`` for standard output.
    :param logFormat: ``text``, ``json`` or ``journal``; ``None`` picks ``journal`` when
        standard output is systemd's journal stream (``JOURNAL_STREAM``), else ``text``.
    :param pidFile: where to write the process id while running.
    :param logStream: where log lines go instead of ``logFile`` (standard error, for a
        command whose standard output is its result).
    :param grace: seconds the service's ``stopService`` Deferred (draining connections, say)
        may take before the process stops anyway; ``None`` waits for it.
    :param workerId: this process is worker number ``workerId`` of ``glisten --workers``:
        its log lines say so (``[worker 2 ...]`` in text, ``log_worker`` in JSON).
    :param ready: called once the service started; systemd hears ``READY=1`` when its
        Deferred fires instead of at once (a failure ends the run with status 1).
    :param onHangup: called on SIGHUP, after the log file was reopened.
    :return: 0 after a clean stop, or the service's ``exitStatus`` attribute if it has one
        (a command that stops the reactor itself when done); 1 if the log, pid file or reactor
        cannot be set up or the service fails to start (the reason is one line on standard
        error).
    """
    errorStream = sys.stderr
    try:
        level = LogLevel.levelWithName(logLevel)
    except InvalidLogLevelError:
        errorStream.write(f"glisten: unknown log level {logLevel!r}\n")
        return 1
    stream: IO[str] | None = None
    pidWritten = False
    try:
        try:
            stream = logStream if logStream is not None else _openLog(logFile)
            observer = _makeObserver(stream, logFormat, logFile, level)
            if workerId is not None:
                observer = _workerObserver(observer, workerId)
            if pidFile is not None:
                _writePidFile(pidFile)
                pidWritten = True
            reactor = _installReactor(reactorName)
        except RunnerError as e:
            errorStream.write(f"{e}\n")
            return 1
        return _run(
            service,
            reactor,
            observer,
            errorStream,
            stream,
            grace=grace,
            ready=ready,
            onHangup=onHangup,
        )
    finally:
        if pidWritten and pidFile is not None:
            _removePidFile(pidFile)
        if stream is not None and logFile is not None and logFile != "-":
            stream.close()


def _run(
    service: IService,
    reactor: Any,
    observer: Callable[[LogEvent], None],
    errorStream: IO[str],
    stream: IO[str] | None = None,
    grace: float | None = None,
    ready: Callable[[], Deferred[None]] | None = None,
    onHangup: Callable[[], object] | None = None,
) -> int:
    from .internet import StreamServerEndpointService

    globalLogBeginner.beginLoggingTo([observer])
    status = [0]
    started = [False]

    for node in _walk(service):
        if isinstance(node, StreamServerEndpointService):
            # A port that cannot be bound is a start-up failure of the command.
            node._raiseSynchronously = True

    def start() -> None:
        try:
            service.privilegedStartService()
            service.startService()
        except Exception as e:
            line = _startFailure(e)
            if line is None:
                _log.failure("Service {service} failed to start", service=service)
                message = str(e) or type(e).__name__
                line = f"glisten: the service failed to start: {message}"
            else:
                # The user's mistake, not a bug: the traceback only at --log-level debug.
                _log.failure(
                    "Service {service} failed to start", service=service, level=LogLevel.debug
                )
            errorStream.write(f"{line}\n")
            errorStream.flush()
            status[0] = 1
            reactor.stop()
            return
        started[0] = True
        _log.info("Service started: {service}", service=service)
        if ready is None:
            notify("READY=1")
            return

        def notReady(failure: Failure) -> None:
            errorStream.write(f"{failure.getErrorMessage()}\n")
            errorStream.flush()
            status[0] = 1
            if reactor.running:
                reactor.stop()

        ready().addCallbacks(lambda _: None, notReady)

    def stop() -> Any:
        notify("STOPPING=1")
        if not service.running:
            return None
        stopping = service.stopService()
        if grace is None or not isinstance(stopping, Deferred):
            return stopping

        def tooLong(failure: Failure) -> None:
            failure.trap(_GraceOver)
            _log.warn("Grace period of {grace} s over: stopping anyway", grace=grace)

        return stopping.addTimeout(grace, reactor).addErrback(tooLong)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    previousHup: Any = None
    onMainThread = threading.current_thread() is threading.main_thread()
    if onMainThread and stream is not None:
        previousHup = signal.signal(signal.SIGHUP, _onSighup(reactor, stream, onHangup))
    try:
        reactor.run()
    finally:
        if previousHup is not None:
            signal.signal(signal.SIGHUP, previousHup)
    if started[0]:
        _log.info("Service stopped")
    return status[0] or int(getattr(service, "exitStatus", 0) or 0)
