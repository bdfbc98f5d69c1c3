"""
A reactor running on an asyncio event loop (the standard one, uvloop, or any other with
``add_reader``/``add_writer``), so glisten and asyncio code share one loop.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

from glisten.internet.base import DelayedCall
from glisten.internet.posixbase import PosixReactorBase, _logPrefixOf
from glisten.logger import Logger
from glisten.python.failure import Failure

_log = Logger()


class AsyncioSelectorReactor(PosixReactorBase):
    """
    A reactor on an asyncio loop: descriptors are watched with ``loop.add_reader`` and
    ``loop.add_writer``, timed calls share one loop timer, and calls from threads go through
    ``call_soon_threadsafe``.

    :param eventloop: the loop to use; None creates a new one (closed when the reactor stops).
    """

    def __init__(self, eventloop: asyncio.AbstractEventLoop | None = None) -> None:
        self._ownLoop = eventloop is None
        if eventloop is None:
            eventloop = asyncio.new_event_loop()
        self._asyncioEventloop = eventloop
        self._readers: dict[int, Any] = {}
        self._writers: dict[int, Any] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timerTime: float | None = None
        self._loopSignals: list[int] = []
        PosixReactorBase.__init__(self)
        self._timed.movedEarlier = self._timedCallAdded

    # ------------------------------------------------------------------ descriptors

    def _eventCallback(self, selectable: Any, read: bool) -> Callable[[], None]:
        """
        Build the callback the loop runs each time ``selectable``'s descriptor is ready.

        It is made once per registration and holds the selectable itself, so an event costs one
        small frame around ``doRead``/``doWrite`` and no table lookup: the loop stops calling it
        once ``remove_reader``/``remove_writer`` has run (the stdlib loop cancels the handle,
        uvloop drops it). The method is still looked up per event, because transports swap
        ``doRead``/``doWrite`` on the instance while connecting and closing.
        """
        disconnect = self._disconnect
        if read:

            def onReadable() -> None:
                try:
                    why = selectable.doRead()
                except Exception as e:
                    _log.failure(
                        "Unhandled error in {prefix}; closing it", prefix=_logPrefixOf(selectable)
                    )
                    why = e
                if why is not None:
                    disconnect(selectable, why)

            return onReadable

        def onWritable() -> None:
            try:
                why = selectable.doWrite()
            except Exception as e:
                _log.failure(
                    "Unhandled error in {prefix}; closing it", prefix=_logPrefixOf(selectable)
                )
                why = e
            if why is not None:
                disconnect(selectable, why)

        return onWritable

    def _disconnect(self, selectable: Any, why: Any) -> None:
        if isinstance(why, Failure):
            why = why.value
        self._disconnectSelectable(selectable, why)

    def addReader(self, reader: Any) -> None:
        self._watch(reader, True)

    def addWriter(self, writer: Any) -> None:
        self._watch(writer, False)

    def _watch(self, selectable: Any, read: bool) -> None:
        fd = selectable.fileno()
        if fd < 0:
            return
        loop = self._asyncioEventloop
        table, add, remove = (
            (self._readers, loop.add_reader, loop.remove_reader)
            if read
            else (self._writers, loop.add_writer, loop.remove_writer)
        )
        if table.get(fd) is selectable:
            return
        self._forgetStale(fd, table, remove)
        table[fd] = selectable
        callback = self._eventCallback(selectable, read)
        try:
            add(fd, callback)
        except PermissionError:
            # A regular file: always ready; poll it every loop turn.
            loop.call_soon(self._pollContinuously, fd, selectable, callback, read)

    def _forgetStale(self, fd: int, table: dict[int, Any], remove: Any) -> None:
        # Another object held this role on the descriptor number: it was closed under it and
        # the number reused. Drop the stale registration so the loop polls the new descriptor.
        if fd in table:
            del table[fd]
            try:
                remove(fd)
            except (OSError, ValueError):
                pass

    def _pollContinuously(
        self, fd: int, selectable: Any, callback: Callable[[], None], read: bool
    ) -> None:
        # No loop registration to cancel here, so check the table before every call.
        table = self._readers if read else self._writers
        if table.get(fd) is not selectable:
            return
        callback()
        if table.get(fd) is selectable:
            self._asyncioEventloop.call_soon(self._pollContinuously, fd, selectable, callback, read)

    def _fdOf(self, selectable: Any, table: dict[int, Any]) -> int | None:
        fd = selectable.fileno()
        if fd >= 0 and table.get(fd) is selectable:
            return int(fd)
        for k, v in table.items():
            if v is selectable:
                return k
        return None

    def removeReader(self, reader: Any) -> None:
        self._unwatch(reader, self._readers, self._asyncioEventloop.remove_reader)

    def removeWriter(self, writer: Any) -> None:
        self._unwatch(writer, self._writers, self._asyncioEventloop.remove_writer)

    def _unwatch(self, selectable: Any, table: dict[int, Any], remove: Any) -> None:
        fd = self._fdOf(selectable, table)
        if fd is None:
            return
        del table[fd]
        try:
            remove(fd)
        except (OSError, ValueError):
            pass

    def getReaders(self) -> list[Any]:
        return list(self._readers.values())

    def getWriters(self) -> list[Any]:
        return list(self._writers.values())

    def removeAll(self) -> list[Any]:
        result: list[Any] = []
        for s in list(self._readers.values()) + list(self._writers.values()):
            if s not in result:
                result.append(s)
        for s in result:
            self.removeReader(s)
            self.removeWriter(s)
        return result

    def _addInternalReader(self, reader: Any) -> None:
        # The reactor's own descriptors stay out of the tables getReaders and removeAll see.
        self._asyncioEventloop.add_reader(reader.fileno(), reader.doRead)

    def _removeInternalReader(self, reader: Any) -> None:
        try:
            self._asyncioEventloop.remove_reader(reader.fileno())
        except (OSError, ValueError):
            pass

    # ------------------------------------------------------------------ signals

    def _handleSignals(self) -> None:
        """
        Stop on SIGINT/SIGTERM through the loop's own signal handling.

        ``loop.add_signal_handler`` makes the loop's self-pipe the ``signal.set_wakeup_fd``
        descriptor, so a signal wakes a blocked ``select`` (none is lost) and other asyncio code
        in the process keeps its own signal handlers. A loop without it (not on the main
        thread's Unix loop) falls back to the pipe every POSIX reactor uses.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = self._asyncioEventloop
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(signum)
            try:
                loop.add_signal_handler(signum, self._onSignal, signum, None)
            except (NotImplementedError, RuntimeError, ValueError, OSError):
                self._restoreSignals()
                PosixReactorBase._handleSignals(self)
                return
            self._signalsSaved[signum] = previous
            self._loopSignals.append(signum)

    def _removeLoopSignals(self) -> None:
        loop = self._asyncioEventloop
        for signum in self._loopSignals:
            try:
                loop.remove_signal_handler(signum)
            except (RuntimeError, ValueError, OSError):
                pass
        self._loopSignals.clear()

    def _restoreSignals(self) -> None:
        self._removeLoopSignals()
        PosixReactorBase._restoreSignals(self)

    # ------------------------------------------------------------------ time and threads

    def _timedCallAdded(self, call: DelayedCall) -> None:
        if self._timerTime is None or call.time < self._timerTime:
            self._rearm(call.time)

    def _rearm(self, when: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timerTime = when
        if when is not None:
            delay = max(0.0, when - self.seconds())
            self._timer = self._asyncioEventloop.call_later(delay, self._onTimer)

    def _onTimer(self) -> None:
        self._timer = None
        self._timerTime = None
        self._runAndRearm()

    def _runAndRearm(self) -> None:
        try:
            self.runUntilCurrent()
        finally:
            if self._started or self.running:
                self._rearm(self._timed.nextTime())

    def wakeUp(self) -> None:
        """
        Run pending calls from threads soon (thread-safe).
        """
        loop = self._asyncioEventloop
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._runAndRearm)
            except RuntimeError:
                pass

    # ------------------------------------------------------------------ running

    def run(self, installSignalHandlers: bool = True) -> None:
        """
        Run the asyncio loop until :meth:`stop` and the shutdown triggers are done.
        """
        self.startRunning(installSignalHandlers=installSignalHandlers)
        self._rearm(self._timed.nextTime())
        if self.threadCallQueue or self._justStopped:
            self._asyncioEventloop.call_soon(self._runAndRearm)
        try:
            self._asyncioEventloop.run_forever()
        finally:
            self._restoreSignals()
            if self._startedBefore and not self._started:
                self._releaseResources()

    def mainLoop(self) -> None:
        self._asyncioEventloop.run_forever()

    def iterate(self, delay: float = 0) -> None:
        """
        Run the loop for at most ``delay`` seconds.
        """
        loop = self._asyncioEventloop
        loop.call_later(delay, loop.stop)
        self._runAndRearm()
        loop.run_forever()

    def stop(self) -> None:
        PosixReactorBase.stop(self)

    def crash(self) -> None:
        """
        Stop the loop now, skipping the shutdown triggers.
        """
        PosixReactorBase.crash(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timerTime = None
        self._asyncioEventloop.stop()

    def _releaseResources(self) -> None:
        loop = self._asyncioEventloop
        for fd in list(self._readers):
            try:
                loop.remove_reader(fd)
            except (OSError, ValueError):
                pass
        for fd in list(self._writers):
            try:
                loop.remove_writer(fd)
            except (OSError, ValueError):
                pass
        if self._ownLoop and not loop.is_closed():
            loop.close()


def install(eventloop: asyncio.AbstractEventLoop | None = None) -> AsyncioSelectorReactor:
    """
    Install an AsyncioSelectorReactor as the global reactor.

    :param eventloop: the loop to run on; None creates one and makes it asyncio's current
        loop, so asyncio code in the process shares it.
    :return: the reactor.
    """
    from glisten.internet.main import installReactor

    if eventloop is None:
        eventloop = asyncio.new_event_loop()
        asyncio.set_event_loop(eventloop)
        reactor = AsyncioSelectorReactor(eventloop)
        reactor._ownLoop = True
    else:
        reactor = AsyncioSelectorReactor(eventloop)
    installReactor(reactor)
    return reactor


__all__ = ["AsyncioSelectorReactor", "install"]
