"""``glisten --workers N``: one supervisor process, N worker processes sharing its sockets.

The supervisor asks the plugin for its endpoint strings
(:class:`~glisten.application.service.IShareableServiceMaker`), binds each once (or, with
``--reuse-port``, once per worker with ``SO_REUSEPORT``), and starts the workers: the same
``glisten`` command line without ``--workers``, inheriting the sockets
(:mod:`glisten.internet._inherited`) and systemd's, if it passed any.

Each worker tells the supervisor it is ready the way a service tells systemd: ``READY=1`` on
its own ``NOTIFY_SOCKET``, which the supervisor listens on. The supervisor in turn tells
systemd ``READY=1`` once every worker is ready, ``RELOADING=1`` and ``READY=1`` around a
reload, and the worker count in ``STATUS=``.

- A worker that dies is started again after a pause that doubles on each quick death (up to
  :data:`MAX_BACKOFF` seconds); one that dies before any worker was ever ready ends the
  supervisor with status 1 (its error is on standard error already).
- SIGTERM/SIGINT: every worker gets SIGTERM and drains (stops accepting, finishes what is in
  flight within its grace period, exits 0); the supervisor exits 0 once all have; a worker
  still running ``KILL_MARGIN`` seconds after its grace period gets SIGKILL.
- SIGHUP: a rolling reload. New workers start next to the old ones, on the same listening
  sockets; once all are ready the old ones drain. The listening sockets never close, so no
  connection is refused. (With ``--reuse-port`` each worker has its own socket, and the
  connections waiting in a retiring worker's queue are lost: the kernel's limit, documented.)
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from ..internet import _inherited
from ..internet._systemd import ListenFDs, notify
from ..internet.defer import Deferred, DeferredList, succeed
from ..internet.error import CannotListenError, ConnectionDone, ProcessExitedAlready
from ..internet.main import getReactor
from ..internet.protocol import DatagramProtocol, ProcessProtocol
from ..logger import Logger
from ..python.failure import Failure
from .service import Service

_log = Logger()

#: The environment variable naming a worker's id (and telling the command it is a worker).
WORKER_ID_ENV = "GLISTEN_WORKER_ID"
#: The environment variable naming the worker's end of a pipe from the supervisor: nothing is
#: ever written to it; end of file means the supervisor is gone and the worker should stop.
LIFELINE_ENV = "GLISTEN_SUPERVISOR_FD"

#: The first pause before restarting a worker that died, and the longest.
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: A worker that lived this long after being ready resets the pause.
STABLE_AFTER = 10.0
#: Seconds past a worker's grace period before it is killed.
KILL_MARGIN = 5.0


class WorkersError(Exception):
    """The workers cannot be set up; the message is one line for the user."""


def parseWorkerCount(text: str, cpuCount: Callable[[], int | None] = os.cpu_count) -> int:
    """Read ``--workers``: a positive number, or ``auto`` for the number of CPUs.

    :raises ValueError: for anything else.
    """
    if text == "auto":
        return max(1, cpuCount() or 1)
    try:
        count = int(text)
    except ValueError:
        raise ValueError(f"--workers takes a number or 'auto', not {text!r}") from None
    if count < 1:
        raise ValueError("--workers must be at least 1")
    return count


def _innermostKind(description: str) -> str:
    """The endpoint type under any ``haproxy:`` wrappers (``haproxy:systemd:...``: systemd)."""
    kind, _, rest = description.partition(":")
    while kind.lower() == "haproxy" and rest:
        kind, _, rest = rest.partition(":")
    return kind.lower()


def bindShared(descriptions: Sequence[str], reusePort: bool = False) -> _inherited.BindingReactor:
    """Bind every endpoint string in ``descriptions`` once: stream endpoints as
    :func:`~glisten.internet.endpoints.serverFromString` reads them, datagram ports as
    ``udp:PORT[:interface=HOST]``. systemd's sockets are passed on as systemd passed them.

    :raises WorkersError: if an endpoint cannot be parsed or bound, or is not a listening
        socket (``stdio:``).
    """
    binder = _inherited.BindingReactor(reusePort=reusePort)
    for description in descriptions:
        try:
            _bindOne(binder, description)
        except WorkersError:
            binder.close()
            raise
    return binder


def _bindOne(binder: _inherited.BindingReactor, description: str) -> None:
    from ..internet.endpoints import serverFromString
    from ..internet.protocol import Factory

    kind = _innermostKind(description)
    if kind == "systemd":
        return
    failures: list[Failure] = []
    try:
        if kind == "stdio":
            raise ValueError("a stdio: endpoint cannot be shared by workers")
        if kind == "udp":
            port, interface = _inherited.parseDatagramDescription(description)
            try:
                binder.listenUDP(port, None, interface)
            except CannotListenError:
                failures.append(Failure())
        else:
            serverFromString(binder, description).listen(Factory()).addErrback(failures.append)
    except ValueError as e:
        raise WorkersError(f"glisten: {e}") from None
    if failures:
        reason = failures[0].value
        detail = getattr(reason, "socketError", None) or reason
        if isinstance(detail, OSError) and detail.strerror:
            detail = detail.strerror[:1].lower() + detail.strerror[1:]
        raise WorkersError(f"glisten: cannot listen on {description}: {detail}")


class _NotifyProtocol(DatagramProtocol):
    """Reads one worker's ``sd_notify`` messages."""

    noisy = False

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def datagramReceived(self, datagram: bytes, addr: Any) -> None:
        for line in datagram.decode("utf-8", "replace").splitlines():
            if line == "READY=1":
                self.worker.becameReady()


