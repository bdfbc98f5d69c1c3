"""What the SMTP, POP3 and IMAP4 server protocols share: feeding a sans-I/O codec and
running its events, with answers that may come later (Deferreds) or at once (re-entrantly,
from inside an event handler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CodecDriver:
    """Mixin for a protocol adapter around a codec with ``receiveData(bytes) -> events`` and
    ``dataToSend() -> bytes``. Subclasses set ``_codec`` and define ``_handle(event)``."""

    _codec: Any
    transport: Any
    _busy = False
    _again = False
    _disconnected = False
    #: Acts on one event of the codec (each adapter defines it).
    _handle: Callable[[Any], None]
    #: Restarts the idle timeout (``TimeoutMixin``).
    resetTimeout: Callable[[], None]

    def dataReceived(self, data: bytes) -> None:
        """Traffic: restart the idle timeout and feed the codec."""
        self.resetTimeout()
        self._process(data)

    def _process(self, data: bytes) -> None:
        """Feed ``data`` and handle the events; an answer given while handling (a
        synchronous one) resumes parsing here instead of recursing."""
        codec = self._codec
        assert codec is not None
        if self._busy:
            # An answer arrived while we handle events: pick it up when we are done.
            self._again = True
            return
        self._busy = True
        try:
            events = codec.receiveData(data)
            while True:
                for event in events:
                    self._handle(event)
                if not self._again or self._disconnected:
                    break
                self._again = False
                events = codec.receiveData(b"")
        finally:
            self._busy = False
        self._flush()

    def _flush(self) -> None:
        """Write what the codec owes the peer."""
        if self._codec is not None and not self._disconnected:
            out = self._codec.dataToSend()
            if out:
                self.transport.write(out)
