"""
Child processes on POSIX: ``reactor.spawnProcess``.

A child's pipes are plain file descriptors registered with the reactor through
``IReactorFDSet`` (:class:`FDReader` and :class:`FDWriter`, also used by
:mod:`glisten.internet.stdio`). Children are reaped as soon as they exit: through a pidfd
(``os.pidfd_open``, Linux 5.3+) watched by the reactor where available, else by polling
``waitpid(WNOHANG)`` with a backoff; reactors that handle ``SIGCHLD`` may also call
:func:`reapAllProcesses`. No zombie is left behind either way.

An executable that cannot be run (missing, not executable, bad working directory) is reported
to ``processEnded`` as :class:`ProcessExecError`, a
:class:`~glisten.internet.error.ProcessTerminated` with exit code 127 carrying the ``OSError``,
instead of Twisted's traceback on the child's stderr.
"""

from __future__ import annotations

import errno
import fcntl
import os
import signal
import sys
import termios
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from zope.interface import implementer

from glisten.internet import error, interfaces
from glisten.python.failure import Failure

__all__ = [
    "FDReader",
    "FDWriter",
    "PTYProcess",
    "Process",
    "ProcessExecError",
    "reapAllProcesses",
    "spawnProcess",
]

_READ_SIZE = 65536
_HIGH_WATER = 1 << 20

StrOrBytes = str | bytes


class ProcessExecError(error.ProcessTerminated):
    """
    The child could not execute the program; it exited with status 127.

    :ivar osError: the error ``exec`` (or the setup before it) failed with.
    """

    def __init__(self, osError: OSError, status: int | None) -> None:
        super().__init__(exitCode=127, status=status)
        self.osError = osError
        Exception.__init__(self, f"could not start the process: {osError}")


@implementer(interfaces.IAddress)
@attrs.frozen
class _ProcessAddress:
    """
    The address of a child process's end of its pipes (there is none to speak of).
    """


def _setNonBlocking(fd: int) -> None:
    os.set_blocking(fd, False)


# ---------------------------------------------------------------------------------------------
# Descriptors


@implementer(interfaces.IReadDescriptor)
class FDReader:
    """
    Reads a descriptor (a pipe, a PTY master, stdin) for the reactor.

    :ivar fd: the descriptor, -1 once closed.
    """

    def __init__(
        self,
        reactor: Any,
        fd: int,
        dataReceived: Callable[[bytes], object],
        readLost: Callable[[Failure], object],
    ) -> None:
        """
        :param dataReceived: called with each chunk read.
        :param readLost: called once, on end of file or a read error.
        """
        self.reactor = reactor
        self.fd = fd
        self._dataReceived = dataReceived
        self._readLost = readLost
        self._reading = False
        self._pollCall: Any = None
        _setNonBlocking(fd)

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return f"FDReader({self.fd})"

    def startReading(self) -> None:
        if self._reading or self.fd < 0:
            return
        self._reading = True
        try:
            self.reactor.addReader(self)
        except PermissionError:
            # A regular file (epoll refuses those): it is always readable, so poll it.
            self._pollCall = self.reactor.callLater(0, self._pollRead)

    def _pollRead(self) -> None:
        self._pollCall = None
        if not self._reading:
            return
        self.doRead()
        if self._reading and self.fd >= 0:
            self._pollCall = self.reactor.callLater(0, self._pollRead)

    def stopReading(self) -> None:
        if not self._reading:
            return
        self._reading = False
        if self._pollCall is not None:
            self._pollCall.cancel()
            self._pollCall = None
        else:
            self.reactor.removeReader(self)

    def doRead(self) -> None:
        try:
            data = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return
        except InterruptedError:
            return
        except OSError as e:
            # EIO is how a PTY master reports that the child side is gone.
            reason = (
                error.ConnectionDone() if e.errno == errno.EIO else error.ConnectionLost(str(e))
            )
            self.connectionLost(Failure(reason))
            return
        if data:
            self._dataReceived(data)
        else:
            self.connectionLost(Failure(error.ConnectionDone()))

    def connectionLost(self, reason: Any) -> None:
        """
        Stop reading, close the descriptor and report (once).
        """
        if self.fd < 0:
            return
        self.stopReading()
        fd, self.fd = self.fd, -1
        try:
            os.close(fd)
        except OSError:
            pass
        self._readLost(reason)

    def loseConnection(self) -> None:
        self.connectionLost(Failure(error.ConnectionDone()))