class _WorkerProtocol(ProcessProtocol):
    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def processEnded(self, reason: Failure) -> None:
        code = getattr(reason.value, "exitCode", None)
        sig = getattr(reason.value, "signal", None)
        self.worker.ended(code, sig)


class _Worker:
    """One worker process, from spawn to exit.

    :ivar workerId: the number shown in its log lines (1..N, kept across restarts).
    :ivar generation: bumped by each reload; a worker of an older one is retiring.
    """

    def __init__(self, supervisor: Supervisor, workerId: int, generation: int) -> None:
        self.supervisor = supervisor
        self.workerId = workerId
        self.generation = generation
        self.ready = False
        self.readyAt: float | None = None
        self.retiring = False
        self.exited = False
        self.process: Any = None
        #: The process id (kept after the process is gone, for the log).
        self.pid: int | None = None
        self.notifyPort: Any = None
        self.whenReady: Deferred[None] = Deferred()
        self.whenEnded: Deferred[None] = Deferred()
        self.killCall: Any = None

    def __repr__(self) -> str:
        return f"<worker {self.workerId} pid={self.pid}>"

    def becameReady(self) -> None:
        if self.ready or self.exited:
            return
        self.ready = True
        self.readyAt = self.supervisor.reactor.seconds()
        self.whenReady.callback(None)

    def signal(self, signum: int) -> None:
        if self.exited or self.process is None:
            return
        try:
            self.process.signalProcess(signum)
        except ProcessExitedAlready:  # processEnded follows
            pass

    def terminate(self, grace: float) -> Deferred[None]:
        """SIGTERM now; SIGKILL if still running ``grace + KILL_MARGIN`` seconds later."""
        if self.retiring:
            return _follow(self.whenEnded)
        self.retiring = True
        self.signal(signal.SIGTERM)
        if not self.exited and self.killCall is None:
            self.killCall = self.supervisor.reactor.callLater(grace + KILL_MARGIN, self._kill)
        return _follow(self.whenEnded)

    def _kill(self) -> None:
        self.killCall = None
        _log.warn(
            "worker {workerId} (pid {pid}) did not stop within its grace period: killing it",
            workerId=self.workerId,
            pid=self.pid,
        )
        self.signal(signal.SIGKILL)

    def ended(self, code: int | None, sig: int | None) -> None:
        self.exited = True
        if self.killCall is not None and self.killCall.active():
            self.killCall.cancel()
        self.killCall = None
        if self.notifyPort is not None:
            self.notifyPort.stopListening()
            self.notifyPort = None
        if not self.whenReady.called:
            self.whenReady.errback(
                Failure(WorkersError(f"worker {self.workerId} exited before it was ready"))
            )
        self.whenEnded.callback(None)
        self.supervisor._workerEnded(self, code, sig)


