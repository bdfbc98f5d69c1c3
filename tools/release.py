"""Release tooling for the glisten packages: build, record the public API, tag a release.

Usage (from the repository root, in the hatch environment)::

    python tools/release.py build            # every sdist and wheel into dist/, then twine check
    python tools/release.py api [--check]    # write (or compare) api/<dist>.txt for every package
    python tools/release.py tag PACKAGE      # record and tag the current version of one package

One way to release, written down in ``RELEASING.md``. The records this tool keeps:

- ``releases.toml``: one entry per release, ``"glisten-core" = {"0.1.0" = "<commit>"}``; tests
  build old releases from these commits (git tags ``glisten-<pkg>-<version>`` point at the same
  commits, but a clone may not carry tags, so the file is what tests read).
- ``api/<dist>.txt``: the public API of the tree, one line per name; ``api/released/<dist>-
  <version>.txt``: the same at each release, never edited afterwards.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from _packages import PACKAGES, Package, version  # noqa: E402


def build(out: Path) -> list[Path]:
    """Build every package's sdist, then its wheel from that sdist, into ``out``."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for package in PACKAGES.values():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--no-isolation",
                "--outdir",
                str(out),
                str(package.path),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    artifacts = sorted(out.iterdir())
    subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, artifacts)], check=True
    )
    return artifacts


def computeApi(package: Package, root: Path = ROOT) -> list[str]:
    """The public API of ``package`` in the checkout at ``root`` (this one by default),
    computed in a child Python so that importing every module cannot disturb this one."""
    srcPath = root / "packages" / package.folder / "src"
    paths = [str(root / "packages" / p.folder / "src") for p in PACKAGES.values()]
    env = {"PYTHONPATH": ":".join(paths), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "_apidump.py"), str(srcPath), *package.parts],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    return json.loads(out)


def apiFile(package: Package) -> Path:
    return ROOT / "api" / f"{package.dist}.txt"


def releasedApiFile(package: Package, ver: str) -> Path:
    return ROOT / "api" / "released" / f"{package.dist}-{ver}.txt"


def writeApi(package: Package, lines: list[str], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


def releases() -> dict[str, dict[str, str]]:
    path = ROOT / "releases.toml"
    return tomllib.loads(path.read_text()) if path.exists() else {}


def writeReleases(recorded: dict[str, dict[str, str]]) -> None:
    lines = [
        "# Every release of every package: the commit it was made from (see RELEASING.md).",
        "# Written by `python tools/release.py tag PACKAGE`; tests build old releases from these.",
    ]
    for dist in sorted(recorded):
        lines += ["", f"[{json.dumps(dist)}]"]
        lines += [f'"{v}" = "{c}"' for v, c in sorted(recorded[dist].items())]
    (ROOT / "releases.toml").write_text("\n".join(lines) + "\n")


def tag(package: Package) -> None:
    """Record the current version of ``package`` as released at HEAD."""
    ver = version(package)
    recorded = releases()
    if ver in recorded.get(package.dist, {}):
        raise SystemExit(f"{package.dist} {ver} is released already; bump its version first")
    changelog = (package.path / "CHANGELOG.md").read_text()
    if f"## {ver} " not in changelog and f"## {ver}\n" not in changelog:
        raise SystemExit(f"{package.dist}: CHANGELOG.md has no section for {ver}")
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    if dirty.strip():
        raise SystemExit("the work tree has uncommitted changes; commit first")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    writeApi(package, computeApi(package), releasedApiFile(package, ver))
    recorded.setdefault(package.dist, {})[ver] = head
    writeReleases(recorded)
    subprocess.run(["git", "add", "releases.toml", "api/released"], cwd=ROOT, check=True)
    subprocess.run(
        ["git", "commit", "-q", "-m", f"release {package.dist} {ver}"], cwd=ROOT, check=True
    )
    subprocess.run(["git", "tag", f"{package.dist}-{ver}", head], cwd=ROOT, check=True)
    print(f"{package.dist} {ver} released at {head[:10]} (tag {package.dist}-{ver})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tools/release.py")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build every sdist and wheel into dist/ and check them")
    b.add_argument("--outdir", default=str(ROOT / "dist"))
    a = sub.add_parser("api", help="write api/<dist>.txt for every package")
    a.add_argument("--check", action="store_true", help="compare instead of writing")
    t = sub.add_parser("tag", help="record and tag the current version of one package")
    t.add_argument("package", choices=sorted(PACKAGES))
    options = parser.parse_args(argv)
    if options.command == "build":
        for artifact in build(Path(options.outdir)):
            print(artifact.relative_to(ROOT) if artifact.is_relative_to(ROOT) else artifact)
    elif options.command == "api":
        stale = []
        for package in PACKAGES.values():
            lines = computeApi(package)
            if options.check:
                if (
                    not apiFile(package).exists()
                    or apiFile(package).read_text().splitlines() != lines
                ):
                    stale.append(package.dist)
            else:
                writeApi(package, lines, apiFile(package))
        if stale:
            print("public API changed, run `python tools/release.py api`:", ", ".join(stale))
            return 1
    else:
        tag(PACKAGES[options.package])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
