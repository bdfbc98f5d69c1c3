"""What the packaging tests share: the expected dependencies, building, fresh environments."""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tomllib
import venv
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from _packages import BY_DIST, PACKAGES, ROOT, Package, version
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["BY_DIST", "PACKAGES", "ROOT", "Package", "version"]


#: What each wheel must declare, written out here so that a change to a pyproject.toml that
#: nobody meant shows up as a failing test.
REQUIRES: dict[str, frozenset[str]] = {
    "core": frozenset(
        {"zope.interface>=6.0", "attrs>=23.1", "idna>=3.4", 'cryptography>=42; extra == "tls"'}
    ),
    "web": frozenset({"glisten-core>=0.2.0,<1", 'h2>=4.1; extra == "http2"'}),
    "conch": frozenset({"glisten-core>=0.2.1,<1", "cryptography>=42", "bcrypt>=4"}),
    "mail": frozenset({"glisten-core>=0.2.0,<1", "glisten-names>=0.1.0,<1"}),
    "names": frozenset({"glisten-core>=0.2.0,<1", "idna>=3.4"}),
    "words": frozenset({"glisten-core>=0.2.0,<1", "idna>=3.4"}),
    "pair": frozenset({"glisten-core>=0.1.0,<1"}),
}


def glistenRequires(package: Package) -> list[str]:
    return sorted(Requirement(r).name for r in REQUIRES[package.folder] if r.startswith("glisten-"))


def closure(package: Package) -> list[Package]:
    """The package and every glisten package it needs, dependencies first."""
    seen: list[Package] = []

    def visit(p: Package) -> None:
        for name in glistenRequires(p):
            visit(BY_DIST[name])
        if p not in seen:
            seen.append(p)

    visit(package)
    return seen


# --- building -------------------------------------------------------------------------------


def build(source: Path, out: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
    )


def buildAll(out: Path) -> Path:
    """Build the sdist and the wheel of every package into ``out``, each wheel from its sdist."""
    for package in PACKAGES.values():
        build(package.path, out)
    return out


def wheelPath(dist: Path, package: Package) -> Path:
    name = package.dist.replace("-", "_")
    (wheel,) = dist.glob(f"{name}-{version(package)}-*.whl")
    return wheel


def sdistPath(dist: Path, package: Package) -> Path:
    name = package.dist.replace("-", "_")
    (sdist,) = dist.glob(f"{name}-{version(package)}.tar.gz")
    return sdist


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        (path,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(z.read(path).decode())


def suiteDependencies(package: Package) -> list[str]:
    """What the package's own test suite needs (its ``test`` dependency group)."""
    config = tomllib.loads((package.path / "pyproject.toml").read_text())
    return list(config["dependency-groups"]["test"])


class Environment:
    """A fresh virtual environment with nothing but what a test puts in it."""

    def __init__(self, path: Path) -> None:
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
        self.path = path
        self.python = str(path / "bin" / "python")

    def pip(self, *args: str) -> None:
        result = subprocess.run(
            [self.python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, f"pip install {args}: {result.stderr[-3000:]}"

    def installGlisten(
        self,
        dist: Path,
        packages: list[Package],
        extraLinks: Sequence[Path] = (),
        pinned: Mapping[str, str] | None = None,
    ) -> None:
        """Install wheels from ``dist`` (and ``extraLinks``) only, third-party dependencies
        from the index; ``pinned`` asks for other glisten distributions at given versions."""
        thirdParty: set[str] = set()
        wheels = [wheelPath(dist, p) for p in packages]
        for name, ver in (pinned or {}).items():
            wheels += [
                w for link in extraLinks for w in link.glob(f"{name.replace('-', '_')}-{ver}-*.whl")
            ]
        for wheel in wheels:
            for r in metadata(wheel).get_all("Requires-Dist") or []:
                req = Requirement(r)
                if not req.name.startswith("glisten") and req.marker is None:
                    thirdParty.add(r)
        if thirdParty:
            self.pip(*sorted(thirdParty))
        links = [arg for link in [dist, *extraLinks] for arg in ("--find-links", str(link))]
        pins = [f"{name}=={ver}" for name, ver in (pinned or {}).items()]
        self.pip("--no-index", *links, *[str(wheelPath(dist, p)) for p in packages], *pins)

    def runTests(self, package: Package) -> subprocess.CompletedProcess[str]:
        """Run the package's own test suite in this environment."""
        return subprocess.run(
            [
                self.python,
                "-m",
                "pytest",
                str(package.path / "tests"),
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": ""},
        )

    def sitePackages(self) -> str:
        return subprocess.run(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

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