@implementer(interfaces.IWriteDescriptor, interfaces.IConsumer)
class FDWriter:
    """
    Writes to a descriptor (a pipe, stdout) for the reactor, buffering what does not fit.

    :ivar fd: the descriptor, -1 once closed.
    """

    def __init__(
        self,
        reactor: Any,
        fd: int,
        writeLost: Callable[[Failure], object],
        *,
        closeFD: bool = True,
    ) -> None:
        """
        :param writeLost: called once, when the descriptor is closed or breaks.
        :param closeFD: close ``fd`` at the end (False for a PTY master shared with a reader).
        """
        self.reactor = reactor
        self.fd = fd
        self._writeLost = writeLost
        self._closeFD = closeFD
        self._buffer = bytearray()
        self._writing = False
        self.disconnecting = False
        self.producer: Any = None
        self._streaming = False
        self._producerPaused = False
        _setNonBlocking(fd)

    def fileno(self) -> int:
        return self.fd

    def logPrefix(self) -> str:
        return f"FDWriter({self.fd})"

    def write(self, data: bytes) -> None:
        """
        Write ``data`` now if the descriptor takes it, else buffer it.
        """
        if self.fd < 0 or self.disconnecting or not data:
            return
        if not self._buffer:
            try:
                written = os.write(self.fd, data)
            except BlockingIOError:
                written = 0
            except OSError as e:
                self.connectionLost(Failure(error.ConnectionLost(str(e))))
                return
            if written == len(data):
                return
            data = data[written:]
        self._buffer += data
        if not self._writing:
            self._writing = True
            try:
                self.reactor.addWriter(self)
            except PermissionError:
                # A regular file (epoll refuses those) never blocks: finish the write now.
                self._writing = False
                self._writeAllNow()
                return
        if self.producer is not None and self._streaming and len(self._buffer) > _HIGH_WATER:
            if not self._producerPaused:
                self._producerPaused = True
                self.producer.pauseProducing()

    def _writeAllNow(self) -> None:
        os.set_blocking(self.fd, True)
        try:
            while self._buffer:
                del self._buffer[: os.write(self.fd, self._buffer)]
        except OSError as e:
            self.connectionLost(Failure(error.ConnectionLost(str(e))))
            return
        finally:
            if self.fd >= 0:
                os.set_blocking(self.fd, False)
        if self.disconnecting:
            self.connectionLost(Failure(error.ConnectionDone()))

    def writeSequence(self, seq: Sequence[bytes]) -> None:
        self.write(b"".join(seq))

    def doWrite(self) -> None:
        if self._buffer:
            try:
                written = os.write(self.fd, self._buffer)
            except BlockingIOError:
                return
            except OSError as e:
                self.connectionLost(Failure(error.ConnectionLost(str(e))))
                return
            del self._buffer[:written]
        if self._buffer:
            return
        self._writing = False
        self.reactor.removeWriter(self)
        if self.disconnecting:
            self.connectionLost(Failure(error.ConnectionDone()))
        elif self.producer is not None:
            if not self._streaming:
                self.producer.resumeProducing()
            elif self._producerPaused:
                self._producerPaused = False
                self.producer.resumeProducing()

    def loseConnection(self) -> None:
        """
        Close once the buffer is written.
        """
        if self.fd < 0 or self.disconnecting:
            return
        self.disconnecting = True
        if not self._buffer:
            self.connectionLost(Failure(error.ConnectionDone()))

    def connectionLost(self, reason: Any) -> None:
        if self.fd < 0:
            return
        if self._writing:
            self._writing = False
            self.reactor.removeWriter(self)
        fd, self.fd = self.fd, -1
        self._buffer.clear()
        if self._closeFD:
            try:
                os.close(fd)
            except OSError:
                pass
        producer, self.producer = self.producer, None
        if producer is not None:
            producer.stopProducing()
        self._writeLost(reason)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        if self.producer is not None:
            raise RuntimeError(f"{self.producer!r} is already registered")
        if self.fd < 0:
            producer.stopProducing()
            return
        self.producer = producer
        self._streaming = streaming
        self._producerPaused = False
        if not streaming:
            producer.resumeProducing()

    def unregisterProducer(self) -> None:
        self.producer = None


