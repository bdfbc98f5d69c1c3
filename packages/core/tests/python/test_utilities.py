"""versions, deprecate, runtime, procutils, randbytes, compat, util."""

from __future__ import annotations

import io
import os
import sys
import types
import warnings
from typing import Any

import pytest

from glisten.python import compat, deprecate, procutils, randbytes, runtime, util
from glisten.python.versions import IncomparableVersions, Version, getVersionString

V = Version("Glisten", 0, 2, 0)


def test_versions() -> None:
    assert V.short() == "0.2.0" and getVersionString(V) == "Glisten 0.2.0"
    assert (
        Version("x", 1, 2, 3, release_candidate=1, post=2, dev=3).public() == "1.2.3rc1.post2.dev3"
    )
    assert Version("x", 1, 0, 0, prerelease=2).release_candidate == 2
    assert Version("x", 1, 0, 0, release_candidate=1) < Version("x", 1, 0, 0)
    assert Version("x", 1, 0, 0) < Version("x", 1, 0, 0, post=1)
    assert Version("x", 1, 0, 0, dev=1) < Version("x", 1, 0, 0)
    assert Version("x", 1, 0, 0) == Version("X", 1, 0, 0)
    with pytest.raises(IncomparableVersions):
        _ = Version("x", 1, 0, 0) < Version("y", 1, 0, 0)
    assert "Version('x', 1, 0, 0, dev=1)" == repr(Version("x", 1, 0, 0, dev=1))


def _old(a: int) -> int:
    """Doubles."""
    return a * 2


def test_deprecated_function() -> None:
    dep = deprecate.deprecated(V, "glisten.python.util.sibpath")(_old)
    with pytest.warns(DeprecationWarning) as rec:
        assert dep(2) == 4
    assert str(rec[0].message) == (
        f"{__name__}._old was deprecated in Glisten 0.2.0; please use glisten.python.util.sibpath instead"
    )
    assert rec[0].filename == __file__
    assert "Deprecated in Glisten 0.2.0" in (dep.__doc__ or "")
    assert deprecate.getDeprecationWarningString(_old, V, replacement=util.sibpath).endswith(
        "please use glisten.python.util.sibpath instead"
    )


def test_deprecated_class_and_property() -> None:
    @deprecate.deprecated(V)
    class Old:
        def __init__(self, x: int) -> None:
            self.x = x

    with pytest.warns(DeprecationWarning, match="Old was deprecated in Glisten 0.2.0"):
        assert Old(3).x == 3

    class Holder:
        _v = 1

        @deprecate.deprecatedProperty(V)
        def value(self) -> int:
            """The value."""
            return self._v

        @value.setter
        def value(self, v: int) -> None:
            self._v = v

    h = Holder()
    with pytest.warns(DeprecationWarning, match="value was deprecated"):
        assert h.value == 1
    with pytest.warns(DeprecationWarning):
        h.value = 5
    assert h._v == 5


def test_deprecated_module_attribute() -> None:
    mod = types.ModuleType("glisten_test_depmod")
    mod.old = 1  # type: ignore[attr-defined]
    mod.new = 2  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    try:
        deprecate.deprecatedModuleAttribute(V, "use new", mod.__name__, "old")
        with pytest.warns(
            DeprecationWarning,
            match="glisten_test_depmod.old was deprecated in Glisten 0.2.0: use new",
        ):
            assert mod.old == 1  # type: ignore[attr-defined]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert mod.new == 2  # type: ignore[attr-defined]
    finally:
        del sys.modules[mod.__name__]


def test_deprecated_keyword() -> None:
    @deprecate.deprecatedKeywordParameter(V, "foo", "bar")
    def f(foo: int = 0, bar: int = 0) -> int:
        return foo + bar

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert f(bar=1) == 1
    with pytest.warns(DeprecationWarning, match="'foo' parameter"):
        f(foo=1)


def test_runtime() -> None:
    assert runtime.platformType == "posix"
    assert runtime.platform.getType() == "posix" and runtime.platform.isLinux()
    assert not runtime.platform.isWindows() and runtime.platform.supportsThreads()
    assert abs(runtime.seconds() - runtime.platform.seconds()) < 5
    assert runtime.Platform("nt", "win32").isWindows()
    assert runtime.shortPythonVersion().startswith("3.")


