"""
The authoritative data a server answers from: in-memory zones, with a version counter.

:class:`Zones` asks its zones for encoded answers (see
:func:`glisten.names._wire._query.encodeSections`) and keeps them, and whole
responses to identical queries, until the zones change (:meth:`Zones.changed`
bumps :attr:`Zones.version`) or ``lifetime`` seconds pass on the clock it was
given (the reactor's), which bounds how stale an answer can get after a
record list is edited in place without telling anyone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["NOT_OURS", "SLOW", "WireAnswer", "WireAnswerer", "Zones"]

#: An encoded answer: (rCode, AA bit, (answer, authority, additional counts), sections).
WireAnswer = tuple[int, int, tuple[int, int, int], bytes]

#: What a zone says for a name outside it (the next zone may have it).
NOT_OURS = None
#: What a zone says when the answer must be made the long way (Message objects).
SLOW = ()

#: A zone's encoder: (lower-cased name, class, type) -> an answer, NOT_OURS or SLOW.
WireAnswerer = Callable[[bytes, int, int], "WireAnswer | tuple[()] | None"]


class Zones:
    """
    :param zones: each zone's encoder, in the order they are asked.
    :param seconds: the clock (the reactor's ``seconds``).
    :param recursionAvailable: the RA bit of answers.
    :param lifetime: seconds anything derived from the zones is kept at most.
    :param responseLifetime: seconds whole responses are reused for identical
        queries (0: never; answers that depend on the client's address need 0).
    :param maxEntries: answers (and responses) kept at most; all are dropped when full.
    :ivar version: bumped each time the zones change or the kept answers expire.
    """

    __slots__ = (
        "_answers",
        "_born",
        "_expiry",
        "_responses",
        "_seconds",
        "_zones",
        "lifetime",
        "maxEntries",
        "recursionAvailable",
        "responseLifetime",
        "version",
    )

    def __init__(
        self,
        zones: Sequence[WireAnswerer],
        seconds: Callable[[], float],
        recursionAvailable: bool = False,
        lifetime: float = 1.0,
        responseLifetime: float = 1.0,
        maxEntries: int = 10_000,
    ) -> None:
        self._zones = tuple(zones)
        self._seconds = seconds
        self.recursionAvailable = int(recursionAvailable)
        self.lifetime = lifetime
        self.responseLifetime = responseLifetime
        self._expiry = min(lifetime, responseLifetime) if responseLifetime > 0 else lifetime
        self.maxEntries = maxEntries
        self.version = 0
        self._answers: dict[tuple[bytes, int, int], WireAnswer | tuple[()] | None] = {}
        self._responses: dict[bytes, bytes] = {}
        self._born: float | None = None

    def changed(self) -> None:
        """A zone changed: forget everything derived from the zones."""
        self.version += 1
        self._answers.clear()
        self._responses.clear()
        self._born = None

    def response(self, query: bytes) -> bytes | None:
        """
        :return: the response kept for a query with these octets (any id), or
            ``None``. Everything kept is dropped here once it is too old.
        """
        now = self._seconds()
        born = self._born
        if born is None:
            self._born = now
        elif now - born > self._expiry:
            self.changed()
            self._born = now
            return None
        tail = self._responses.get(query[2:])
        if tail is None:
            return None
        return query[:2] + tail

    def keepResponse(self, query: bytes, response: bytes) -> None:
        """Keep ``response`` (same id as ``query``) for queries with the same octets."""
        if self.responseLifetime <= 0:
            return
        responses = self._responses
        if len(responses) >= self.maxEntries:
            responses.clear()
        responses[query[2:]] = response[2:]

    def answer(self, key: bytes, cls: int, type: int) -> WireAnswer | tuple[()] | None:
        """
        :param key: the lower-cased name asked about.
        :return: the first zone's encoded answer; :data:`NOT_OURS` when no
            zone holds the name; :data:`SLOW` when one must answer the long way.
        """
        q = (key, cls, type)
        answers = self._answers
        try:
            return answers[q]
        except KeyError:
            pass
        result: WireAnswer | tuple[()] | None = NOT_OURS
        for zone in self._zones:
            result = zone(key, cls, type)
            if result is not NOT_OURS:
                break
        if len(answers) >= self.maxEntries:
            answers.clear()
        answers[q] = result
        return result