# ---------------------------------------------------------------------------------------------
# Reaping

_reapHandlers: dict[int, Process] = {}


def reapAllProcesses() -> None:
    """
    Reap every child glisten started that has exited; for reactors' ``SIGCHLD`` handlers.
    """
    for process in list(_reapHandlers.values()):
        process._tryReap()


@implementer(interfaces.IReadDescriptor)
class _PidfdWatcher:
    """
    Watches a pidfd: it becomes readable when the child exits.
    """

    def __init__(self, process: Process, pidfd: int) -> None:
        self.process = process
        self.pidfd = pidfd

    def fileno(self) -> int:
        return self.pidfd

    def logPrefix(self) -> str:
        return "pidfd"

    def doRead(self) -> None:
        self.process._tryReap()

    def connectionLost(self, reason: Any) -> None:
        self.process._stopWatching()


def _validateStrings(executable: StrOrBytes, args: Sequence[StrOrBytes]) -> list[StrOrBytes]:
    if not isinstance(executable, str | bytes):
        raise TypeError(f"executable must be str or bytes, not {executable!r}")
    out: list[StrOrBytes] = []
    for arg in [executable, *args]:
        if not isinstance(arg, str | bytes):
            raise TypeError(f"process arguments must be str or bytes, not {arg!r}")
        if (b"\0" if isinstance(arg, bytes) else "\0") in arg:  # type: ignore[operator]
            raise ValueError(f"NUL byte in process argument {arg!r}")
    out.extend(args)
    return out


def _validateEnv(
    env: Mapping[StrOrBytes, StrOrBytes] | None,
) -> dict[StrOrBytes, StrOrBytes] | None:
    if env is None:
        return None
    clean: dict[StrOrBytes, StrOrBytes] = {}
    for key, value in env.items():
        for item in (key, value):
            if not isinstance(item, str | bytes):
                raise TypeError(f"environment entries must be str or bytes, not {item!r}")
            if (b"\0" if isinstance(item, bytes) else "\0") in item:  # type: ignore[operator]
                raise ValueError(f"NUL byte in environment entry {item!r}")
        if (b"=" if isinstance(key, bytes) else "=") in key or not key:  # type: ignore[operator]
            raise ValueError(f"bad environment variable name {key!r}")
        clean[key] = value
    return clean


