"""What platform this is, in the terms Twisted programs ask about."""

from __future__ import annotations

import os
import sys
import time

__all__ = [
    "Platform",
    "knownPlatforms",
    "platform",
    "platformType",
    "seconds",
    "shortPythonVersion",
]

knownPlatforms = {
    "nt": "win32",
    "ce": "win32",
    "posix": "posix",
    "java": "java",
    "org.python.modules.os": "java",
}

#: The current time in seconds since the epoch (a name Twisted code imports).
seconds = time.time


def shortPythonVersion() -> str:
    """``"3.11.7"`` for the running interpreter."""
    return "%d.%d.%d" % sys.version_info[:3]


class Platform:
    """Questions about an OS: its type, and which facilities it offers."""

    type: str | None = knownPlatforms.get(os.name)
    seconds = staticmethod(time.time)

    def __init__(self, name: str | None = None, platform: str | None = None) -> None:
        if name is not None:
            self.type = knownPlatforms.get(name)
        self._platform = platform if platform is not None else sys.platform

    def isKnown(self) -> bool:
        """Whether this is one of :data:`knownPlatforms`."""
        return self.type is not None

    def getType(self) -> str | None:
        """``"posix"``, ``"win32"``, ``"java"`` or ``None``."""
        return self.type

    def isMacOSX(self) -> bool:
        """Whether this is macOS."""
        return self._platform == "darwin"

    def isWinNT(self) -> bool:
        """Whether this is a Windows NT-family system."""
        return self.getType() == "win32"

    def isWindows(self) -> bool:
        """Whether this is Windows."""
        return self.getType() == "win32"

    def isVista(self) -> bool:
        """Whether this is Windows Vista or later."""
        return self.isWindows() and sys.getwindowsversion()[0] >= 6  # type: ignore[attr-defined,unused-ignore]

    def isLinux(self) -> bool:
        """Whether this is Linux."""
        return self._platform.startswith("linux")

    def isDocker(self, _initCGroupLocation: str = "/proc/1/cgroup") -> bool:
        """Whether this process appears to run in a Docker container."""
        if not self.isLinux():
            return False
        if os.path.exists("/.dockerenv"):
            return True
        try:
            with open(_initCGroupLocation, "rb") as f:
                return any(b"docker" in line for line in f)
        except OSError:
            return False

    def _supportsSymlinks(self) -> bool:
        return self.getType() == "posix"

    def supportsThreads(self) -> bool:
        """Whether threads are available (always, on Python 3)."""
        return True

    def supportsINotify(self) -> bool:
        """Whether the Linux inotify API is available."""
        return self.isLinux() and os.path.exists("/proc/sys/fs/inotify")


platform = Platform()
platformType = platform.getType()
