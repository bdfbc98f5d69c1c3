"""The ``pip install`` command that adds a missing glisten package, as things stand here.

``glisten web`` without glisten-web installed tells the user what to run. ``pip install
glisten-web`` only works once the package is on an index; someone who installed glisten-core
from a clone (``pip install ./packages/core``) or from wheels in a folder (``pip install
--find-links dist glisten-core``) needs the same kind of command for the missing package.
glisten-core's own install record (PEP 610 ``direct_url.json``) says which case this is.
"""

from __future__ import annotations

import json
import shlex
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import unquote, urlparse

#: The folder under ``packages/`` of a clone that holds each distribution.
_FOLDERS = {
    "glisten-core": "core",
    "glisten-web": "web",
    "glisten-conch": "conch",
    "glisten-mail": "mail",
    "glisten-names": "names",
    "glisten-words": "words",
    "glisten-pair": "pair",
}

#: glisten packages another one needs (not on an index, so a clone must name them too).
_NEEDS = {"glisten-mail": ["glisten-names"]}


def _coreInstalledFrom() -> Path | None:
    """The local file or folder glisten-core was installed from, if it was one."""
    try:
        text = distribution("glisten-core").read_text("direct_url.json")
    except PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        url = urlparse(str(json.loads(text).get("url", "")))
    except (ValueError, AttributeError):
        return None
    if url.scheme != "file":
        return None
    return Path(unquote(url.path))


def _wheelIn(folder: Path, package: str) -> bool:
    prefix = package.replace("-", "_") + "-"
    return any(p.name.startswith(prefix) for p in folder.glob("*.whl"))


def _fromFolders(packages: Path, package: str, shown: str) -> str | None:
    """``pip install`` of the package's folder (and the glisten ones it needs) under
    ``packages``, written with ``shown`` as that folder's name; None if one is missing."""
    names = [*_NEEDS.get(package, []), package]
    if not all((packages / _FOLDERS[n] / "pyproject.toml").is_file() for n in names):
        return None
    return "pip install " + " ".join(shlex.quote(f"{shown}/{_FOLDERS[n]}") for n in names)


def installCommand(package: str, cwd: Path | None = None) -> str:
    """The command that installs ``package`` (``glisten-web``, say) in this situation.

    - glisten-core came from a clone's ``packages/core``: install the sibling folder
      (``pip install /clone/packages/web``);
    - it came from a wheel in a folder that also has the package's wheel: ``pip install
      --find-links /that/folder glisten-web``;
    - pip records nothing when it found core by name (``--find-links dist``), so the current
      folder is looked at: a ``dist/`` holding the package's wheel, or a clone;
    - otherwise (an index): ``pip install glisten-web``.

    :param cwd: the folder the user is in (the current one by default).
    """
    if package not in _FOLDERS:
        return f"pip install {package}"
    source = _coreInstalledFrom()
    if source is not None:
        if source.is_dir() and source.name == "core" and source.parent.name == "packages":
            command = _fromFolders(source.parent, package, str(source.parent))
            if command is not None:
                return command
        elif source.suffix == ".whl" and _wheelIn(source.parent, package):
            return f"pip install --find-links {shlex.quote(str(source.parent))} {package}"
    here = Path.cwd() if cwd is None else cwd
    if (here / "dist").is_dir() and _wheelIn(here / "dist", package):
        return f"pip install --find-links dist {package}"
    command = _fromFolders(here / "packages", package, "./packages")
    if command is not None:
        return command
    return f"pip install {package}"


__all__ = ["installCommand"]
