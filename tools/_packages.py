"""The packages of this repository: folder, distribution name, the ``glisten.*`` parts it ships."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Package:
    folder: str
    dist: str
    parts: tuple[str, ...]

    @property
    def path(self) -> Path:
        return ROOT / "packages" / self.folder

    @property
    def versionPart(self) -> str:
        """The subpackage holding ``_version.py``."""
        return "python" if self.folder == "core" else self.folder


PACKAGES: dict[str, Package] = {
    p.folder: p
    for p in [
        Package(
            "core",
            "glisten-core",
            ("application", "cred", "internet", "logger", "protocols", "python", "trial"),
        ),
        Package("web", "glisten-web", ("web",)),
        Package("conch", "glisten-conch", ("conch",)),
        Package("mail", "glisten-mail", ("mail",)),
        Package("names", "glisten-names", ("names",)),
        Package("words", "glisten-words", ("words",)),
        Package("pair", "glisten-pair", ("pair",)),
    ]
}

BY_DIST = {p.dist: p for p in PACKAGES.values()}


def version(package: Package, src: Path | None = None) -> str:
    """The version in the package's ``_version.py`` (under ``src``, the tree's by default)."""
    base = src if src is not None else package.path / "src"
    namespace: dict[str, str] = {}
    exec((base / "glisten" / package.versionPart / "_version.py").read_text(), namespace)
    return namespace["__version__"]
