"""Sphinx configuration: hand-written guides and howtos, and an API reference generated from
the docstrings of every public module of every package in this repository."""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = {
    "core": ["internet", "application", "protocols", "logger", "python", "cred", "trial"],
    "web": ["web"],
    "names": ["names"],
    "conch": ["conch"],
    "mail": ["mail"],
    "words": ["words"],
    "pair": ["pair"],
}
for folder in PARTS:
    sys.path.insert(0, str(ROOT / "packages" / folder / "src"))

project = "glisten"
author = "the glisten developers"
copyright = "2026, the glisten developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode"]
exclude_patterns = ["_build", "api/_template.rst"]
html_theme = "alabaster"
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Not yet nitpicky: about 150 references in today's docstrings name the standard library (no
# intersphinx inventory offline) or attributes documented only as ``:ivar:``, which Sphinx
# cannot resolve. Every other warning (reST errors, missing modules, bad directives) fails.
nitpicky = False

# Importing this one module installs a reactor; it is documented by hand in the guide.
SKIP = {"glisten.internet.reactor"}


def publicModules(folder: str) -> list[str]:
    found = []
    for part in PARTS[folder]:
        root = ROOT / "packages" / folder / "src" / "glisten" / part
        found.append(f"glisten.{part}")
        for info in pkgutil.walk_packages([str(root)], prefix=f"glisten.{part}."):
            if not any(c.startswith("_") for c in info.name.split(".")):
                found.append(info.name)
    return sorted(m for m in found if m not in SKIP)


def writeApiPages() -> None:
    """One page per public module, one index per package, written before Sphinx reads."""
    api = HERE / "api"
    api.mkdir(exist_ok=True)
    packageLinks = []
    for folder in PARTS:
        modules = publicModules(folder)
        if not modules:
            continue
        for module in modules:
            title = f"``{module}``"
            (api / f"{module}.rst").write_text(
                f"{title}\n{'=' * len(title)}\n\n.. automodule:: {module}\n"
            )
        heading = f"glisten-{folder}"
        (api / f"glisten-{folder}.rst").write_text(
            f"{heading}\n{'=' * len(heading)}\n\n.. toctree::\n   :maxdepth: 1\n\n"
            + "".join(f"   {m}\n" for m in modules)
        )
        packageLinks.append(f"   glisten-{folder}\n")
    (api / "index.rst").write_text(
        "API reference\n=============\n\nGenerated from the docstrings of every public module.\n\n"
        ".. toctree::\n   :maxdepth: 1\n\n" + "".join(packageLinks)
    )


writeApiPages()


# Each object is documented once, in the first public module that exports it, and objects
# re-exported from outside glisten (``compat`` re-exports builtins) are not documented at all.
_documented: dict[int, str] = {}


def _skipForeignAndRepeated(
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool | None:
    if what != "module":
        return None
    home = getattr(obj, "__module__", None)
    if isinstance(home, str) and not home.startswith("glisten"):
        return True
    if callable(obj) or isinstance(obj, type):
        env = app.env  # type: ignore[attr-defined]
        module = env.temp_data.get("autodoc:module") or env.ref_context.get("py:module")
        first = _documented.setdefault(id(obj), f"{module}.{name}")
        if first != f"{module}.{name}":
            return True
    return None


def setup(app: object) -> None:
    app.connect("autodoc-skip-member", _skipForeignAndRepeated)  # type: ignore[attr-defined]