def _childExec(
    executable: StrOrBytes,
    args: list[StrOrBytes],
    env: dict[StrOrBytes, StrOrBytes] | None,
    path: StrOrBytes | None,
    uid: int | None,
    gid: int | None,
    fdmap: dict[int, int],
    errWrite: int,
    pty: int | None,
) -> None:
    """
    In the forked child: arrange descriptors, drop privileges, exec. Never returns.

    Only ``os`` calls here: the child of a threaded parent must not touch locks.
    """
    try:
        try:
            if pty is not None:
                os.setsid()
                fcntl.ioctl(pty, termios.TIOCSCTTY, 0)
            # Move every source out of the way of every target, then place them.
            floor = max([*fdmap.keys(), *fdmap.values(), errWrite, 2]) + 1
            moved = {
                target: fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, floor)
                for target, source in fdmap.items()
            }
            errWrite = fcntl.fcntl(errWrite, fcntl.F_DUPFD_CLOEXEC, floor)
            for target, source in moved.items():
                os.dup2(source, target, inheritable=True)
            keep = set(fdmap) | {errWrite}
            try:
                openFDs = [int(n) for n in os.listdir("/proc/self/fd")]
            except OSError:
                openFDs = list(range(0, 1024))
            for fd in openFDs:
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            for sig in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)):
                if sig is not None:
                    signal.signal(sig, signal.SIG_DFL)
            if path is not None:
                os.chdir(path)
            if gid is not None:
                os.setgid(gid)
            if uid is not None:
                os.setuid(uid)
            if env is None:
                os.execvp(executable, args)
            else:
                os.execvpe(executable, args, env)  # type: ignore[arg-type]
        except OSError as e:
            message = f"{e.errno or 0}:{e.strerror or e}".encode("utf-8", "replace")
            os.write(errWrite, message[:4000])
        except BaseException as e:  # noqa: B036 - nothing may escape a forked child
            os.write(errWrite, f"0:{e!r}".encode("utf-8", "replace")[:4000])
    finally:
        os._exit(127)


def _readExecError(errRead: int) -> OSError | None:
    chunks = []
    while True:
        try:
            chunk = os.read(errRead, 4096)
        except InterruptedError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
    os.close(errRead)
    if not chunks:
        return None
    number, _, text = b"".join(chunks).decode("utf-8", "replace").partition(":")
    try:
        code = int(number)
    except ValueError:
        code = 0
    return OSError(code, text) if code else OSError(text)