def test_which(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for d in (a, b):
        tool = d / "mytool"
        tool.write_text("#!/bin/sh\n")
        tool.chmod(0o755)
    (a / "notexec").write_text("")
    monkeypatch.setenv("PATH", f"{a}{os.pathsep}{b}")
    assert procutils.which("mytool") == [str(a / "mytool"), str(b / "mytool")]
    assert procutils.which("notexec") == []
    assert procutils.which("notexec", os.R_OK) == [str(a / "notexec")]


def test_randbytes() -> None:
    assert len(randbytes.secureRandom(16)) == 16
    assert randbytes.secureRandom(16) != randbytes.secureRandom(16)
    assert len(randbytes.insecureRandom(7)) == 7 and randbytes.insecureRandom(0) == b""


def test_compat() -> None:
    assert compat.nativeString(b"abc") == "abc" and compat.nativeString("abc") == "abc"
    with pytest.raises(UnicodeError):
        compat.nativeString("é")
    with pytest.raises(UnicodeError):
        compat.nativeString(b"\xff")
    with pytest.raises(TypeError):
        compat.nativeString(3)  # type: ignore[arg-type]
    assert compat.networkString("GET") == b"GET"
    with pytest.raises(TypeError):
        compat.networkString(b"x")  # type: ignore[arg-type]
    assert list(compat.iterbytes(b"ab")) == [b"a", b"b"]
    assert compat.intToBytes(-12) == b"-12"
    assert bytes(compat.lazyByteSlice(b"abcdef", 2, 3)) == b"cde"
    assert bytes(compat.lazyByteSlice(b"abcdef", 4)) == b"ef"
    assert list(compat.iteritems({1: 2})) == [(1, 2)] and list(compat.itervalues({1: 2})) == [2]
    assert compat.items({1: 2}) == [(1, 2)]
    assert compat.cmp(1, 2) == -1 and compat.cmp(2, 2) == 0
    assert compat.ioType(io.StringIO()) is str and compat.ioType(io.BytesIO()) is bytes

    @compat.comparable
    class C:
        def __init__(self, v: int) -> None:
            self.v = v

        def __cmp__(self, other: Any) -> int:
            return compat.cmp(self.v, other.v)

    assert C(1) < C(2) and C(2) == C(2) and C(3) >= C(2)


def test_insensitive_dict() -> None:
    d = util.InsensitiveDict({"Content-Type": "x"})
    assert d["content-type"] == "x" and "CONTENT-TYPE" in d
    assert d.keys() == ["Content-Type"]
    d["CONTENT-type"] = "y"
    assert len(d) == 1 and d.keys() == ["CONTENT-type"] and d.get("content-TYPE") == "y"
    assert util.InsensitiveDict({"A": 1}, preserve=0).keys() == ["a"]
    del d["content-type"]
    assert d.get("content-type", 3) == 3
    assert util.InsensitiveDict({"A": 1}) == {"a": 1}


def test_fancy_mixins() -> None:
    class P(util.FancyEqMixin, util.FancyStrMixin):
        compareAttributes = ("x", "y")
        showAttributes = ("x", ("y", hex), ("z", "zed", "%.1f"))

        def __init__(self, x: int, y: int) -> None:
            self.x, self.y, self.z = x, y, 1.0

    assert P(1, 2) == P(1, 2) and P(1, 2) != P(1, 3)
    assert P(1, 2) != object()
    assert str(P(1, 10)) == "<P x=1 y=0xa zed=1.0>"


def test_misc_util(tmp_path: Any) -> None:
    assert util.sibpath("/a/b/c.py", "d.txt") == "/a/b/d.txt"
    calls = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise InterruptedError(4, "EINTR")
        return 7

    assert util.untilConcludes(flaky) == 7 and len(calls) == 3
    assert util.padTo(3, [1]) == [1, None, None]
    assert util.uniquify([1, 2, 1, 3]) == [1, 2, 3]
    assert util.nameToLabel("fooBarBaz") == "Foo Bar Baz"
    assert util.uidFromString(str(os.getuid())) == os.getuid()
    assert util.uidFromString("root") == 0 and util.gidFromString("0") == 0
    assert util.runAsEffectiveUser(os.geteuid(), os.getegid(), lambda: 5) == 5
    (tmp_path / "marker").write_text("")
    (tmp_path / "x" / "y").mkdir(parents=True)
    assert util.searchupwards(str(tmp_path / "x" / "y"), files=["marker"]) == str(tmp_path) + os.sep
    with pytest.warns(UserWarning, match="already"):
        util.switchUID(os.getuid(), None)
