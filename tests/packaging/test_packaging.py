"""Built artifacts: what each wheel holds and needs, and each package installed alone.

These tests build every sdist and wheel (the wheel from the sdist), then check the artifacts
themselves rather than the source tree: a namespace ``__init__.py`` or a missing dependency
shows up only there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from _support import (
    PACKAGES,
    REQUIRES,
    Environment,
    build,
    closure,
    metadata,
    sdistPath,
    suiteDependencies,
    version,
    wheelPath,
)
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Whole test suites run inside fresh environments here: minutes, not the default 120 s.
pytestmark = [pytest.mark.packaging, pytest.mark.timeout(900)]


# --- the artifacts ------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_wheelHoldsOnlyItsOwnParts(dist: Path, folder: str) -> None:
    """No wheel ships ``glisten/__init__.py``, and each ships only its own subpackages."""
    package = PACKAGES[folder]
    with zipfile.ZipFile(wheelPath(dist, package)) as z:
        names = [n for n in z.namelist() if not n.split("/")[0].endswith(".dist-info")]
    assert "glisten/__init__.py" not in names
    assert all(n.startswith("glisten/") for n in names), names
    parts = {n.split("/")[1] for n in names if n.count("/") >= 2}
    assert parts == set(package.parts)
    assert all(f"glisten/{part}/py.typed" in names for part in package.parts)


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_sdistHasNoNamespaceInit(dist: Path, folder: str) -> None:
    package = PACKAGES[folder]
    with tarfile.open(sdistPath(dist, package)) as t:
        names = t.getnames()
    assert not [n for n in names if n.endswith("src/glisten/__init__.py")]
    assert any(n.endswith("CHANGELOG.md") for n in names)


def _normalized(requirement: str) -> tuple[str, str, str, str]:
    r = Requirement(requirement)
    return (canonicalize_name(r.name), str(r.specifier), ",".join(sorted(r.extras)), str(r.marker))


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_requiresDistIsExactlyTheDeclaredList(dist: Path, folder: str) -> None:
    package = PACKAGES[folder]
    meta = metadata(wheelPath(dist, package))
    declared = {_normalized(r) for r in meta.get_all("Requires-Dist") or []}
    assert declared == {_normalized(r) for r in REQUIRES[folder]}
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Version"] == version(package)


def test_eachPackageReadsItsOwnVersionFile() -> None:
    """Bumping one package's version is an edit to one file inside that package."""
    for package in PACKAGES.values():
        config = tomllib.loads((package.path / "pyproject.toml").read_text())
        assert config["project"]["dynamic"] == ["version"]
        versionPath = config["tool"]["hatch"]["version"]["path"]
        assert versionPath == f"src/glisten/{package.versionPart}/_version.py"


# --- installed alone ----------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_installedAloneAndTested(dist: Path, tmp_path: Path, folder: str) -> None:
    """Each package with only its declared dependencies imports, and its own suite passes."""
    package = PACKAGES[folder]
    env = Environment(tmp_path / "venv")
    needed = closure(package)
    env.installGlisten(dist, needed)

    installed = env.installed()
    glistenInstalled = {name for name in installed if name.startswith("glisten-")}
    assert glistenInstalled == {p.dist for p in needed}
    if folder == "core":
        assert not {"cryptography", "bcrypt", "pyasn1", "h2"} & set(installed)
    for other in PACKAGES.values():
        for part in other.parts:
            assert env.canImport(f"glisten.{part}") == (other in needed), part

    env.pip(*suiteDependencies(package))
    result = env.runTests(package)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_upgradingOnePackageLeavesTheOthersAlone(dist: Path, tmp_path: Path) -> None:
    """A new glisten-names release installs over an old one without touching core or mail."""
    names, mail = PACKAGES["names"], PACKAGES["mail"]
    env = Environment(tmp_path / "venv")
    env.installGlisten(dist, closure(mail))
    before = env.installed()

    bumped = tmp_path / "names"
    shutil.copytree(names.path, bumped, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    versionFile = bumped / "src" / "glisten" / "names" / "_version.py"
    oldVersion = version(names)
    parts = oldVersion.split(".")
    newVersion = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
    versionFile.write_text(versionFile.read_text().replace(oldVersion, newVersion))
    newDist = tmp_path / "newdist"
    build(bumped, newDist)

    env.pip("--no-index", "--find-links", str(newDist), f"glisten-names=={newVersion}")
    after = env.installed()
    assert after.pop("glisten-names") == newVersion
    before.pop("glisten-names")
    assert after == before
    assert env.canImport("glisten.mail") and env.canImport("glisten.names")


def test_artifactsPassTwineCheck(dist: Path) -> None:
    """What an index would reject (metadata, a long description that does not render)."""
    artifacts = sorted(str(p) for p in dist.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *artifacts],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