@implementer(interfaces.IProcessTransport, interfaces.IPushProducer)
class Process:
    """
    A running child process and its pipes (``IProcessTransport``).

    :ivar pid: the process id, None once reaped.
    :ivar status: the raw wait status once reaped, else -1.
    :ivar pipes: the open pipes by child descriptor number.
    """

    def __init__(
        self,
        reactor: Any,
        executable: StrOrBytes,
        args: Sequence[StrOrBytes],
        environment: Mapping[StrOrBytes, StrOrBytes] | None,
        path: StrOrBytes | None,
        proto: Any,
        uid: int | None = None,
        gid: int | None = None,
        childFDs: Mapping[int, int | str] | None = None,
    ) -> None:
        argList = _validateStrings(executable, args)
        env = _validateEnv(environment)
        if childFDs is None:
            childFDs = {0: "w", 1: "r", 2: "r"}
        self.reactor = reactor
        self.proto = proto
        self.pid: int | None = None
        self.status = -1
        self.pipes: dict[int, FDReader | FDWriter] = {}
        self._execError: OSError | None = None
        self._exitReason: BaseException | None = None
        self._pidfd: _PidfdWatcher | None = None
        self._pollCall: Any = None
        self._pollDelay = 0.001
        self._ended = False

        parentEnds: dict[int, tuple[str, int]] = {}
        fdmap: dict[int, int] = {}
        toCloseInParent: list[int] = []
        try:
            for childFD, kind in childFDs.items():
                if kind == "r":
                    r, w = os.pipe()
                    parentEnds[childFD] = ("r", r)
                    fdmap[childFD] = w
                    toCloseInParent.append(w)
                elif kind == "w":
                    r, w = os.pipe()
                    parentEnds[childFD] = ("w", w)
                    fdmap[childFD] = r
                    toCloseInParent.append(r)
                elif isinstance(kind, int):
                    fdmap[childFD] = kind
                else:
                    raise ValueError(f"childFDs values are 'r', 'w' or an int, not {kind!r}")
            self._fork(argList, executable, env, path, uid, gid, fdmap, None)
        except BaseException:
            for _, fd in parentEnds.values():
                os.close(fd)
            raise
        finally:
            for fd in toCloseInParent:
                os.close(fd)
        for childFD, (kind, fd) in parentEnds.items():
            self.pipes[childFD] = self._makePipe(childFD, kind, fd)
        self._connect()

    def _makePipe(self, childFD: int, kind: str, fd: int) -> FDReader | FDWriter:
        if kind == "r":
            reader = FDReader(
                self.reactor,
                fd,
                lambda data: self.childDataReceived(childFD, data),
                lambda reason: self.childConnectionLost(childFD, reason),
            )
            return reader
        return FDWriter(self.reactor, fd, lambda reason: self.childConnectionLost(childFD, reason))

    def _fork(
        self,
        argList: list[StrOrBytes],
        executable: StrOrBytes,
        env: dict[StrOrBytes, StrOrBytes] | None,
        path: StrOrBytes | None,
        uid: int | None,
        gid: int | None,
        fdmap: dict[int, int],
        pty: int | None,
    ) -> None:
        errRead, errWrite = os.pipe()
        try:
            pid = os.fork()
        except BaseException:
            os.close(errRead)
            os.close(errWrite)
            raise
        if pid == 0:
            _childExec(executable, argList, env, path, uid, gid, fdmap, errWrite, pty)
        os.close(errWrite)
        self.pid = pid
        self._execError = _readExecError(errRead)

    def _connect(self) -> None:
        """
        Start watching the child and its pipes, then connect the protocol.
        """
        self._watch()
        self.proto.makeConnection(self)
        for pipe in list(self.pipes.values()):
            if isinstance(pipe, FDReader):
                pipe.startReading()

    # -- reaping ------------------------------------------------------------------------------

    def _watch(self) -> None:
        assert self.pid is not None
        pidfdOpen = getattr(os, "pidfd_open", None)
        if pidfdOpen is not None:
            try:
                pidfd = pidfdOpen(self.pid)
            except OSError:
                pass
            else:
                self._pidfd = _PidfdWatcher(self, pidfd)
                self.reactor.addReader(self._pidfd)
                return
        _reapHandlers[self.pid] = self
        self._pollCall = self.reactor.callLater(self._pollDelay, self._poll)

    def _poll(self) -> None:
        self._pollCall = None
        self._tryReap()
        if self.pid is not None:
            self._pollDelay = min(self._pollDelay * 2, 1.0)
            self._pollCall = self.reactor.callLater(self._pollDelay, self._poll)

    def _stopWatching(self) -> None:
        if self._pidfd is not None:
            watcher, self._pidfd = self._pidfd, None
            self.reactor.removeReader(watcher)
            os.close(watcher.pidfd)
        if self._pollCall is not None:
            self._pollCall.cancel()
            self._pollCall = None

    def _tryReap(self) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            # Someone else reaped it (a stray waitpid(-1)): the status is lost.
            got, status = pid, 0
            self._exitReason = error.ProcessTerminated(status=None)
        if got == 0:
            return
        self._processExited(status)

    def _processExited(self, status: int) -> None:
        pid = self.pid
        self.pid = None
        self.status = status
        if pid is not None:
            _reapHandlers.pop(pid, None)
        self._stopWatching()
        reason = self._exitReason
        if reason is None:
            reason = _reasonFor(status, self._execError)
        self._exitReason = reason
        self.proto.processExited(Failure(reason))
        # Nobody is left to read what we would write.
        for pipe in list(self.pipes.values()):
            if isinstance(pipe, FDWriter):
                pipe.connectionLost(Failure(error.ConnectionDone()))
        self._maybeProcessEnded()

    def _maybeProcessEnded(self) -> None:
        if self.pipes or self.pid is not None or self._ended:
            return
        self._ended = True
        assert self._exitReason is not None
        self.proto.processEnded(Failure(self._exitReason))

    # -- pipes --------------------------------------------------------------------------------

    def childDataReceived(self, childFD: int, data: bytes) -> None:
        self.proto.childDataReceived(childFD, data)

    def childConnectionLost(self, childFD: int, reason: Failure) -> None:
        if self.pipes.pop(childFD, None) is None:
            return
        self.proto.childConnectionLost(childFD)
        self._maybeProcessEnded()

    # -- IProcessTransport --------------------------------------------------------------------

    def writeToChild(self, childFD: int, data: bytes) -> None:
        """
        :raises KeyError: if ``childFD`` is not an open pipe the parent writes to.
        """
        pipe = self.pipes[childFD]
        if not isinstance(pipe, FDWriter):
            raise KeyError(childFD)
        pipe.write(data)

    def write(self, data: bytes) -> None:
        """
        Write to the child's stdin (ignored once it is closed).
        """
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.write(data)

    def writeSequence(self, seq: Any) -> None:
        self.write(b"".join(seq))

    def closeChildFD(self, childFD: int) -> None:
        pipe = self.pipes.get(childFD)
        if pipe is not None:
            pipe.loseConnection()

    def closeStdin(self) -> None:
        self.closeChildFD(0)

    def closeStdout(self) -> None:
        self.closeChildFD(1)

    def closeStderr(self) -> None:
        self.closeChildFD(2)

    def loseConnection(self) -> None:
        """
        Close stdin (after writing what is buffered), stdout and stderr.
        """
        for childFD in (0, 1, 2):
            self.closeChildFD(childFD)

    def signalProcess(self, signalID: str | int) -> None:
        """
        :param signalID: a number or a name without ``SIG`` (``"TERM"``, ``"KILL"``, ``"INT"``).
        :raises glisten.internet.error.ProcessExitedAlready: if the child has been reaped.
        :raises ValueError: for an unknown signal name.
        """
        if isinstance(signalID, str):
            number = getattr(signal, "SIG" + signalID.upper().removeprefix("SIG"), None)
            if number is None:
                raise ValueError(f"unknown signal {signalID!r}")
            signalID = int(number)
        if self.pid is None:
            raise error.ProcessExitedAlready()
        try:
            os.kill(self.pid, signalID)
        except ProcessLookupError:
            raise error.ProcessExitedAlready() from None

    def getPeer(self) -> _ProcessAddress:
        return _ProcessAddress()

    def getHost(self) -> _ProcessAddress:
        return _ProcessAddress()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        """
        Feed the child's stdin from ``producer``.
        """
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.registerProducer(producer, streaming)
        else:
            producer.stopProducing()

    def unregisterProducer(self) -> None:
        pipe = self.pipes.get(0)
        if isinstance(pipe, FDWriter):
            pipe.unregisterProducer()

    def pauseProducing(self) -> None:
        """
        Stop reading the child's output (the child blocks once the pipe is full).
        """
        for pipe in self.pipes.values():
            if isinstance(pipe, FDReader):
                pipe.stopReading()

    def resumeProducing(self) -> None:
        for pipe in list(self.pipes.values()):
            if isinstance(pipe, FDReader):
                pipe.startReading()

    def stopProducing(self) -> None:
        self.loseConnection()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pid={self.pid} status={self.status}>"


