"""reflect and components."""

from __future__ import annotations

from typing import Any

import pytest
from zope.interface import Attribute, Interface, implementer

from glisten.python import components, reflect
from glisten.python.filepath import FilePath


class ISay(Interface):
    volume = Attribute("how loud")

    def say(text: str) -> str:  # type: ignore[misc]
        """Say it."""


class IWalk(Interface):
    def walk() -> str:  # type: ignore[misc]
        """Walk."""


class Dog:
    def __init__(self) -> None:
        self.name = "rex"


class DogSays(components.Adapter):
    def say(self, text: str) -> str:
        return f"{self.original.name}: {text}"


def test_named_any() -> None:
    assert reflect.namedAny("glisten.python.filepath.FilePath") is FilePath
    assert reflect.namedAny("glisten.python.filepath.FilePath.child") is FilePath.child
    assert reflect.namedAny("os") is __import__("os")
    with pytest.raises(reflect.InvalidName):
        reflect.namedAny("")
    with pytest.raises(reflect.InvalidName):
        reflect.namedAny("os..path")
    with pytest.raises(reflect.ModuleNotFound):
        reflect.namedAny("no_such_module_xyz")
    with pytest.raises(reflect.ObjectNotFound):
        reflect.namedAny("no_such_module_xyz.thing")
    with pytest.raises(AttributeError):
        reflect.namedAny("glisten.python.filepath.NoSuchThing")
    assert reflect.namedObject("glisten.python.filepath.FilePath") is FilePath
    assert reflect.namedModule("glisten.python.reflect") is reflect
    assert reflect.requireModule("no_such_module_xyz", 5) == 5


def test_names() -> None:
    assert reflect.qual(FilePath) == "glisten.python.filepath.FilePath"
    assert reflect.fullyQualifiedName(FilePath.child) == "glisten.python.filepath.FilePath.child"
    assert (
        reflect.fullyQualifiedName(FilePath("/").child) == "glisten.python.filepath.FilePath.child"
    )
    assert reflect.fullyQualifiedName(reflect) == "glisten.python.reflect"
    assert reflect.fullyQualifiedName(reflect.qual) == "glisten.python.reflect.qual"


def test_safe_repr_str() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("nope")

        __str__ = __repr__

    assert "Broken instance at 0x" in reflect.safe_repr(Broken())
    assert "RuntimeError" in reflect.safe_str(Broken())
    assert reflect.safe_repr([1]) == "[1]"
    assert reflect.safe_str(b"caf\xc3\xa9") == "café"
    assert reflect.safe_str(b"\xff") == "\\xff"


def test_class_accumulation() -> None:
    class A:
        items = [1]

        def opt_a(self) -> None: ...

    class B(A):
        items = [2]

        def opt_b(self) -> None: ...

    out: list[Any] = []
    reflect.accumulateClassList(B, "items", out)
    assert out == [1, 2]
    assert sorted(reflect.prefixedMethodNames(B, "opt_")) == ["a", "b"]
    d: dict[str, int] = {}
    reflect.addMethodNamesToDict(B, d, "opt_")
    assert sorted(d) == ["a", "b"]
    assert sorted(m.__name__ for m in reflect.prefixedMethods(B(), "opt_")) == ["opt_a", "opt_b"]
    assert A in reflect.allYourBase(B)


def test_register_adapter_and_adapt() -> None:
    class Cat:
        pass

    class CatWalks:
        def __init__(self, cat: Cat) -> None:
            self.cat = cat

        def walk(self) -> str:
            return "prowl"

    components.registerAdapter(CatWalks, Cat, IWalk)
    assert IWalk(Cat()).walk() == "prowl"
    assert components.getAdapterFactory(Cat, IWalk, None) is CatWalks
    assert components.getAdapterFactory(Cat, ISay, "dflt") == "dflt"
    with pytest.raises(ValueError, match="already registered"):
        components.registerAdapter(CatWalks, Cat, IWalk)
    with pytest.raises(TypeError):
        ISay(Cat())
    assert ISay(Cat(), None) is None


def test_componentized() -> None:
    class Avatar(components.Componentized):
        pass

    components.registerAdapter(DogSays, Avatar, ISay)
    a = Avatar()
    s1 = ISay(a)
    assert ISay(a) is s1  # cached
    w = object()
    a.setComponent(IWalk, w)
    assert IWalk(a) is w and a.getComponent(IWalk) is w
    a.unsetComponent(IWalk)
    assert a.getComponent(IWalk, "none") == "none"

    @implementer(IWalk)
    class Walker:
        def walk(self) -> str:
            return "w"

    walker = Walker()
    a.addComponent(walker)
    assert IWalk(a) is walker
    assert a.removeComponent(walker) == [IWalk]
    assert repr(components.ReprableComponentized()) == "<ReprableComponentized>"


def test_proxy_for_interface() -> None:
    @implementer(ISay)
    class Loud:
        volume = 11

        def say(self, text: str) -> str:
            return text.upper()

    Proxy = components.proxyForInterface(ISay)
    p = Proxy(Loud())
    assert ISay.providedBy(p)
    assert p.say("hi") == "HI" and p.volume == 11
    p.volume = 3
    assert p.original.volume == 3
    assert "Proxy for" in Proxy.__name__ and "ISay" in Proxy.__name__

    class Quiet(components.proxyForInterface(ISay, "wrapped")):  # type: ignore[misc]
        def say(self, text: str) -> str:
            return self.wrapped.say(text).lower() + "."

    q = Quiet(Loud())
    assert q.say("Hi") == "hi." and q.volume == 11
