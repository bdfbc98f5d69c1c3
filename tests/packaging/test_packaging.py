"""Built artifacts: what each wheel holds and needs, and each package installed alone.

These tests build every sdist and wheel (the wheel from the sdist), then check the artifacts
themselves rather than the source tree: a namespace ``__init__.py`` or a missing dependency
shows up only there.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Package:
    folder: str
    dist: str
    parts: frozenset[str]
    requires: frozenset[str]

    @property
    def path(self) -> Path:
        return ROOT / "packages" / self.folder

    @property
    def glistenRequires(self) -> frozenset[str]:
        return frozenset(
            r.split(">")[0].split("<")[0] for r in self.requires if r.startswith("glisten-")
        )


CORE = "glisten-core>=0.1.0,<1"

PACKAGES: dict[str, Package] = {
    p.folder: p
    for p in [
        Package(
            "core",
            "glisten-core",
            frozenset(
                {"internet", "application", "protocols", "logger", "python", "cred", "trial"}
            ),
            frozenset({"zope.interface>=6.0", "attrs>=23.1", "idna>=3.4"}),
        ),
        Package(
            "web", "glisten-web", frozenset({"web"}), frozenset({CORE, 'h2>=4.1; extra == "http2"'})
        ),
        Package(
            "conch",
            "glisten-conch",
            frozenset({"conch"}),
            frozenset({CORE, "cryptography>=42", "bcrypt>=4"}),
        ),
        Package(
            "mail",
            "glisten-mail",
            frozenset({"mail"}),
            frozenset({CORE, "glisten-names>=0.1.0,<1"}),
        ),
        Package("names", "glisten-names", frozenset({"names"}), frozenset({CORE, "idna>=3.4"})),
        Package("words", "glisten-words", frozenset({"words"}), frozenset({CORE})),
        Package("pair", "glisten-pair", frozenset({"pair"}), frozenset({CORE})),
    ]
}

BY_DIST = {p.dist: p for p in PACKAGES.values()}


def closure(package: Package) -> list[Package]:
    """The package and every glisten package it needs, dependencies first."""
    seen: list[Package] = []

    def visit(p: Package) -> None:
        for name in sorted(p.glistenRequires):
            visit(BY_DIST[name])
        if p not in seen:
            seen.append(p)

    visit(package)
    return seen


# --- building -------------------------------------------------------------------------------


def _build(source: Path, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the sdist and the wheel of every package, each wheel built from its sdist."""
    out = tmp_path_factory.mktemp("dist")
    for package in PACKAGES.values():
        _build(package.path, out)
    return out


def _version(package: Package) -> str:
    namespace: dict[str, str] = {}
    versionFile = package.path / "src" / "glisten" / _versionPart(package) / "_version.py"
    exec(versionFile.read_text(), namespace)
    return namespace["__version__"]


def _versionPart(package: Package) -> str:
    return "python" if package.folder == "core" else package.folder


def _wheel(dist: Path, package: Package) -> Path:
    name = package.dist.replace("-", "_")
    (wheel,) = dist.glob(f"{name}-{_version(package)}-*.whl")
    return wheel


def _sdist(dist: Path, package: Package) -> Path:
    name = package.dist.replace("-", "_")
    (sdist,) = dist.glob(f"{name}-{_version(package)}.tar.gz")
    return sdist


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        (path,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(path).decode())


# --- the artifacts ------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_wheelHoldsOnlyItsOwnParts(dist: Path, folder: str) -> None:
    """No wheel ships ``glisten/__init__.py``, and each ships only its own subpackages."""
    package = PACKAGES[folder]
    with zipfile.ZipFile(_wheel(dist, package)) as z:
        names = [n for n in z.namelist() if not n.split("/")[0].endswith(".dist-info")]
    assert "glisten/__init__.py" not in names
    assert all(n.startswith("glisten/") for n in names), names
    parts = {n.split("/")[1] for n in names if n.count("/") >= 2}
    assert parts == package.parts
    assert all(f"glisten/{part}/py.typed" in names for part in package.parts)


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_sdistHasNoNamespaceInit(dist: Path, folder: str) -> None:
    package = PACKAGES[folder]
    with tarfile.open(_sdist(dist, package)) as t:
        names = t.getnames()
    assert not [n for n in names if n.endswith("src/glisten/__init__.py")]
    assert any(n.endswith("CHANGELOG.md") for n in names)


