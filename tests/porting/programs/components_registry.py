"""Adapters through the global registry and a Componentized avatar."""

from zope.interface import Interface, implementer

from glisten.python import components


class IShell(Interface):
    def run(command):
        """Run a command."""


class IFiles(Interface):
    def list():
        """List files."""


class User:
    def __init__(self, name):
        self.name = name


@implementer(IShell)
class UserShell:
    def __init__(self, user):
        self.user = user

    def run(self, command):
        return "%s runs %s" % (self.user.name, command)


class Avatar(components.Componentized):
    def __init__(self, name):
        components.Componentized.__init__(self)
        self.name = name


@implementer(IFiles)
class AvatarFiles(components.Adapter):
    def list(self):
        return ["%s.txt" % (self.original.name,)]


components.registerAdapter(UserShell, User, IShell)
components.registerAdapter(AvatarFiles, Avatar, IFiles)


def main():
    print(IShell(User("ann")).run("ls"))
    print("factory:", components.getAdapterFactory(User, IShell, None).__name__)
    print("no adapter:", IFiles(User("bo"), "default"))
    try:
        components.registerAdapter(UserShell, User, IShell)
    except ValueError:
        print("duplicate registration refused")
    avatar = Avatar("cy")
    files = IFiles(avatar)
    print(files.list(), "cached:", IFiles(avatar) is files)
    avatar.setComponent(IShell, UserShell(User("cy-shell")))
    print(IShell(avatar).run("pwd"))
    avatar.unsetComponent(IShell)
    print("after unset:", avatar.getComponent(IShell, "gone"))


if __name__ == "__main__":
    main()
