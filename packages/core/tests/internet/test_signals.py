"""No SIGINT/SIGTERM is lost, whenever it lands (issue 12, item 1).

Python runs a signal handler only between bytecodes of the main thread. A signal whose C-level
handler runs while the main thread is already blocked in ``epoll_wait`` (it landed in the
instant before the wait, or on another thread) used to leave the reactor blocked until some
other event woke it. The reactor now has the C-level handler write to a descriptor the wait
watches (``signal.set_wakeup_fd``, or the asyncio loop's own signal handling).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

HELPER = str(Path(__file__).with_name("sigterm_helper.py"))

#: What ``/proc/<pid>/task/<tid>/wchan`` says while a thread is blocked in each reactor's wait.
_WAITS = ("epoll_wait", "poll_schedule_timeout", "sys_poll", "select")


def _wchan(tid: int) -> str | None:
    try:
        with open(f"/proc/self/task/{tid}/wchan") as f:
            return f.read().strip()
    except OSError:
        return None


def _waitUntilBlocked(tid: int, deadline: float) -> bool:
    # The kernel's word on where the thread sleeps is the only event there is to wait on.
    while time.monotonic() < deadline:
        where = _wchan(tid) or ""
        if any(w in where for w in _WAITS):
            return True
        time.sleep(0.001)
    return False


def test_signalHandledOnAnotherThreadWakesTheWait(anyReactor: Any) -> None:
    """
    A SIGTERM whose C handler runs while the main thread is blocked in the wait (the lost
    signal) stops the reactor at once, not at the next timer.
    """
    if _wchan(threading.get_native_id()) is None:
        pytest.skip("/proc/.../wchan is not readable here")
    r = anyReactor
    mainTid = threading.get_native_id()
    events: list[str] = []
    r.addSystemEventTrigger("before", "shutdown", lambda: events.append("shutdown"))

    def signalFromHelperThread() -> None:
        if not _waitUntilBlocked(mainTid, time.monotonic() + 10):
            events.append("never blocked")
            r.callFromThread(r.stop)
            return
        # The C-level handler runs on this thread; the main thread stays in epoll_wait.
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

    def start() -> None:
        if signal.SIGTERM not in r._signalsSaved:
            events.append("handler not installed")
            r.stop()
            return
        threading.Thread(target=signalFromHelperThread, daemon=True).start()

    r.callWhenRunning(start)
    # A safety net well beyond the time the signal needs; while it is pending the wait has a
    # timeout, so a lost signal shows as this call firing.
    safety = r.callLater(20, r.stop)
    before = signal.getsignal(signal.SIGTERM)
    wakeupBefore = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeupBefore)
    r.run(installSignalHandlers=True)
    if "never blocked" in events:
        pytest.skip("/proc/.../wchan does not name the wait here")
    assert events == ["shutdown"]
    assert safety.active(), "the signal was lost until the safety timer fired"
    safety.cancel()
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.set_wakeup_fd(-1) == wakeupBefore
    signal.set_wakeup_fd(wakeupBefore)


def test_noSignalHandlersNoWakeupFd(anyReactor: Any) -> None:
    """``run(installSignalHandlers=False)`` leaves the process's wakeup descriptor alone."""
    r = anyReactor
    seen: list[int] = []

    def look() -> None:
        fd = signal.set_wakeup_fd(-1)
        signal.set_wakeup_fd(fd)
        seen.append(fd)
        r.stop()

    wakeupBefore = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeupBefore)
    r.callWhenRunning(look)
    r.run(installSignalHandlers=False)
    assert seen == [wakeupBefore]


@pytest.mark.parametrize("reactorName", ["epoll", "poll", "select", "asyncio"])
def test_startThenSigtermNeverHangs(reactorName: str) -> None:
    """
    Start a reactor and SIGTERM it as soon as it runs, many times over: each run stops
    cleanly. (``benchmarks/signals.py`` does the same 1,000 times per reactor.)
    """
    result = subprocess.run(
        [sys.executable, HELPER, "glisten", reactorName, "12", "10"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout)
    assert counts == {"runs": 12, "stopped": 12, "hung": 0, "other": 0}