def _normalized(requirement: str) -> tuple[str, str, str, str]:
    r = Requirement(requirement)
    return (canonicalize_name(r.name), str(r.specifier), ",".join(sorted(r.extras)), str(r.marker))


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_requiresDistIsExactlyTheDeclaredList(dist: Path, folder: str) -> None:
    package = PACKAGES[folder]
    metadata = _metadata(_wheel(dist, package))
    declared = {_normalized(r) for r in metadata.get_all("Requires-Dist") or []}
    assert declared == {_normalized(r) for r in package.requires}
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["Version"] == _version(package)


def test_eachPackageReadsItsOwnVersionFile() -> None:
    """Bumping one package's version is an edit to one file inside that package."""
    for package in PACKAGES.values():
        config = tomllib.loads((package.path / "pyproject.toml").read_text())
        assert config["project"]["dynamic"] == ["version"]
        versionPath = config["tool"]["hatch"]["version"]["path"]
        assert versionPath == f"src/glisten/{_versionPart(package)}/_version.py"


# --- installed alone ----------------------------------------------------------------------------


class Environment:
    """A fresh virtual environment with nothing but what a test puts in it."""

    def __init__(self, path: Path) -> None:
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        self.path = path
        self.python = str(path / "bin" / "python")

    def pip(self, *args: str) -> None:
        subprocess.run(
            [self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            check=True,
            capture_output=True,
        )

    def installGlisten(self, dist: Path, packages: list[Package]) -> None:
        """Install wheels from ``dist`` only, third-party dependencies from the index."""
        thirdParty: set[str] = set()
        for p in packages:
            for r in _metadata(_wheel(dist, p)).get_all("Requires-Dist") or []:
                req = Requirement(r)
                if not req.name.startswith("glisten") and req.marker is None:
                    thirdParty.add(r)
        if thirdParty:
            self.pip(*sorted(thirdParty))
        self.pip("--no-index", "--find-links", str(dist), *[str(_wheel(dist, p)) for p in packages])

    def installed(self) -> dict[str, str]:
        out = subprocess.run(
            [self.python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        pairs = (line.split("==") for line in out.splitlines() if "==" in line)
        return {canonicalize_name(name): version for name, version in pairs}

    def canImport(self, module: str) -> bool:
        return (
            subprocess.run([self.python, "-c", f"import {module}"], capture_output=True).returncode
            == 0
        )


def _testGroup(package: Package) -> list[str]:
    config = tomllib.loads((package.path / "pyproject.toml").read_text())
    return list(config["dependency-groups"]["test"])


@pytest.mark.timeout(900)  # a whole package's suite runs inside; 120 s is short on a busy machine
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

    env.pip(*_testGroup(package))
    result = subprocess.run(
        [env.python, "-m", "pytest", str(package.path / "tests"), "-q", "-p", "no:cacheprovider"],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
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
    oldVersion = _version(names)
    parts = oldVersion.split(".")
    newVersion = ".".join([*parts[:-1], str(int(parts[-1]) + 1)])
    versionFile.write_text(versionFile.read_text().replace(oldVersion, newVersion))
    newDist = tmp_path / "newdist"
    _build(bumped, newDist)

    env.pip("--no-index", "--find-links", str(newDist), f"glisten-names=={newVersion}")
    after = env.installed()
    assert after.pop("glisten-names") == newVersion
    before.pop("glisten-names")
    assert after == before
    assert env.canImport("glisten.mail") and env.canImport("glisten.names")
