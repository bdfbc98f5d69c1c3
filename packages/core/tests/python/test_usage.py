"""usage.Options against Twisted's documented behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from glisten.python import usage


class Basic(usage.Options):
    optFlags = [["verbose", "v", "Be loud."], ["quiet", None, "Be quiet."]]
    optParameters = [
        ["port", "p", 8080, "Port to use.", usage.portCoerce],
        ["host", "h", "localhost", "Host name."],
        ["ratio", None, None, "A float.", float],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["defines"] = []

    def opt_define(self, value: str) -> None:
        """Define a name=value pair.

        Second paragraph, not in the table.
        """
        self["defines"].append(value)

    opt_D = opt_define

    def opt_debug_mode(self) -> None:
        """Turn on debugging."""
        self["debug"] = True


def test_defaults() -> None:
    o = Basic()
    o.parseOptions([])
    assert o["verbose"] == 0 and o["quiet"] == 0
    assert o["port"] == 8080 and o["host"] == "localhost" and o["ratio"] is None
    assert o.opts is o


def test_flags_params_and_methods() -> None:
    o = Basic()
    o.parseOptions(
        [
            "-v",
            "--port",
            "99",
            "-hexample.org",
            "--ratio=0.5",
            "-D",
            "a=1",
            "--define",
            "b=2",
            "--debug-mode",
        ]
    )
    assert o["verbose"] == 1 and o["port"] == 99 and o["host"] == "example.org"
    assert o["ratio"] == 0.5 and o["defines"] == ["a=1", "b=2"] and o["debug"] is True


def test_combined_short_flags() -> None:
    class Opts(usage.Options):
        optFlags = [["a", "a"], ["b", "b"]]

    o = Opts()
    o.parseOptions(["-ab"])
    assert o["a"] == 1 and o["b"] == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "option --nope not recognized"),
        (["--port", "abc"], "Parameter type enforcement failed: invalid literal"),
        (["--port", "70000"], "Parameter type enforcement failed: Port number not in range: 70000"),
        (["--verbose=yes"], "option --verbose must not have an argument"),
        (["--port"], "option --port requires argument"),
        (["extra"], "Wrong number of arguments."),
    ],
)
def test_errors(argv: list[str], message: str) -> None:
    with pytest.raises(usage.UsageError) as info:
        Basic().parseOptions(argv)
    assert str(info.value).startswith(message)


def test_parse_args_and_post_options() -> None:
    class Opts(usage.Options):
        optFlags = [["force", "f"]]

        def parseArgs(self, src: str, dst: str | None = None) -> None:
            self["src"], self["dst"] = src, dst

        def postOptions(self) -> None:
            if self["src"] == "bad":
                raise usage.UsageError("bad source")

    o = Opts()
    o.parseOptions(["-f", "a", "b"])
    assert (o["force"], o["src"], o["dst"]) == (1, "a", "b")
    o = Opts()
    o.parseOptions(["a"])
    assert o["dst"] is None
    with pytest.raises(usage.UsageError, match="Wrong number of arguments."):
        Opts().parseOptions([])
    with pytest.raises(usage.UsageError, match="Wrong number of arguments."):
        Opts().parseOptions(["a", "b", "c"])
    with pytest.raises(usage.UsageError, match="bad source"):
        Opts().parseOptions(["bad"])


def test_parse_args_type_error_inside_is_not_swallowed() -> None:
    class Opts(usage.Options):
        def parseArgs(self, x: str) -> None:
            raise TypeError("a bug in parseArgs")

    with pytest.raises(TypeError, match="a bug"):
        Opts().parseOptions(["x"])


class Sub(usage.Options):
    optParameters = [["name", "n", "anon", "Who."]]

    def parseArgs(self, *rest: str) -> None:
        self["rest"] = rest


class Other(usage.Options):
    optFlags = [["all", "a"]]


class Top(usage.Options):
    optFlags = [["verbose", "v"]]
    subCommands = [["run", "r", Sub, "Run it."], ["other", None, Other, "Other thing."]]


def test_subcommands() -> None:
    o = Top()
    o.parseOptions(["-v", "run", "--name", "bob", "x", "-y"])
    assert o["verbose"] == 1 and o.subCommand == "run"
    assert isinstance(o.subOptions, Sub) and o.subOptions.parent is o
    assert o.subOptions["name"] == "bob" and o.subOptions["rest"] == ("x", "-y")
    o = Top()
    o.parseOptions(["r"])
    assert o.subCommand == "run"
    o = Top()
    o.parseOptions([])
    assert o.subCommand is None and o.subOptions is None
    with pytest.raises(usage.UsageError, match="Unknown command: nope"):
        Top().parseOptions(["nope"])
    # Options of the parent after the sub-command belong to the sub-command.
    with pytest.raises(usage.UsageError):
        Top().parseOptions(["other", "-v"])


def test_default_subcommand() -> None:
    class T(Top):
        defaultSubCommand = "other"

    o = T()
    o.parseOptions([])
    assert o.subCommand == "other" and o.subOptions is not None and o.subOptions["all"] == 0


def test_inherited_declarations() -> None:
    class Child(Basic):
        optFlags = [["extra", "x"]]

    o = Child()
    o.parseOptions(["-x", "-v"])
    assert o["extra"] == 1 and o["verbose"] == 1 and o["port"] == 8080


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        Basic().parseOptions(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: ")
    for piece in [
        "-v, --verbose",
        "Be loud.",
        "-p, --port=",
        "[default: 8080]",
        "--define=",
        "Define a name=value pair.",
        "--debug-mode",
        "--help",
        "--version",
        "Must be an int between 0 and 65535.",
    ]:
        assert piece in " ".join(out.split()), piece
    assert "Second paragraph" not in out
    with pytest.raises(SystemExit):
        Basic().parseOptions(["--version"])
    assert "version" in capsys.readouterr().out


def test_subcommand_help() -> None:
    text = str(Top())
    assert "Commands:" in text and "run, r" in text and "Run it." in text
    o = Top()
    o.parseOptions(["run"])
    assert o.subOptions is not None
    assert "run [options]" in o.subOptions.getSynopsis()


def test_synopsis_and_longdesc() -> None:
    class Opts(usage.Options):
        synopsis = "Usage: prog [options] FILE"
        longdesc = "Does things to FILE."

    text = str(Opts())
    assert text.startswith("Usage: prog [options] FILE\n") and "Does things to FILE." in text


def test_options_hashable_and_dict() -> None:
    a, b = Basic(), Basic()
    assert len({a, b}) == 2
    assert dict(a)["port"] == 8080


def test_completion_metadata_accepted() -> None:
    class Opts(usage.Options):
        optParameters = [["file", "f", None, "A file."]]
        compData = usage.Completions(
            optActions={"file": usage.CompleteFiles("*.txt")},
            extraActions=[usage.CompleteDirs(descr="dir")],
            mutuallyExclusive=[["a", "b"]],
        )

    o = Opts()
    o.parseOptions(["-f", "x.txt"])
    assert o["file"] == "x.txt"


def test_flag_function() -> None:
    class X:
        def flag(self) -> None: ...
        def param(self, v: Any) -> None: ...
        def bad(self, a: Any, b: Any) -> None: ...

    assert usage.flagFunction(X().flag) is True
    assert usage.flagFunction(X().param) is False
    with pytest.raises(usage.UsageError):
        usage.flagFunction(X().bad)


def test_flag_declared_with_dash_keeps_key() -> None:
    class Opts(usage.Options):
        optFlags = [["no-daemon", "n", "Stay in front."]]

    o = Opts()
    o.parseOptions(["--no-daemon"])
    assert o["no-daemon"] == 1
