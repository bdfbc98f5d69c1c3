"""Sphinx configuration: hand-written guides and howtos, and an API reference generated from
the docstrings of every public module of every package in this repository."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any

from sphinx.util.docstrings import prepare_docstring
from zope.interface.interface import InterfaceClass, Method

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PARTS = {
    "core": ["internet", "application", "protocols", "logger", "python", "cred", "trial", "plugin"],
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
# Cross-references are checked (nitpicky) for glisten's own public names: a reference that
# spells out ``glisten.`` must resolve, to the page where the object is documented even when
# the docstring names a module that only re-exports it (see ``_resolveReexport``). References
# into the standard library are checked too, against the inventory of Python's documentation
# read from a local file (Debian's python3-doc; the links point at docs.python.org): a
# reference that spells out a standard module (``socket.socket``, ``ssl.SSLContext``) must
# exist there. Without that file the standard library goes unchecked, and says so. Not checked:
# other projects (zope.interface, cryptography: no inventory offline), short names
# (``Failure``, ``bytes``) that the docstrings use as prose, and private names (``_h11``,
# ``_Base``) that the reference deliberately leaves out.
PYTHON_INVENTORY = Path(f"/usr/share/doc/python3.{sys.version_info.minor}/html/objects.inv")


def _standardModules(inventory: Path) -> list[str]:
    """The top-level module names the inventory documents (``socket``, ``os``, ...)."""
    from sphinx.util.inventory import InventoryFile

    with inventory.open("rb") as f:
        data = InventoryFile.load(f, "", lambda base, uri: uri)
    return sorted({name.split(".")[0] for name in data.get("py:module", {})})


nitpicky = True
if PYTHON_INVENTORY.exists():
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {"python": ("https://docs.python.org/3", str(PYTHON_INVENTORY))}
    _checked = "|".join(["glisten", *_standardModules(PYTHON_INVENTORY)])
else:
    print(f"note: {PYTHON_INVENTORY} is missing; standard-library references are not checked")
    _checked = "glisten"
nitpick_ignore_regex = [
    (r"py:.*", rf"(?!(?:{_checked})\.).*"),
    (r"py:.*", r"glisten\.(.*\.)?_.*"),
]
# Public names the reference cannot show: an undocumented class attribute, a class exported
# only from a private module, an instance that autodoc lists without an anchor, and a constant
# re-exported without a doc comment.
nitpick_ignore = [
    ("py:data", "glisten.web.http.CACHED"),
    ("py:attr", "glisten.web.static.File.processors"),
    ("py:class", "glisten.web.static.Registry"),
    ("py:data", "glisten.web.template.tags"),
    # Python documents this exception only in the prose of the argparse page.
    ("py:exc", "argparse.ArgumentTypeError"),
]

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
                f"{title}\n{'=' * len(title)}\n\n.. automodule:: {module}\n" + interfacesOf(module)
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


# Each object is documented once: in its home module when that is public, or else in the
# public module nearest its (private) home that exports it. Objects re-exported from outside
# glisten (``compat`` re-exports builtins) are not documented at all.
_canonical: dict[int, str] = {}


def _documentedMembers(module: Any) -> list[tuple[str, Any]]:
    """What autodoc documents of a module: ``__all__``, or else what the module defines."""
    names = getattr(module, "__all__", None)
    if names is None:
        return [
            (n, v)
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
        ]
    return [(n, getattr(module, n)) for n in names if hasattr(module, n)]


def _findCanonicalPlaces() -> None:
    places: dict[int, list[str]] = {}
    homes: dict[int, str] = {}
    for folder in PARTS:
        for name in publicModules(folder):
            try:
                module = importlib.import_module(name)
            except Exception:
                continue  # autodoc reports the failure itself
            for attr, obj in _documentedMembers(module):
                home = getattr(obj, "__module__", None)
                if not isinstance(home, str) or not home.startswith("glisten"):
                    continue
                if callable(obj) or isinstance(obj, type):
                    places.setdefault(id(obj), []).append(f"{name}.{attr}")
                    homes[id(obj)] = home

    def preference(place: str, home: str) -> tuple[bool, bool, int, str]:
        module = place.rsplit(".", 1)[0]
        return (module != home, not home.startswith(module + "."), place.count("."), place)

    for key, found in places.items():
        _canonical[key] = min(found, key=lambda place: preference(place, homes[key]))


_findCanonicalPlaces()


def _indented(text: str, depth: int) -> str:
    return "".join((" " * depth + line).rstrip() + "\n" for line in prepare_docstring(text))


def interfacesOf(moduleName: str) -> str:
    """Directives for the zope.interface interfaces a module documents, which autodoc skips:
    each as a class with the attributes and methods (with signatures) it declares."""
    try:
        module = importlib.import_module(moduleName)
    except Exception:
        return ""
    text = ""
    for name, obj in _documentedMembers(module):
        if not isinstance(obj, InterfaceClass):
            continue
        if _canonical.get(id(obj)) != f"{moduleName}.{name}":
            continue
        text += f"\n.. py:class:: {name}\n\n" + _indented(obj.__doc__ or "", 3)
        for member in obj.names():
            description = obj[member]
            if isinstance(description, Method):
                heading = f".. py:method:: {member}{description.getSignatureString()}"
            else:
                heading = f".. py:attribute:: {member}"
            text += f"\n   {heading}\n\n" + _indented(description.getDoc() or "", 6)
    return text


writeApiPages()


def _skipForeignAndRepeated(
    app: object, what: str, name: str, obj: object, skip: bool, options: object
) -> bool | None:
    if not name.isidentifier():
        # Aliases stored under protocol names (SSH's "global_...@openssh.com" handlers)
        # are reached by getattr, not documented twice.
        return True
    if what != "module":
        return None
    home = getattr(obj, "__module__", None)
    if isinstance(home, str) and not home.startswith("glisten"):
        return True
    if callable(obj) or isinstance(obj, type):
        env = app.env  # type: ignore[attr-defined]
        module = env.temp_data.get("autodoc:module") or env.ref_context.get("py:module")
        canonical = _canonical.get(id(obj))
        if canonical is not None and canonical != f"{module}.{name}":
            return True
    return None


def _lookup(target: str) -> tuple[Any, list[str]] | None:
    """The module-level object a dotted name starts with, and the attribute names after it."""
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except Exception:
            continue
        if hasattr(module, parts[cut]):
            return getattr(module, parts[cut]), parts[cut + 1 :]
        return None
    return None


def _resolveReexport(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """``glisten.internet.base.Deferred`` finds ``glisten.internet.defer.Deferred``'s page."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    candidates = [target]
    if node.get("py:module"):
        candidates.append(f"{node['py:module']}.{target}")
    for candidate in candidates:
        if not candidate.startswith("glisten."):
            continue
        found = _lookup(candidate)
        if found is None:
            continue
        obj, rest = found
        canonical = _canonical.get(id(obj))
        if canonical is None:
            continue
        # Also when the name is right but the role is not: an interface is documented as data
        # yet named with ``:class:``.
        name = ".".join([canonical, *rest])
        return env.get_domain("py").resolve_xref(
            env, node["refdoc"], app.builder, "obj", name, node, contnode
        )
    return None


def _publicStandardBases(app: Any, name: str, obj: Any, options: Any, bases: list[Any]) -> None:
    """Name a standard-library base by where Python documents it: ``unittest.case.TestCase``
    is documented (and in the inventory) as ``unittest.TestCase``."""
    for index, base in enumerate(bases):
        module = getattr(base, "__module__", "")
        if module.startswith("unittest."):
            bases[index] = f":py:class:`unittest.{base.__qualname__}`"


def setup(app: Any) -> None:
    app.connect("autodoc-skip-member", _skipForeignAndRepeated)
    app.connect("autodoc-process-bases", _publicStandardBases)
    app.connect("missing-reference", _resolveReexport)
