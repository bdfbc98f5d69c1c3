"""Releases that hold: the public API on record, versions that say what changed, and each
declared version range tested at its low end as well as against the tree.

The rules (RELEASING.md): ``api/<dist>.txt`` is the tree's public API; ``api/released/`` keeps
it as it was at every release in ``releases.toml``. Against the last release, an addition
needs a higher version and a CHANGELOG section for it; a removal or an incompatible change
needs a breaking version (the major, or the minor while the major is 0) and the CHANGELOG
section naming it.
"""

from __future__ import annotations

import ast
import hashlib
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
from _support import (
    BY_DIST,
    PACKAGES,
    REQUIRES,
    ROOT,
    Environment,
    Package,
    build,
    closure,
    suiteDependencies,
    version,
    wheelPath,
)
from packaging.requirements import Requirement
from packaging.version import Version

sys.path.insert(0, str(ROOT / "tools"))
import release

# The range tests run whole suites inside fresh environments: minutes, not the default 120 s.
pytestmark = pytest.mark.timeout(900)

RELEASES: dict[str, dict[str, str]] = tomllib.loads((ROOT / "releases.toml").read_text())


def lastRelease(package: Package) -> str:
    return str(max(map(Version, RELEASES[package.dist])))


# --- the API record -----------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_apiRecordIsCurrent(folder: str) -> None:
    """``api/<dist>.txt`` lists exactly the tree's public API (``python tools/release.py api``
    rewrites it), so every API change shows up in review as a diff of that file."""
    package = PACKAGES[folder]
    recorded = release.apiFile(package).read_text().splitlines()
    assert release.computeApi(package) == recorded, (
        f"{package.dist}: public API differs from {release.apiFile(package).name}; "
        "run `python tools/release.py api` and review the diff"
    )


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_apiRecordNamesNoPathOfThisCheckout(folder: str) -> None:
    """A default value whose repr holds a path (a module object, say) would make the record
    differ between two checkouts of the same commit."""
    recorded = release.apiFile(PACKAGES[folder]).read_text()
    root = str(Path(__file__).resolve().parents[2])
    assert root not in recorded and " from '/" not in recorded


def _entries(lines: list[str]) -> dict[str, str]:
    entries = {}
    for line in lines:
        key, _, description = line.partition(" ")
        entries[key] = description
    return entries


_REPR = re.compile(r"<[^<>]*>")


def _parameters(signature: str) -> ast.arguments | None:
    text = signature
    while _REPR.search(text):
        text = _REPR.sub("0", text)
    try:
        tree = ast.parse(f"def f{text}: pass")
    except SyntaxError:
        return None
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    return function.args


def compatible(old: str, new: str) -> bool:
    """Whether an API entry described as ``new`` still serves every caller of ``old``.

    Annotations do not count (typing ``Any`` as ``Request`` breaks no caller); a function may
    gain parameters that have defaults, a parameter may gain a default, nothing may go.
    """
    if old == new:
        return True
    oldKind, _, oldSignature = old.partition(" ")
    newKind, _, newSignature = new.partition(" ")
    if oldKind != newKind or oldKind not in {"function", "method"}:
        return False
    before, after = _parameters(oldSignature), _parameters(newSignature)
    if before is None or after is None:
        return False

    def positional(a: ast.arguments) -> list[tuple[str, bool]]:
        params = [*a.posonlyargs, *a.args]
        firstDefault = len(params) - len(a.defaults)
        return [(p.arg, i >= firstDefault) for i, p in enumerate(params)]

    def keywordOnly(a: ast.arguments) -> dict[str, bool]:
        return {p.arg: d is not None for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)}

    oldPositional, newPositional = positional(before), positional(after)
    if [n for n, _ in newPositional[: len(oldPositional)]] != [n for n, _ in oldPositional]:
        return False
    pairs = zip(oldPositional, newPositional[: len(oldPositional)], strict=True)
    if any(had and not has for (_, had), (_, has) in pairs):
        return False
    if not all(hasDefault for _, hasDefault in newPositional[len(oldPositional) :]):
        return False
    oldKeyword, newKeyword = keywordOnly(before), keywordOnly(after)
    for name, hadDefault in oldKeyword.items():
        if name in newKeyword:
            if hadDefault and not newKeyword[name]:
                return False
        elif name not in dict(newPositional):
            return False
    if not all(d for n, d in newKeyword.items() if n not in oldKeyword):
        return False
    if before.vararg is not None and after.vararg is None:
        return False
    return not (before.kwarg is not None and after.kwarg is None)


