"""Random input: usage.Options only ever raises UsageError; FilePath names either stay inside
the tree or raise InsecurePath."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.python import usage
from glisten.python.filepath import FilePath, InsecurePath


class Sub(usage.Options):
    optParameters = [["n", "n", 0, "A number.", int]]

    def parseArgs(self, one: str, *rest: str) -> None:
        self["args"] = (one, *rest)


class Opts(usage.Options):
    optFlags = [["verbose", "v"], ["quiet", "q"]]
    optParameters = [["port", "p", 80, "Port.", usage.portCoerce], ["name", None, "x"]]
    subCommands = [["sub", "s", Sub, "A sub-command."]]

    def opt_define(self, value: str) -> None:
        self.setdefault("defines", []).append(value)


_tokens = st.one_of(
    st.sampled_from(
        [
            "-v",
            "-q",
            "-vq",
            "-p",
            "--port",
            "--port=",
            "--name",
            "--define",
            "sub",
            "s",
            "-n",
            "--",
            "-",
            "--verbose=1",
            "--nope",
            "-x",
            "65536",
            "-1",
            "8080",
            "abc",
        ]
    ),
    st.text(max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_tokens, max_size=8))
def test_options_random_argv_only_usage_errors(argv: list[str]) -> None:
    o = Opts()
    try:
        o.parseOptions(argv)
    except usage.UsageError:
        return
    port = o["port"]
    assert isinstance(port, int) and 0 <= port <= 65535
    if o.subCommand is not None:
        assert isinstance(o.subOptions, Sub)


_ROOT = tempfile.mkdtemp()


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.text(max_size=12), st.binary(max_size=12)),
    st.sampled_from(["child", "preauthChild", "globChildren", "siblingExtension"]),
)
def test_filepath_names_stay_inside(name: Any, method: str) -> None:
    root: FilePath[Any] = FilePath(_ROOT if isinstance(name, str) else os.fsencode(_ROOT))
    inside = os.path.abspath(_ROOT)
    try:
        result = getattr(root, method)(name)
    except InsecurePath:
        return
    except UnicodeError:
        # Undecodable bytes on a str tree (or the reverse) are refused by the codec.
        return
    results = result if isinstance(result, list) else [result]
    for r in results:
        path = os.path.abspath(os.fsdecode(r.path))
        if method == "siblingExtension":
            assert os.path.dirname(path) == os.path.dirname(inside)
        else:
            assert path == inside or path.startswith(inside + os.sep), (name, path)