class Supervisor(Service):
    """Starts, watches, restarts, reloads and stops the worker processes.

    :param reactor: the supervisor's reactor; ``None`` for the global one, looked up when
        the service starts (after the runner installed the one asked for).
    :param count: how many workers run.
    :param command: the worker's command line (program first).
    :param environ: the worker's environment, before the supervisor's own variables.
    :param binder: the sockets the workers share (from :func:`bindShared`).
    :param grace: seconds a worker has to finish what is in flight once told to stop.
    :param notifyManager: sends a state to the supervisor's own manager (systemd).
    """

    def __init__(
        self,
        reactor: Any,
        count: int,
        command: Sequence[str],
        environ: Mapping[str, str],
        binder: _inherited.BindingReactor,
        grace: float,
        notifyManager: Callable[[str], object] = notify,
    ) -> None:
        self._reactor = reactor
        self.count = count
        self.command = list(command)
        self.environ = dict(environ)
        self.binder = binder
        self.grace = grace
        self.notifyManager = notifyManager
        self.workers: list[_Worker] = []
        self.generation = 0
        self.everReady = False
        self.stopping = False
        #: 0, or 1 once the workers could not start.
        self.exitStatus = 0
        self._backoff: dict[int, float] = {}
        self._restartCalls: dict[int, Any] = {}
        self._runtimeDir = tempfile.mkdtemp(prefix="glisten-workers-")
        self._serial = 0
        self._ready: Deferred[None] = Deferred()
        self._reloading = False

    @property
    def reactor(self) -> Any:
        return getReactor(self._reactor)

    # -- the service -------------------------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self.notifyManager(f"STATUS=starting {self.count} workers")
        started = [self._spawn(workerId, self.generation) for workerId in range(1, self.count + 1)]
        gathered = DeferredList(
            [w.whenReady for w in started], fireOnOneErrback=True, consumeErrors=True
        )
        gathered.addCallbacks(self._allReady, self._startFailed)

    def whenReady(self) -> Deferred[None]:
        """Fires once every first worker is ready; fails if one exits before that."""
        return _follow(self._ready)

    def _allReady(self, result: object) -> None:
        self.everReady = True
        self.notifyManager(f"READY=1\nSTATUS={self._status()}")
        _log.info("{count} workers ready", count=self.count)
        if not self._ready.called:
            self._ready.callback(None)

    def _startFailed(self, failure: Failure) -> None:
        self.exitStatus = 1
        if not self._ready.called:
            self._ready.errback(Failure(WorkersError("glisten: a worker failed to start")))

    def stopService(self) -> Deferred[None]:
        """Drain every worker; fires once all have exited."""
        super().stopService()
        self.stopping = True
        self.notifyManager("STOPPING=1")
        for call in self._restartCalls.values():
            if call.active():
                call.cancel()
        self._restartCalls.clear()
        live = [w for w in self.workers if not w.exited]
        if live:
            _log.info("stopping {count} workers", count=len(live))
        d = DeferredList([w.terminate(self.grace) for w in live])

        def cleanUp(result: object) -> None:
            self.binder.close()
            shutil.rmtree(self._runtimeDir, ignore_errors=True)

        d.addCallback(cleanUp)
        return d

    def reload(self) -> Deferred[None]:
        """Start a new generation of workers; once all are ready, drain the old ones.

        :return: fires when the new workers are ready (or the reload was given up: the old
            workers go on serving).
        """
        if self.stopping or not self.everReady or self._reloading:
            _log.info("SIGHUP: not reloading now (starting, stopping or reloading already)")
            return succeed(None)
        self._reloading = True
        self.notifyManager("RELOADING=1")
        old = [w for w in self.workers if not w.retiring]
        self.generation += 1
        _log.info("reloading: starting {count} new workers", count=self.count)
        new = [self._spawn(workerId, self.generation) for workerId in range(1, self.count + 1)]
        gathered = DeferredList(
            [w.whenReady for w in new], fireOnOneErrback=True, consumeErrors=True
        )

        def swap(result: object) -> None:
            _log.info("reloaded: draining {count} old workers", count=len(old))
            for w in old:
                w.terminate(self.grace)

        def giveUp(failure: Failure) -> None:
            _log.error("reload failed: a new worker did not start; the old workers go on")
            for w in new:
                w.terminate(self.grace)
            # The old workers are the current ones again (restarted if they die).
            self.generation -= 1

        def done(result: object) -> None:
            self._reloading = False
            self.notifyManager(f"READY=1\nSTATUS={self._status()}")

        gathered.addCallbacks(swap, giveUp)
        gathered.addBoth(done)
        return gathered

    # -- workers -------------------------------------------------------------------------------

    def _status(self) -> str:
        ready = sum(1 for w in self.workers if w.ready and not w.retiring)
        return f"{ready} workers running"

    def _spawn(self, workerId: int, generation: int) -> _Worker:
        worker = _Worker(self, workerId, generation)
        self._serial += 1
        notifyPath = os.path.join(self._runtimeDir, f"w{self._serial}.notify")
        worker.notifyPort = self.reactor.listenUNIXDatagram(notifyPath, _NotifyProtocol(worker))
        env = dict(self.environ)
        env[WORKER_ID_ENV] = str(workerId)
        env["NOTIFY_SOCKET"] = notifyPath
        childFDs: dict[int, int | str] = {0: 0, 1: 1, 2: 2}
        own = self._reusePortSockets() if self.binder.reusePort else None
        table = self.binder.table(exceptTCP=own is not None)
        if own is not None:
            table += own.table()
        env[_inherited.SHARED_SOCKETS_ENV] = _inherited.encodeTable(table)
        for entry in table:
            childFDs[entry["fd"]] = entry["fd"]
        passed = ListenFDs.fromEnvironment()
        for fd in passed.descriptors:
            childFDs[fd] = fd
        lifeline = max(childFDs) + 1
        childFDs[lifeline] = "w"
        env[LIFELINE_ENV] = str(lifeline)
        try:
            worker.process = self.reactor.spawnProcess(
                _WorkerProtocol(worker),
                self.command[0],
                self.command,
                env=env,
                childFDs=childFDs,
            )
        finally:
            if own is not None:
                # The worker has its copies; the supervisor keeps none in the group, where
                # the kernel would hand it connections nobody accepts.
                own.close()
        worker.pid = worker.process.pid
        self.workers.append(worker)
        _log.info("worker {workerId} started (pid {pid})", workerId=workerId, pid=worker.pid)
        return worker

    def _reusePortSockets(self) -> _inherited.BindingReactor:
        """Fresh listening ``SO_REUSEPORT`` sockets for one worker, one per TCP address the
        supervisor holds (bound, not listening)."""
        fresh = _inherited.BindingReactor(reusePort=True)
        for key, sock in self.binder.sockets.items():
            if key[0] == "tcp":
                port = sock.getsockname()[1]
                # Keyed as the worker will ask (a port 0 stays 0), bound to the real port.
                fresh.bindTCP(key, port, self.binder.backlogs.get(key, 50))
        return fresh

    def _workerEnded(self, worker: _Worker, code: int | None, sig: int | None) -> None:
        if worker in self.workers:
            self.workers.remove(worker)
        how = f"status {code}" if sig is None else f"signal {sig}"
        if worker.retiring or self.stopping:
            _log.info(
                "worker {workerId} (pid {pid}) exited with {how}",
                workerId=worker.workerId,
                pid=worker.pid,
                how=how,
            )
            return
        if not self.everReady and worker.generation == 0:
            # The command itself cannot run: restarting would fail the same way.
            _log.error(
                "worker {workerId} exited with {how} before it was ready",
                workerId=worker.workerId,
                how=how,
            )
            self.exitStatus = 1
            for other in self.workers:
                other.terminate(self.grace)
            return
        if worker.generation != self.generation:
            return
        now = self.reactor.seconds()
        if worker.readyAt is not None and now - worker.readyAt >= STABLE_AFTER:
            self._backoff.pop(worker.workerId, None)
        delay = self._backoff.get(worker.workerId, FIRST_BACKOFF)
        self._backoff[worker.workerId] = min(delay * 2, MAX_BACKOFF)
        _log.warn(
            "worker {workerId} (pid {pid}) exited with {how}; restarting it in {delay} s",
            workerId=worker.workerId,
            pid=worker.pid,
            how=how,
            delay=delay,
        )
        self.notifyManager(f"STATUS={self._status()}")
        self._restartCalls[worker.workerId] = self.reactor.callLater(
            delay, self._restart, worker.workerId, worker.generation
        )

    def _restart(self, workerId: int, generation: int) -> None:
        self._restartCalls.pop(workerId, None)
        if self.stopping or generation != self.generation:
            return
        worker = self._spawn(workerId, generation)

        def ready(result: object) -> None:
            self.notifyManager(f"STATUS={self._status()}")

        worker.whenReady.addCallbacks(ready, lambda f: None)