def _reasonFor(status: int, execError: OSError | None) -> BaseException:
    if execError is not None:
        return ProcessExecError(execError, status)
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == 0:
            return error.ProcessDone(status)
        return error.ProcessTerminated(exitCode=code, status=status)
    if os.WIFSIGNALED(status):
        return error.ProcessTerminated(signal=os.WTERMSIG(status), status=status)
    return error.ProcessTerminated(status=status)


@implementer(interfaces.IProcessTransport, interfaces.IPushProducer)
class PTYProcess(Process):
    """
    A child on a pseudo-terminal: its stdin, stdout and stderr are the terminal. Output arrives
    as child descriptor 1; ``closeStdin`` sends the terminal's end-of-file character (^D),
    which ends input for programs reading in canonical mode.
    """

    def __init__(
        self,
        reactor: Any,
        executable: StrOrBytes,
        args: Sequence[StrOrBytes],
        environment: Mapping[StrOrBytes, StrOrBytes] | None,
        path: StrOrBytes | None,
        proto: Any,
        uid: int | None = None,
        gid: int | None = None,
        usePTY: bool | tuple[int, int, str] = True,
    ) -> None:
        argList = _validateStrings(executable, args)
        env = _validateEnv(environment)
        self.reactor = reactor
        self.proto = proto
        self.pid = None
        self.status = -1
        self.pipes = {}
        self._execError = None
        self._exitReason = None
        self._pidfd = None
        self._pollCall = None
        self._pollDelay = 0.001
        self._ended = False
        if isinstance(usePTY, tuple):
            master, slave, _ = usePTY
        else:
            master, slave = os.openpty()
        try:
            self._fork(
                argList, executable, env, path, uid, gid, {0: slave, 1: slave, 2: slave}, slave
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self._master = master
        self.pipes[1] = FDReader(
            reactor,
            master,
            lambda data: self.childDataReceived(1, data),
            lambda reason: self._ptyLost(reason),
        )
        self._writer = FDWriter(reactor, master, lambda reason: None, closeFD=False)
        self._connect()

    def _ptyLost(self, reason: Failure) -> None:
        self._writer.connectionLost(reason)
        self.childConnectionLost(1, reason)

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    def writeToChild(self, childFD: int, data: bytes) -> None:
        if childFD not in (0, 1, 2):
            raise KeyError(childFD)
        self._writer.write(data)

    def closeStdin(self) -> None:
        if self._writer.fd >= 0:
            self._writer.write(b"\x04")

    def closeStdout(self) -> None:
        """
        Not possible on a terminal without closing it for the child entirely; ignored.
        """

    def closeStderr(self) -> None:
        """
        Not possible on a terminal without closing it for the child entirely; ignored.
        """

    def closeChildFD(self, childFD: int) -> None:
        if childFD == 0:
            self.closeStdin()

    def loseConnection(self) -> None:
        """
        Close the terminal: the child gets SIGHUP when it is its controlling terminal.
        """
        pipe = self.pipes.get(1)
        if pipe is not None:
            pipe.loseConnection()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._writer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._writer.unregisterProducer()


def spawnProcess(
    reactor: Any,
    processProtocol: Any,
    executable: StrOrBytes,
    args: Sequence[StrOrBytes] = (),
    env: Mapping[StrOrBytes, StrOrBytes] | None = None,
    path: StrOrBytes | None = None,
    uid: int | None = None,
    gid: int | None = None,
    usePTY: bool | tuple[int, int, str] = False,
    childFDs: Mapping[int, int | str] | None = None,
) -> Process:
    """
    ``reactor.spawnProcess``: start ``executable`` and connect ``processProtocol`` to it.

    :param reactor: an ``IReactorFDSet`` and ``IReactorTime`` provider.
    :param args: the argument vector, including ``args[0]``, the program's name for itself.
    :param env: the child's environment; None inherits this process's. (Twisted's default,
        an empty dict, is kept by the reactor method's signature.)
    :param path: the child's working directory.
    :param uid: a user id to switch to (needs privileges).
    :param gid: a group id to switch to (needs privileges).
    :param usePTY: run on a new pseudo-terminal, or on a given ``(master, slave, ttyname)``.
    :param childFDs: the child's descriptors: ``"r"`` (the parent reads a pipe), ``"w"`` (the
        parent writes a pipe) or a parent descriptor number to share. Default
        ``{0: "w", 1: "r", 2: "r"}``.
    :raises ValueError: for NUL bytes in arguments or environment, or PTY with childFDs.
    :raises TypeError: for arguments that are not str or bytes.
    """
    if sys.platform == "win32":  # pragma: no cover
        raise NotImplementedError("glisten processes are POSIX only")
    if usePTY:
        if childFDs is not None:
            raise ValueError("usePTY and childFDs cannot be combined")
        return PTYProcess(reactor, executable, args, env, path, processProtocol, uid, gid, usePTY)
    return Process(reactor, executable, args, env, path, processProtocol, uid, gid, childFDs)
