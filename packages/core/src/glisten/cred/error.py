"""Errors raised while logging in."""

from __future__ import annotations

__all__ = [
    "LoginDenied",
    "LoginFailed",
    "UnauthorizedLogin",
    "UnhandledCredentials",
]


class LoginFailed(Exception):
    """Logging in failed, for whatever reason."""


class UnauthorizedLogin(LoginFailed):
    """The credentials were wrong (unknown user, bad password, ...).

    Deliberately one error for every kind of bad credentials, so that a client cannot tell an
    unknown user from a wrong password.
    """


class UnhandledCredentials(LoginFailed):
    """No checker registered with the portal can check this kind of credentials."""


class LoginDenied(LoginFailed):
    """The realm refused an authenticated avatar."""
