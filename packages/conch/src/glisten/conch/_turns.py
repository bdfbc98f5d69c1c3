"""
Pacing a connection's input over turns of the reactor (issue 29): a protocol that has spent
its per-turn budget asks :class:`Turns` for a later turn; meanwhile the connection's input
stays paused, so one peer's big read cannot stall every other connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.internet.main import getReactor


def pauseInput(transport: Any, paused: bool) -> None:
    """Pause or resume reading from ``transport`` (one without flow control has none).

    :param transport: the transport whose input to pause, or ``None``.
    :param paused: ``True`` to pause, ``False`` to resume.
    """
    call = getattr(transport, "pauseProducing" if paused else "resumeProducing", None)
    if call is not None:
        call()


class Turns:
    """
    The later turns of one connection's input: :meth:`later` pauses the input and runs
    ``run`` on the reactor's next turn; when that turn asks for no further one, the input
    resumes.

    :param run: handles more of the input, within the budget of one turn; calls
        :meth:`later` when it stops short.
    :param pause: pauses (``True``) or resumes (``False``) the connection's input.
    """

    __slots__ = ("_call", "_pause", "_run", "paused")

    def __init__(self, run: Callable[[], None], pause: Callable[[bool], None]) -> None:
        self._run = run
        self._pause = pause
        self._call: Any = None
        #: Whether the input is paused waiting for a later turn.
        self.paused = False

    @property
    def waiting(self) -> bool:
        """Whether a later turn is scheduled: new input queues behind it."""
        return self._call is not None

    def later(self, reactor: Any = None) -> None:
        """Pause the input and run the rest in the reactor's next turn.

        :param reactor: the reactor to schedule on (``None``: the global one).
        """
        if self._call is not None:
            return
        if not self.paused:
            self.paused = True
            self._pause(True)
        self._call = getReactor(reactor).callLater(0, self._takeTurn)

    def _takeTurn(self) -> None:
        self._call = None
        self._run()
        if self._call is None and self.paused:
            self.paused = False
            self._pause(False)

    def cancel(self) -> None:
        """The connection is gone: forget the later turn (the input stays as it is)."""
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()
