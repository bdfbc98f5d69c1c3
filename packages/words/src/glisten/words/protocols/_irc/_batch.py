"""IRCv3 ``batch`` and ``labeled-response`` on the client side, without I/O.

A :class:`BatchTracker` sees every message the server sends. It opens a :class:`Batch` on
``BATCH +ref``, files each message tagged ``batch=ref`` into that batch (and into the batches
enclosing it, so a ``labeled-response`` batch wrapping a ``chathistory`` batch holds the
history too), and closes it on ``BATCH -ref``. Replies to commands sent with a ``label`` tag
are matched to the label: a single labelled message, a labelled batch, or an empty ``ACK``.

Memory is bounded: at most ``maxOpenBatches`` batches are open at once (a further ``BATCH +``
is ignored) and at most ``maxBufferedMessages`` messages are held for all open batches together
(past that, a batch is marked ``truncated`` and its messages are only dispatched, not kept).
"""

from __future__ import annotations

import attrs

from glisten.words.protocols._irc._events import Message

__all__ = ["Batch", "BatchClosed", "BatchOpened", "BatchTracker", "LabeledReply"]


@attrs.define(slots=True, eq=False)
class Batch:
    """A batch the server opened.

    :ivar reference: the server's reference tag for it.
    :ivar batchType: its type (``chathistory``, ``netsplit``, ``labeled-response``, ...).
    :ivar parameters: the parameters after the type.
    :ivar tags: the tags of the ``BATCH +`` line (``label``, or ``batch`` when nested).
    :ivar parent: the batch this one is nested in, if any.
    :ivar messages: the messages of the batch in order, those of nested batches included.
    :ivar truncated: some messages were not kept (the buffering limit was reached).
    """

    reference: str
    batchType: str
    parameters: list[str]
    tags: dict[str, str] = attrs.Factory(dict)
    parent: Batch | None = None
    messages: list[Message] = attrs.Factory(list)
    truncated: bool = False


@attrs.define(slots=True, frozen=True)
class BatchOpened:
    """``BATCH +ref``: a batch starts."""

    batch: Batch


@attrs.define(slots=True, frozen=True)
class BatchClosed:
    """``BATCH -ref``: a batch is complete."""

    batch: Batch


@attrs.define(slots=True, frozen=True)
class LabeledReply:
    """Every reply to a labelled command has arrived.

    :ivar label: the label the command was sent with.
    :ivar messages: the reply: one message, the messages of a labelled batch, or none (the
        server's ``ACK`` for a command without a reply).
    :ivar batch: the batch that carried the reply, if it came as one.
    """

    label: str
    messages: list[Message]
    batch: Batch | None = None


BatchEvent = BatchOpened | BatchClosed | LabeledReply


class BatchTracker:
    """Groups a client's incoming messages into batches and labelled replies.

    :param maxOpenBatches: batches open at once; a server opening more is ignored.
    :param maxBufferedMessages: messages held for all open batches together.
    :param maxPendingLabels: labels awaiting a reply; the oldest is forgotten past this.
    """

    def __init__(
        self,
        maxOpenBatches: int = 16,
        maxBufferedMessages: int = 2000,
        maxPendingLabels: int = 256,
    ) -> None:
        self.maxOpenBatches = maxOpenBatches
        self.maxBufferedMessages = maxBufferedMessages
        self.maxPendingLabels = maxPendingLabels
        self._open: dict[str, Batch] = {}
        self._buffered = 0
        self._pending: dict[str, None] = {}

    def labelSent(self, label: str) -> None:
        """Note that a command went out with ``label``, so its reply is recognised."""
        self._pending[label] = None
        if len(self._pending) > self.maxPendingLabels:
            del self._pending[next(iter(self._pending))]

    def batchOf(self, message: Message) -> Batch | None:
        """The open batch ``message`` belongs to (its ``batch`` tag), if any."""
        reference = message.tags.get("batch")
        return self._open.get(reference) if reference is not None else None

    def receive(self, message: Message) -> list[BatchEvent]:
        """Account for one message from the server; return what it completes or opens."""
        if message.command == "BATCH" and message.params:
            reference = message.params[0]
            if reference[:1] == "+" and len(reference) > 1:
                return self._openBatch(reference[1:], message)
            if reference[:1] == "-" and reference[1:] in self._open:
                return self._closeBatch(reference[1:])
        tags = message.tags
        if not tags:
            return []
        batch = self.batchOf(message)
        if batch is not None:
            self._keep(batch, message)
            return []
        label = tags.get("label")
        if label is not None and label in self._pending:
            del self._pending[label]
            replies = [] if message.command == "ACK" else [message]
            return [LabeledReply(label, replies)]
        return []

    def _keep(self, batch: Batch, message: Message) -> None:
        if self._buffered >= self.maxBufferedMessages:
            while batch is not None:
                batch.truncated = True
                batch = batch.parent  # type: ignore[assignment]
            return
        self._buffered += 1
        current: Batch | None = batch
        while current is not None:
            current.messages.append(message)
            current = current.parent

    def _openBatch(self, reference: str, message: Message) -> list[BatchEvent]:
        if reference in self._open or len(self._open) >= self.maxOpenBatches:
            return []
        parent = self.batchOf(message)
        if parent is not None:
            self._keep(parent, message)
        params = message.params
        batch = Batch(reference, params[1] if len(params) > 1 else "", params[2:],
                      dict(message.tags), parent)  # fmt: skip
        self._open[reference] = batch
        return [BatchOpened(batch)]

    def _closeBatch(self, reference: str) -> list[BatchEvent]:
        batch = self._open[reference]
        events: list[BatchEvent] = []
        # A batch ends the batches still open inside it (a server that closes them out of
        # order gets them closed here, innermost first).
        for inner in [b for b in self._open.values() if _within(b, batch)][::-1]:
            del self._open[inner.reference]
            events.extend(self._closed(inner))
        return events

    def _closed(self, batch: Batch) -> list[BatchEvent]:
        if batch.parent is None:
            # Messages are counted once, against the outermost batch that holds them.
            self._buffered = max(0, self._buffered - len(batch.messages))
        events: list[BatchEvent] = [BatchClosed(batch)]
        label = batch.tags.get("label")
        if label is not None and label in self._pending:
            del self._pending[label]
            events.append(LabeledReply(label, batch.messages, batch))
        return events


def _within(batch: Batch | None, outer: Batch) -> bool:
    """Whether ``batch`` is ``outer`` or nested (at any depth) in it."""
    while batch is not None:
        if batch is outer:
            return True
        batch = batch.parent
    return False
