"""reflect lookups by name, and deprecating an API with a version."""

import warnings

from glisten.python import deprecate, reflect, util
from glisten.python.versions import Version


def newThing(x):
    return x + 1


@deprecate.deprecated(Version("MyProject", 1, 2, 0), newThing)
def oldThing(x):
    return x + 1


def main():
    print(reflect.namedAny("glisten.python.reflect.qual") is reflect.qual)
    print(reflect.qual(util.InsensitiveDict).replace("glisten", "PKG"))
    try:
        reflect.namedAny("no_such_module_anywhere")
    except reflect.ModuleNotFound:
        print("ModuleNotFound")
    try:
        reflect.namedAny("no_such_module_anywhere.thing")
    except reflect.ObjectNotFound:
        print("ObjectNotFound for a dotted name")
    try:
        reflect.namedAny("glisten.python.reflect.noSuchName")
    except AttributeError:
        print("AttributeError for a missing attribute")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        print("oldThing(1) =", oldThing(1))
    print(str(caught[0].message).replace("__main__", "MODULE"))
    d = util.InsensitiveDict({"Content-Type": "text/plain"})
    print(d["content-type"], d.keys())
    print(Version("MyProject", 1, 2, 0, release_candidate=1).public())


if __name__ == "__main__":
    main()