def _follow(d: Deferred[None]) -> Deferred[None]:
    """A new Deferred with ``d``'s outcome (success or the same failure), leaving ``d``'s
    own result alone for its other followers."""
    out: Deferred[None] = Deferred()

    def fire(result: object) -> object:
        if isinstance(result, Failure):
            out.errback(result)
            return None
        out.callback(None)
        return result

    d.addBoth(fire)
    return out


@attrs.frozen
class WorkerEnvironment:
    """What the supervisor told a worker.

    :ivar workerId: the number its log lines carry.
    :ivar lifeline: the descriptor to give :func:`watchSupervisor` (``None``: none passed).
    """

    workerId: int
    lifeline: int | None


def enterWorker(environ: os._Environ[str] | dict[str, str]) -> WorkerEnvironment | None:
    """Set this process up as a worker if the supervisor started it.

    Takes the supervisor's variables out of the environment (so a program the worker starts
    does not take them for its own), marks the inherited descriptors close-on-exec, and makes
    systemd's passed sockets (if any) this process's.

    :return: what the supervisor passed, or ``None`` when this process is not a worker.
    :raises WorkersError: if the supervisor's variables are malformed.
    """
    raw = environ.pop(WORKER_ID_ENV, None)
    if raw is None:
        return None
    try:
        workerId = int(raw)
        table = _inherited.adoptFromEnvironment(environ)
        lifeline = environ.pop(LIFELINE_ENV, None)
        lifelineFD = None if lifeline is None else int(lifeline)
    except ValueError as e:
        raise WorkersError(f"glisten: bad worker environment: {e}") from None
    environ.pop(_inherited.SHARED_SOCKETS_ENV, None)
    for fd, _family, _shared in table.values():
        os.set_inheritable(fd, False)
    if lifelineFD is not None:
        os.set_inheritable(lifelineFD, False)
    if environ.get("LISTEN_FDS"):
        # systemd checks LISTEN_PID so that children do not take the sockets by mistake; the
        # supervisor passed them on on purpose.
        environ["LISTEN_PID"] = str(os.getpid())
    return WorkerEnvironment(workerId, lifelineFD)


def watchSupervisor(reactor: Any, lifeline: int) -> None:
    """Once ``reactor`` runs, stop it (gracefully: the service drains) when the supervisor's
    pipe ``lifeline`` closes, so that no worker outlives a supervisor killed with SIGKILL."""
    from ..internet.process import FDReader

    def gone(reason: Failure) -> None:
        if not reason.check(ConnectionDone):
            return  # the reactor is shutting down and closing everything
        _log.warn("The supervisor is gone: stopping")
        if reactor.running:
            reactor.stop()

    def watch() -> None:
        FDReader(reactor, lifeline, lambda data: None, gone).startReading()

    reactor.callWhenRunning(watch)


def workerCommand(argv: Sequence[str]) -> list[str]:
    """The command line that runs ``glisten`` with ``argv`` in this interpreter."""
    return [sys.executable, "-m", "glisten.application.cli", *argv]
