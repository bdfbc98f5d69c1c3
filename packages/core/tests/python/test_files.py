"""lockfile, logfile and modules."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from glisten.python import lockfile, logfile, modules
from glisten.python.filepath import FilePath


def test_lock_unlock(tmp_path: Any) -> None:
    name = str(tmp_path / "lock")
    lock = lockfile.FilesystemLock(name)
    assert lock.lock() and lock.locked and lock.clean
    assert os.readlink(name) == str(os.getpid())
    assert lockfile.isLocked(name)
    other = lockfile.FilesystemLock(name)
    assert not other.lock() and not other.locked
    lock.unlock()
    assert not lock.locked and not os.path.lexists(name)
    assert not lockfile.isLocked(name)
    with pytest.raises(ValueError):
        lock.unlock()


def test_stale_lock_is_broken(tmp_path: Any) -> None:
    name = str(tmp_path / "lock")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    os.symlink(str(proc.pid), name)  # a dead owner
    lock = lockfile.FilesystemLock(name)
    assert lock.lock() and lock.clean is False
    lock.unlock()


def test_foreign_lock_not_unlocked(tmp_path: Any) -> None:
    name = str(tmp_path / "lock")
    os.symlink("1", name)  # pid 1 is always alive
    lock = lockfile.FilesystemLock(name)
    assert not lock.lock()
    with pytest.raises(ValueError):
        lock.unlock()
    assert os.path.lexists(name)


def test_logfile_rotates_without_losing_data(tmp_path: Any) -> None:
    log = logfile.LogFile("app.log", str(tmp_path), rotateLength=100)
    written = []
    for i in range(60):
        line = f"line {i:03d} {'x' * (i % 7)}\n"
        written.append(line)
        log.write(line)
    log.write(b"bytes too\n")
    written.append("bytes too\n")
    log.close()
    rotated = log.listLogs()
    assert len(rotated) >= 5 and rotated == list(range(1, len(rotated) + 1))
    # Oldest first: app.log.N ... app.log.1, app.log
    contents = ""
    for i in reversed(rotated):
        text = (tmp_path / f"app.log.{i}").read_text()
        # Rotation happens between writes: every file holds whole lines.
        assert text.endswith("\n")
        assert len(text.encode()) < 100 + 20
        contents += text
    contents += (tmp_path / "app.log").read_text()
    assert contents == "".join(written)


def test_logfile_max_rotated_and_reopen(tmp_path: Any) -> None:
    log = logfile.LogFile.fromFullPath(str(tmp_path / "a.log"), rotateLength=10, maxRotatedFiles=2)
    for i in range(10):
        log.write(f"{i:011d}\n")
    assert log.listLogs() == [1, 2]
    assert log.getLog(1).readLines() == ["00000000008\n"]
    with pytest.raises(ValueError):
        log.getLog(7)
    log.reopen()
    assert log.size == 12  # the size survives a reopen: the next write rotates
    log.write("x\n")
    log.flush()
    assert log.getCurrentLog().readLines() == ["x\n"]
    assert log.getLog(1).readLines() == ["00000000009\n"]
    log.close()
    # A LogFile opened later appends and keeps counting the size.
    again = logfile.LogFile("a.log", str(tmp_path), rotateLength=10)
    assert again.size == 2 and not again.shouldRotate()
    again.write("y\n")
    again.close()
    assert (tmp_path / "a.log").read_text() == "x\ny\n"


def test_logfile_default_mode(tmp_path: Any) -> None:
    log = logfile.LogFile("m.log", str(tmp_path), defaultMode=0o600)
    log.write("x")
    log.close()
    assert os.stat(tmp_path / "m.log").st_mode & 0o777 == 0o600


class FakeDaily(logfile.DailyLogFile):
    day = (2026, 12, 6)

    def toDate(self, *args: float) -> tuple[int, int, int]:
        return self.day


def test_daily_logfile_rotation(tmp_path: Any) -> None:
    log = FakeDaily("d.log", str(tmp_path))
    log.write("day one\n")
    assert not log.shouldRotate()
    log.day = (2026, 12, 7)
    assert log.shouldRotate()
    log.write("day two\n")
    log.close()
    assert (tmp_path / "d.log.2026_12_6").read_text() == "day one\n"
    assert (tmp_path / "d.log").read_text() == "day two\n"
    assert log.suffix((2026, 1, 2)) == "2026_1_2"
    assert log.getLog((2026, 12, 6)).readLines() == ["day one\n"]
    with pytest.raises(ValueError):
        log.getLog((2020, 1, 1))


def test_daily_logfile_real_clock(tmp_path: Any) -> None:
    log = logfile.DailyLogFile.fromFullPath(str(tmp_path / "r.log"))
    log.write("x\n")
    assert not log.shouldRotate()
    assert log.lastDate == log.toDate()
    log.close()


def test_get_module_file_path() -> None:
    mod = modules.getModule(__name__)
    assert mod.filePath == FilePath(__file__)
    assert mod.filePath.sibling("test_files.py").exists()
    fp = modules.getModule("glisten.python.filepath")
    assert fp.filePath.basename() == "filepath.py" and not fp.isPackage() and fp.isLoaded()
    pkg = modules.getModule("glisten.python")
    assert pkg.isPackage() and pkg.filePath.basename() == "__init__.py"
    names = [m.name for m in pkg.iterModules()]
    assert "glisten.python.filepath" in names and "glisten.python.usage" in names
    assert pkg["usage"].name == "glisten.python.usage"
    assert pkg["usage"].load().__name__ == "glisten.python.usage"
    ns = modules.getModule("glisten")
    assert ns.isPackage() and ns.filePath.isdir()
    assert "glisten.python" in modules.theSystemPath["glisten.python"].name
    with pytest.raises(KeyError):
        modules.getModule("no_such_module_xyz")
    assert "no_such_module_xyz" not in modules.theSystemPath
