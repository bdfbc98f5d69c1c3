"""Errors of the chat service, as ``twisted.words.ewords``."""

from __future__ import annotations

__all__ = [
    "AlreadyLoggedIn",
    "DuplicateGroup",
    "DuplicateUser",
    "NoSuchGroup",
    "NoSuchUser",
    "PermissionDenied",
    "WordsError",
]


class WordsError(Exception):
    """Base of the chat service's errors."""

    def __str__(self) -> str:
        return self.__class__.__name__ + ": " + Exception.__str__(self)


class NoSuchUser(WordsError):
    """No user has that name."""


class DuplicateUser(WordsError):
    """A user with that name exists already."""


class NoSuchGroup(WordsError):
    """No group has that name."""


class DuplicateGroup(WordsError):
    """A group with that name exists already."""


class AlreadyLoggedIn(WordsError):
    """That user is logged in already (a nick collision)."""


class PermissionDenied(WordsError):
    """The user may not do that (kept for Twisted compatibility)."""