def breaking(old: Version, new: Version) -> bool:
    """A version that may break callers: a new major, or a new minor while the major is 0."""
    if old.major == 0 and new.major == 0:
        return new.minor > old.minor
    return new.major > old.major


def changelogSection(package: Package, ver: str) -> str | None:
    text = (package.path / "CHANGELOG.md").read_text()
    match = re.search(rf"^## {re.escape(ver)}\b.*?(?=^## |\Z)", text, re.M | re.S)
    return match.group(0) if match else None


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_apiChangesAreVersioned(folder: str) -> None:
    package = PACKAGES[folder]
    last = lastRelease(package)
    released = _entries(release.releasedApiFile(package, last).read_text().splitlines())
    current = _entries(release.apiFile(package).read_text().splitlines())
    added = sorted(set(current) - set(released))
    broken = sorted(
        key
        for key, description in released.items()
        if key not in current or not compatible(description, current[key])
    )
    tree = version(package)
    if not (added or broken):
        return
    assert Version(tree) > Version(last), (
        f"{package.dist}: the public API changed since {last} ({(added + broken)[:5]} ...) "
        f"but the version is still {tree}"
    )
    section = changelogSection(package, tree)
    assert section is not None, f"{package.dist}: CHANGELOG.md has no section for {tree}"
    if broken:
        assert breaking(Version(last), Version(tree)), (
            f"{package.dist}: {broken[:10]} removed or changed incompatibly since {last}; "
            f"that needs a breaking version, not {tree}"
        )
        unmentioned = [k for k in broken if re.split(r"[:.]", k)[-1] not in section]
        assert not unmentioned, (
            f"{package.dist}: CHANGELOG {tree} does not mention removed/changed {unmentioned[:10]}"
        )


def test_compatibleSignatures() -> None:
    assert compatible("function (a, b=1)", "function (a, b=1, c=2)")
    assert compatible("function (a: 'Any') -> 'Any'", "function (a: 'int') -> 'str'")
    assert compatible("function (a, b)", "function (a, b=<object object>)")
    assert not compatible("function (a, b=1)", "function (a, b)")
    assert not compatible("function (a, b)", "function (a, c)")
    assert not compatible("function (a)", "function (a, c)")
    assert not compatible("function (a, *, k=1)", "function (a)")
    assert not compatible("function (*args)", "function ()")
    assert not compatible("class", "function ()")


def test_releasesAreRecordedWhole() -> None:
    """Every release names a commit this clone has and has its API snapshot; no package's
    tree version is below its last release."""
    for dist, versions in RELEASES.items():
        package = BY_DIST[dist]
        for ver, commit in versions.items():
            assert release.releasedApiFile(package, ver).exists(), (dist, ver)
            subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT, check=True)
        assert Version(version(package)) >= Version(lastRelease(package)), dist


# --- version ranges at both ends ----------------------------------------------------------------


def releasedSource(package: Package, ver: str, into: Path) -> Path:
    """The package's folder as it was at release ``ver``, from the commit on record."""
    commit = RELEASES[package.dist][ver]
    into.mkdir(parents=True, exist_ok=True)
    archive = into / f"{package.folder}-{ver}.tar"
    subprocess.run(
        [
            "git",
            "archive",
            "--format=tar",
            "-o",
            str(archive),
            commit,
            f"packages/{package.folder}",
        ],
        cwd=ROOT,
        check=True,
    )
    with tarfile.open(archive) as t:
        t.extractall(into / ver, filter="data")
    return into / ver / "packages" / package.folder


