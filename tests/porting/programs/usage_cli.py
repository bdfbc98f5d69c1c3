"""A command line parsed with usage.Options: flags, parameters, opt_ methods, sub-commands."""

import sys

from glisten.python import usage


class AddOptions(usage.Options):
    optFlags = [["force", "f", "Overwrite an existing entry."]]
    optParameters = [["priority", "p", 1, "Priority of the entry.", int]]

    def parseArgs(self, name, *values):
        self["name"] = name
        self["values"] = list(values)


class RemoveOptions(usage.Options):
    def parseArgs(self, name):
        self["name"] = name


class Options(usage.Options):
    synopsis = "Usage: usage_cli.py [options] command"
    optFlags = [["verbose", "v", "Print more."]]
    optParameters = [["db", "d", "default.db", "The database file."]]
    subCommands = [
        ["add", "a", AddOptions, "Add an entry."],
        ["remove", None, RemoveOptions, "Remove an entry."],
    ]

    def __init__(self):
        usage.Options.__init__(self)
        self["tags"] = []

    def opt_tag(self, tag):
        """Add a tag (repeatable)."""
        self["tags"].append(tag)

    opt_t = opt_tag

    def postOptions(self):
        if self.subCommand is None:
            raise usage.UsageError("a command is required")


def run(argv):
    config = Options()
    try:
        config.parseOptions(argv)
    except usage.UsageError as e:
        print("error:", e)
        return
    sub = config.subOptions
    print(
        "db=%s verbose=%s tags=%s command=%s"
        % (config["db"], config["verbose"], config["tags"], config.subCommand)
    )
    print("  sub:", sorted((k, v) for k, v in sub.items()))


if __name__ == "__main__":
    for argv in [
        [
            "-v",
            "--db",
            "x.db",
            "-t",
            "red",
            "--tag=blue",
            "add",
            "-f",
            "-p",
            "3",
            "thing",
            "1",
            "2",
        ],
        ["a", "other"],
        ["remove", "thing"],
        ["remove"],
        ["add", "--priority", "high", "x"],
        ["--nope"],
        [],
        ["frobnicate"],
    ]:
        print("argv:", argv)
        run(argv)
    sys.stdout.flush()
