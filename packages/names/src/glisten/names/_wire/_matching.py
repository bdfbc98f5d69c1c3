"""Which answer belongs to which outstanding query: the checks an off-path spoofer must pass."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

__all__ = ["Match", "matchAnswer"]


class Match(enum.Enum):
    """What an answer with a known id is, for the query waiting on that id."""

    #: The answer to the query.
    OURS = "ours"
    #: From another address than the one asked (Twisted issue 12696 believed these).
    WRONG_ADDRESS = "wrong address"
    #: Repeats another question than the one asked.
    WRONG_QUESTION = "wrong question"


def matchAnswer(
    asked: Any, questions: Sequence[Any], source: Any, answerQuestions: Sequence[Any]
) -> Match:
    """
    :param asked: ``(host, port)`` the query went to, or ``None`` over TCP
        (the connection is the check).
    :param questions: the questions sent.
    :param source: ``(host, port)`` the answer came from (``None`` over TCP).
    :param answerQuestions: the questions the answer repeats; error answers
        may leave them out.
    """
    if asked is not None and (source is None or tuple(source[:2]) != tuple(asked[:2])):
        return Match.WRONG_ADDRESS
    if answerQuestions and list(answerQuestions) != list(questions):
        return Match.WRONG_QUESTION
    return Match.OURS