def lowEnds() -> list[tuple[str, str, str]]:
    """(package, glisten dependency, lowest version claimed) where that lowest version is not
    the tree's: those need an old release built and tested against."""
    cases = []
    for folder in sorted(PACKAGES):
        for requirement in sorted(REQUIRES[folder]):
            req = Requirement(requirement)
            if not req.name.startswith("glisten-"):
                continue
            (low,) = [s.version for s in req.specifier if s.operator == ">="]
            if low != version(BY_DIST[req.name]):
                cases.append((folder, req.name, low))
    return cases


@pytest.mark.packaging
@pytest.mark.parametrize(("folder", "dependency", "low"), lowEnds())
def test_lowestClaimedVersionWorks(
    dist: Path, tmp_path: Path, folder: str, dependency: str, low: str
) -> None:
    """The package's own tests pass with the oldest release of a dependency it claims to
    support (the tree's version of it is covered by the installed-alone test)."""
    package = PACKAGES[folder]
    assert low in RELEASES[dependency], f"{package.dist} claims {dependency}>={low}: never released"
    old = tmp_path / "old"
    build(releasedSource(BY_DIST[dependency], low, tmp_path / "src"), old)
    env = Environment(tmp_path / "venv")
    others = [p for p in closure(package) if p.dist != dependency]
    env.installGlisten(dist, others, extraLinks=[old], pinned={dependency: low})
    assert env.installed()[dependency] == low
    env.pip(*suiteDependencies(package))
    result = env.runTests(package)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _fileHashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.packaging
def test_upgradingWebAloneFromTheLastRelease(dist: Path, tmp_path: Path) -> None:
    """core, web and names at their last releases; then only glisten-web is upgraded to the
    tree. pip brings the core web needs, names' files stay as they were, ``pip check`` is
    clean and names still answers."""
    old = tmp_path / "old"
    for folder in ("core", "web", "names"):
        package = PACKAGES[folder]
        build(releasedSource(package, lastRelease(package), tmp_path / "src"), old)
    env = Environment(tmp_path / "venv")
    env.pip("zope.interface>=6.0", "attrs>=23.1", "idna>=3.4")
    env.pip("--no-index", "--find-links", str(old), "glisten-core", "glisten-web", "glisten-names")
    namesFolder = Path(env.sitePackages()) / "glisten" / "names"
    before = _fileHashes(namesFolder)

    web = PACKAGES["web"]
    env.pip(
        "--no-index", "--find-links", str(dist), "--find-links", str(old), str(wheelPath(dist, web))
    )
    installed = env.installed()
    assert installed["glisten-web"] == version(web)
    assert installed["glisten-names"] == lastRelease(PACKAGES["names"])
    assert _fileHashes(namesFolder) == before
    check = subprocess.run([env.python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    probe = (
        "from glisten.names import dns\n"
        "m = dns.Message(id=7)\n"
        "m.queries = [dns.Query(b'example.com', dns.A)]\n"
        "n = dns.Message(); n.fromStr(m.toStr())\n"
        "assert n.id == 7 and n.queries[0].name.name == b'example.com'\n"
        "import glisten.web.server\n"
    )
    subprocess.run([env.python, "-c", probe], check=True)


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_changedPackagesHaveANewVersion(folder: str) -> None:
    """A package whose code or metadata changed since its last release has a higher version
    and a CHANGELOG section for it, so no two different wheels ever share a version."""
    package = PACKAGES[folder]
    last = lastRelease(package)
    commit = RELEASES[package.dist][last]
    paths = [f"packages/{folder}/src", f"packages/{folder}/pyproject.toml"]
    changed = subprocess.run(["git", "diff", "--quiet", commit, "--", *paths], cwd=ROOT).returncode
    if changed:
        tree = version(package)
        assert Version(tree) > Version(last), (
            f"{package.dist} changed since its {last} release; bump its version"
        )
        assert changelogSection(package, tree) is not None, (
            f"{package.dist}: CHANGELOG.md has no section for {tree}"
        )
