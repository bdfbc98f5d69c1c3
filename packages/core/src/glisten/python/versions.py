"""Release version numbers, compatible with ``incremental.Version`` as Twisted uses it.

``deprecate`` messages name the release something was deprecated in with one of these
(``Version("Glisten", 0, 2, 0)``). Versions of different packages do not compare.
"""

from __future__ import annotations

from functools import total_ordering
from typing import Any

__all__ = ["IncomparableVersions", "Version", "getVersionString"]


class IncomparableVersions(TypeError):
    """Two versions of different packages were compared."""


@total_ordering
class Version:
    """A package's version: ``major.minor.micro`` plus optional rc/post/dev parts.

    :param release_candidate: an ``rcN`` suffix (``prerelease`` is its old spelling).
    """

    def __init__(
        self,
        package: str,
        major: int | str,
        minor: int,
        micro: int,
        release_candidate: int | None = None,
        prerelease: int | None = None,
        post: int | None = None,
        dev: int | None = None,
    ) -> None:
        if release_candidate is not None and prerelease is not None:
            raise ValueError("Please only return one of these.")
        self.package = package
        self.major = major
        self.minor = minor
        self.micro = micro
        self.release_candidate = release_candidate if release_candidate is not None else prerelease
        self.post = post
        self.dev = dev

    @property
    def prerelease(self) -> int | None:
        """The old name of :attr:`release_candidate`."""
        return self.release_candidate

    def public(self) -> str:
        """The PEP 440 public version text, e.g. ``1.2.3rc1.post2.dev3``."""
        if self.major == "NEXT":
            return str(self.major)
        text = f"{self.major}.{self.minor}.{self.micro}"
        if self.release_candidate is not None:
            text += f"rc{self.release_candidate}"
        if self.post is not None:
            text += f".post{self.post}"
        if self.dev is not None:
            text += f".dev{self.dev}"
        return text

    base = public
    short = public
    local = public

    def __repr__(self) -> str:
        extras = "".join(
            f", {name}={value!r}"
            for name, value in (
                ("release_candidate", self.release_candidate),
                ("post", self.post),
                ("dev", self.dev),
            )
            if value is not None
        )
        return f"Version({self.package!r}, {self.major!r}, {self.minor!r}, {self.micro!r}{extras})"

    def __str__(self) -> str:
        return f"[{self.package}, version {self.short()}]"

    def _key(self) -> tuple[Any, ...]:
        major = float("inf") if self.major == "NEXT" else self.major
        rc = float("inf") if self.release_candidate is None else self.release_candidate
        post = -1 if self.post is None else self.post
        dev = float("inf") if self.dev is None else self.dev
        return (major, self.minor, self.micro, rc, post, dev)

    def _check(self, other: Version) -> Version:
        if self.package.lower() != other.package.lower():
            raise IncomparableVersions(f"{self.package!r} != {other.package!r}")
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._check(other)._key() == self._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < self._check(other)._key()

    def __hash__(self) -> int:
        return hash((self.package.lower(), self._key()))


def getVersionString(version: Any) -> str:
    """``"package 1.2.3"`` for a version."""
    return f"{version.package} {version.short()}"
