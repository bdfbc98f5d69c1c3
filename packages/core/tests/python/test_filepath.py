"""FilePath: navigation, content, metadata, and refusal of every traversal form."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from zope.interface.verify import verifyObject

from glisten.python.filepath import (
    FilePath,
    IFilePath,
    InsecurePath,
    LinkError,
    Permissions,
    UnlistableError,
)


@pytest.fixture(params=[str, bytes], ids=["str", "bytes"])
def root(request: pytest.FixtureRequest, tmp_path: Any) -> FilePath[Any]:
    base = tmp_path / "root"
    base.mkdir()
    (base / "sub").mkdir()
    (base / "sub" / "leaf.txt").write_bytes(b"leaf")
    (base / "a.txt").write_bytes(b"a")
    (tmp_path / "rootx").mkdir()
    (tmp_path / "secret").write_bytes(b"secret")
    path: Any = str(base) if request.param is str else os.fsencode(str(base))
    return FilePath(path)


def _t(like: Any, s: str) -> Any:
    return s.encode() if isinstance(like, bytes) else s


# Every way a name handed in by a peer could escape.  (method, argument) pairs; the argument is
# converted to the type of the root's path.
_TRAVERSALS: list[tuple[str, Callable[[FilePath[Any], Any], Any], str]] = []
for _name in ["..", "../secret", "/etc/passwd", "sub/../..", "a\0b", "sub/leaf.txt", "../rootx"]:
    _TRAVERSALS.append(("child", lambda fp, a: fp.child(a), _name))
    _TRAVERSALS.append(("sibling", lambda fp, a: fp.child(_t(a, "sub")).sibling(a), _name))
    _TRAVERSALS.append(("descendant", lambda fp, a: fp.descendant([_t(a, "sub"), a]), _name))
for _name in [
    "..",
    "../secret",
    "/etc/passwd",
    "sub/../..",
    "sub/../../secret",
    "a\0b",
    "../rootx/",
]:
    _TRAVERSALS.append(("preauthChild", lambda fp, a: fp.preauthChild(a), _name))
    _TRAVERSALS.append(("childSearchPreauth", lambda fp, a: fp.childSearchPreauth(a), _name))
for _name in ["../*", "/etc/*", "sub/../../*", "a\0*"]:
    _TRAVERSALS.append(("globChildren", lambda fp, a: fp.globChildren(a), _name))
for _name in ["/../secret", "\0"]:
    _TRAVERSALS.append(("siblingExtension", lambda fp, a: fp.siblingExtension(a), _name))
    _TRAVERSALS.append(("temporarySibling", lambda fp, a: fp.temporarySibling(a), _name))
    _TRAVERSALS.append(("setContent", lambda fp, a: fp.child(_t(a, "x")).setContent(b"", a), _name))


@pytest.mark.parametrize(
    ("method", "call", "arg"), _TRAVERSALS, ids=[f"{m}-{a!r}" for m, _, a in _TRAVERSALS]
)
def test_traversal_refused(root: FilePath[Any], method: str, call: Any, arg: str) -> None:
    with pytest.raises(InsecurePath):
        call(root, _t(root.path, arg))


def test_constructor_refuses_nul() -> None:
    with pytest.raises(InsecurePath):
        FilePath("/tmp/a\0b")
    with pytest.raises(InsecurePath):
        FilePath(b"/tmp/a\0b")


def test_prefix_sibling_is_not_inside(root: FilePath[Any]) -> None:
    # '/x/root' must not accept '/x/rootx' (a string-prefix check would).
    with pytest.raises(InsecurePath):
        root.preauthChild(_t(root.path, "../rootx"))


def test_allowed_navigation(root: FilePath[Any]) -> None:
    s = _t(root.path, "sub")
    sub = root.child(s)
    assert sub.isdir()
    assert root.preauthChild(_t(root.path, "sub/leaf.txt")).getContent() == b"leaf"
    assert root.preauthChild(_t(root.path, "sub/../a.txt")).getContent() == b"a"
    assert sub.sibling(_t(root.path, "a.txt")).getContent() == b"a"
    assert root.descendant([s, _t(root.path, "leaf.txt")]).isfile()
    assert sub.parent() == root
    assert root.childSearchPreauth(_t(root.path, "nope"), _t(root.path, "a.txt")) == root.child(
        _t(root.path, "a.txt")
    )
    assert root.childSearchPreauth(_t(root.path, "nope")) is None
    assert sorted(c.basename() for c in root.children()) == [
        _t(root.path, n) for n in ["a.txt", "sub"]
    ]
    assert [p.basename() for p in root.globChildren(_t(root.path, "*.txt"))] == [
        _t(root.path, "a.txt")
    ]
    assert [p.basename() for p in root.globChildren(_t(root.path, "sub/*"))] == [
        _t(root.path, "leaf.txt")
    ]
    leaf = sub.child(_t(root.path, "leaf.txt"))
    assert leaf.segmentsFrom(root) == [s, _t(root.path, "leaf.txt")]
    with pytest.raises(ValueError):
        root.segmentsFrom(leaf)
    assert root in list(leaf.parents())


def test_child_takes_argument_type(root: FilePath[Any]) -> None:
    assert isinstance(root.child("sub").path, str)
    assert isinstance(root.child(b"sub").path, bytes)
    assert root.asBytesMode().asTextMode() == root
    assert root.child("sub") == root.child(b"sub")


def test_walk(root: FilePath[Any]) -> None:
    names = sorted(p.basename() for p in root.walk())
    expected = sorted(_t(root.path, n) for n in ["root", "sub", "leaf.txt", "a.txt"])
    assert names == expected
    # descend=False still yields the directory, but not what is inside it.
    names = sorted(p.basename() for p in root.walk(descend=lambda p: False))
    assert _t(root.path, "leaf.txt") not in names and _t(root.path, "sub") in names


def test_walk_link_cycle(root: FilePath[Any]) -> None:
    os.symlink(root.path, root.child("sub").child("loop").path)
    with pytest.raises(LinkError):
        list(root.walk())


def test_set_content_atomic_and_ext(root: FilePath[Any]) -> None:
    f = root.child("data")
    f.setContent(b"one")
    assert f.getContent() == b"one"
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(os.fsdecode(src))
        # At the moment of the rename the old file is still complete.
        assert f.getContent() == b"one"
        real_replace(src, dst)

    os.replace = spy  # type: ignore[assignment]
    try:
        f.setContent(b"two", ext=".tmp")
    finally:
        os.replace = real_replace
    assert f.getContent() == b"two"
    assert seen[0].endswith(".tmp") and os.path.dirname(seen[0]) == os.fsdecode(root.path)
    # No temporary file is left behind.
    assert sorted(os.fsdecode(c.basename()) for c in root.children()) == ["a.txt", "data", "sub"]


def test_set_content_failure_leaves_old(
    root: FilePath[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = root.child("data")
    f.setContent(b"old")

    def boom(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        f.setContent(b"new")
    monkeypatch.undo()
    assert f.getContent() == b"old"
    assert sorted(os.fsdecode(c.basename()) for c in root.children()) == ["a.txt", "data", "sub"]


def test_open_modes(root: FilePath[Any]) -> None:
    f = root.child("f")
    with f.open("w") as h:
        h.write(b"12")
    with f.open("a") as h:
        h.write(b"3")
    with f.open() as h:
        assert h.read() == b"123"
    f.requireCreate()
    with pytest.raises(FileExistsError):
        f.open("w")
    with pytest.raises(ValueError):
        f.open("a")
    g = root.child("g")
    with g.create() as h:
        h.write(b"x")
    with pytest.raises(FileExistsError):
        g.create()


def test_metadata(root: FilePath[Any]) -> None:
    f = root.child("a.txt")
    assert f.exists() and f.isfile() and not f.isdir() and not f.islink()
    assert f.getsize() == 1
    assert f.getModificationTime() > 0 and f.getAccessTime() > 0 and f.getStatusChangeTime() > 0
    assert f.getInodeNumber() and f.getDevice() >= 0 and f.getNumberOfHardLinks() == 1
    assert f.getUserID() == os.getuid() and f.getGroupID() == os.getgid()
    f.chmod(0o640)
    perms = f.getPermissions()
    assert perms == Permissions(0o640)
    assert perms.shorthand() == "rw-r-----"
    assert perms.user.read and not perms.group.write
    missing = root.child("missing")
    assert not missing.exists() and not missing.isdir() and not missing.isfile()
    with pytest.raises(OSError):
        missing.getsize()
    f.setContent(b"longer")
    assert f.getsize() == 6
    verifyObject(IFilePath, f)


def test_children_of_file_unlistable(root: FilePath[Any]) -> None:
    with pytest.raises(UnlistableError) as info:
        root.child("a.txt").children()
    assert isinstance(info.value, OSError)
    assert isinstance(info.value.originalException, OSError)
    with pytest.raises(UnlistableError):
        root.child("missing").listdir()


def test_makedirs(root: FilePath[Any]) -> None:
    d = root.descendant(["x", "y", "z"])
    d.makedirs()
    assert d.isdir()
    with pytest.raises(FileExistsError):
        d.makedirs()
    d.makedirs(ignoreExistingDirectory=True)
    with pytest.raises(FileExistsError):
        root.child("a.txt").makedirs(ignoreExistingDirectory=True)


def test_copy_move_remove(root: FilePath[Any]) -> None:
    dest = root.child("copy")
    root.child("sub").copyTo(dest)
    assert dest.child("leaf.txt").getContent() == b"leaf"
    moved = root.child("moved")
    dest.moveTo(moved)
    assert not dest.exists() and moved.child("leaf.txt").getContent() == b"leaf"
    link = root.child("link")
    root.child("a.txt").linkTo(link)
    assert link.islink()
    link2 = root.child("link2")
    link.copyTo(link2, followLinks=False)
    assert link2.islink()
    link3 = root.child("link3")
    link.copyTo(link3)
    assert not link3.islink() and link3.getContent() == b"a"
    moved.remove()
    assert not moved.exists()
    link.remove()
    assert root.child("a.txt").exists()


def test_move_across_devices(root: FilePath[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    real = os.rename
    calls = []

    def rename(src: Any, dst: Any) -> None:
        calls.append(src)
        if len(calls) == 1:
            raise OSError(errno.EXDEV, "cross-device")
        real(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    target = root.child("elsewhere")
    root.child("sub").moveTo(target)
    assert target.child("leaf.txt").getContent() == b"leaf"
    assert not root.child("sub").exists()


def test_misc(root: FilePath[Any]) -> None:
    f = root.child("a.txt")
    assert f.splitext()[1] == ".txt"
    assert f.siblingExtension(".bak").basename() == "a.txt.bak"
    assert root.child("a").siblingExtensionSearch(".nope", ".txt") == f
    assert root.child("a.txt").siblingExtensionSearch("") == f
    t = f.temporarySibling(".tmp")
    assert t.parent() == root and t.basename().endswith(".tmp") and not t.exists()
    assert f.realpath() == f
    assert repr(FilePath("/x")) == "FilePath('/x')"
    assert FilePath("/a") < FilePath("/b")
    assert len({FilePath("/a"), FilePath("/a")}) == 1
    assert FilePath("/a/../b") == FilePath("/b")
    assert pickle.loads(pickle.dumps(f)) == f
    touched = root.child("touched")
    touched.touch()
    assert touched.exists()
    assert root.child("") == root and root.child(".") == root
    assert FilePath("/").parent() == FilePath("/")
