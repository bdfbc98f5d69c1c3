"""proxyForInterface: wrap a protocol, override one method, keep the rest."""

from zope.interface import Interface, implementer

from glisten.python.components import proxyForInterface


class IGreeter(Interface):
    def greet(name):
        """Greet someone."""

    def farewell(name):
        """Say goodbye."""


@implementer(IGreeter)
class PlainGreeter:
    def greet(self, name):
        return "hello " + name

    def farewell(self, name):
        return "bye " + name


class ShoutingGreeter(proxyForInterface(IGreeter)):
    def greet(self, name):
        return self.original.greet(name).upper() + "!"


class CountingGreeter(proxyForInterface(IGreeter, originalAttribute="wrapped")):
    calls = 0

    def farewell(self, name):
        self.calls += 1
        return self.wrapped.farewell(name) + " (%d)" % (self.calls,)


def main():
    shout = ShoutingGreeter(PlainGreeter())
    print(shout.greet("ann"))
    print(shout.farewell("ann"))
    print("provides IGreeter:", IGreeter.providedBy(shout))
    counting = CountingGreeter(shout)
    print(counting.greet("bo"))
    print(counting.farewell("bo"))
    print(counting.farewell("cy"))
    print(
        "proxy class name mentions the interface:", "IGreeter" in type(counting).__mro__[1].__name__
    )


if __name__ == "__main__":
    main()
