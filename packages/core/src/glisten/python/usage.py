"""Declarative command-line parsing, as ``twisted.python.usage`` does it.

Subclass :class:`Options` and declare what the command takes::

    class ServeOptions(usage.Options):
        optFlags = [["verbose", "v", "Say more."]]
        optParameters = [["port", "p", 8080, "Port to listen on.", int]]

        def opt_define(self, value):
            '''Define a name=value pair (repeatable).'''
            self.setdefault("defines", []).append(value)

The parsed options are the dict itself (``config["port"]``). Flags default to ``0`` and become
``1``; parameters default to their declared default; ``opt_NAME`` methods are options too (one
argument makes them take a value; underscores become dashes); an alias ``opt_x = opt_verbose``
adds a short form. ``subCommands`` pick a nested Options class by the first positional argument,
leftover arguments go to :meth:`Options.parseArgs`, and :meth:`Options.postOptions` validates the
result. Every problem raises :class:`UsageError` with a message fit for the user.

Completion metadata (``compData``/:class:`Completions`) is accepted and kept so ported option
classes load unchanged; shell completion scripts are not generated.
"""

from __future__ import annotations

import getopt
import inspect
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from . import reflect

__all__ = [
    "CompleteDirs",
    "CompleteFiles",
    "CompleteGroups",
    "CompleteHostnames",
    "CompleteList",
    "CompleteMultiList",
    "CompleteNetInterfaces",
    "CompleteUserAtHost",
    "CompleteUsernames",
    "Completer",
    "Completions",
    "CoerceParameter",
    "Options",
    "UsageError",
    "error",
    "flagFunction",
    "portCoerce",
]


class UsageError(Exception):
    """The command line is wrong; the message says how, for the user."""


error = UsageError


class CoerceParameter:
    """Dispatches a parameter's value through a coercion function into the options dict."""

    def __init__(self, options: Options, coerce: Callable[[str], Any]) -> None:
        self.options = options
        self.coerce = coerce
        self.doc = getattr(self.coerce, "coerceDoc", "")

    def dispatch(self, parameterName: str, value: str | None) -> None:
        """Store ``coerce(value)`` under ``parameterName``.

        :raises UsageError: the value is missing or ``coerce`` raised :class:`ValueError`.
        """
        if value is None:
            raise UsageError(f"Parameter '{parameterName}' requires an argument.")
        try:
            coerced = self.coerce(value)
        except ValueError as e:
            raise UsageError(f"Parameter type enforcement failed: {e}")
        self.options.opts[parameterName] = coerced


def portCoerce(value: str) -> int:
    """A TCP/UDP port number from text (0-65535).

    :raises ValueError: not a number, or out of range.
    """
    port = int(value)
    if port < 0 or port > 65535:
        raise ValueError(f"Port number not in range: {value}")
    return port


portCoerce.coerceDoc = "Must be an int between 0 and 65535."  # type: ignore[attr-defined]


def flagFunction(method: Callable[..., Any], name: str | None = None) -> bool:
    """Whether an ``opt_`` method is a flag (takes no value) rather than a parameter.

    :raises UsageError: it takes more than one argument.
    """
    try:
        params = [
            p
            for p in inspect.signature(method).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    if len(params) > 1:
        raise UsageError(f"Invalid Option function for {name or method.__name__}")
    return len(params) == 0


class Completer:
    """Completion metadata for one option or positional argument (kept, not acted on)."""

    _descr: str | None = None

    def __init__(self, descr: str | None = None, repeat: bool = False) -> None:
        if descr is not None:
            self._descr = descr
        self._repeat = repeat


class CompleteFiles(Completer):
    """Complete file names matching ``globPattern``."""

    _descr = "file"

    def __init__(self, globPattern: str = "*", **kw: Any) -> None:
        super().__init__(**kw)
        self._globPattern = globPattern


class CompleteDirs(Completer):
    """Complete directory names."""

    _descr = "directory"


class CompleteList(Completer):
    """Complete from a fixed list."""

    def __init__(self, items: Iterable[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._items = list(items or [])


class CompleteMultiList(CompleteList):
    """Complete a comma-separated list of items."""


class CompleteUsernames(Completer):
    """Complete user names."""

    _descr = "user"


class CompleteGroups(Completer):
    """Complete group names."""

    _descr = "group"


class CompleteHostnames(Completer):
    """Complete host names."""

    _descr = "host"


class CompleteUserAtHost(Completer):
    """Complete ``user@host``."""

    _descr = "host | user@host"


class CompleteNetInterfaces(Completer):
    """Complete network interface names."""

    _descr = "network interface"


class Completions:
    """Completion metadata for an Options class: descriptions, mutual exclusion, actions."""

    def __init__(
        self,
        descriptions: dict[str, str] | None = None,
        multiUse: Sequence[str] | None = None,
        mutuallyExclusive: Sequence[Sequence[str]] | None = None,
        optActions: dict[str, Completer] | None = None,
        extraActions: Sequence[Completer] | None = None,
    ) -> None:
        self.descriptions = descriptions or {}
        self.multiUse = list(multiUse or [])
        self.mutuallyExclusive = list(mutuallyExclusive or [])
        self.optActions = optActions or {}
        self.extraActions = list(extraActions or [])


def _padTo(n: int, seq: Sequence[Any], default: Any = None) -> list[Any]:
    if len(seq) > n:
        raise ValueError(f"{len(seq)} elements is more than {n}.")
    return list(seq) + [default] * (n - len(seq))


def _firstParagraph(doc: str | None) -> str:
    if not doc:
        return ""
    text = inspect.cleandoc(doc)
    return " ".join(text.split("\n\n", 1)[0].split())


class Options(dict[str, Any]):
    """A command's options: declare them on a subclass, call :meth:`parseOptions`.

    :cvar optFlags: ``[long, short, doc]`` lists for switches (value ``0``, set to ``1``).
    :cvar optParameters: ``[long, short, default, doc, coerce]`` lists for options taking a
        value (``coerce`` turns the text into the stored value, raising :class:`ValueError`).
    :cvar subCommands: ``[name, shortcut, OptionsClass, doc]`` lists for nested commands.
    :cvar defaultSubCommand: the sub-command to run when none is given.
    :ivar subCommand: the chosen sub-command's name, or ``None``.
    :ivar subOptions: the chosen sub-command's parsed Options, or ``None``.
    :ivar parent: the Options this one is a sub-command of, or ``None``.
    """

    optFlags: ClassVar[Sequence[Sequence[Any]]] = ()
    optParameters: ClassVar[Sequence[Sequence[Any]]] = ()
    subCommands: ClassVar[Sequence[Sequence[Any]] | None] = None
    defaultSubCommand: str | None = None
    parent: Options | None = None
    completionData: Completions | None = None
    compData: Completions | None = None
    longdesc: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.opts = self
        self.subCommand: str | None = None
        self.subOptions: Options | None = None
        self.defaults: dict[str, Any] = {}
        self.docs: dict[str, str] = {}
        self.synonyms: dict[str, str] = {}
        self._dispatch: dict[str, Callable[[str, str | None], None]] = {}
        self._takesArg: dict[str, bool] = {}
        self._coerceDocs: dict[str, str] = {}
        self.longOpt: list[str] = []
        self.shortOpt = ""
        self._gatherParameters()
        self._gatherFlags()
        self._gatherHandlers()
        self.update(self.defaults)

    def __hash__(self) -> int:  # type: ignore[override]
        return id(self)

    # -- declaration gathering ----------------------------------------------------------------

    def _addOption(self, long: str, short: str | None, takesArg: bool, doc: str | None) -> None:
        self.synonyms[long] = long
        self._takesArg[long] = takesArg
        self.docs[long] = doc or ""
        if long not in [o.rstrip("=") for o in self.longOpt]:
            self.longOpt.append(long + ("=" if takesArg else ""))
        if short:
            if len(short) != 1:
                raise ValueError(f"short option {short!r} of --{long} must be one character")
            self.shortOpt += short + (":" if takesArg else "")
            self.synonyms[short] = long

    def _gatherParameters(self) -> None:
        parameters: list[Sequence[Any]] = []
        reflect.accumulateClassList(self.__class__, "optParameters", parameters)
        for parameter in parameters:
            long, short, default, doc, coerce = _padTo(5, parameter)
            if not long:
                raise ValueError("A parameter cannot be without a name.")
            self._addOption(long, short, True, doc)
            self.defaults[long] = default
            if coerce is not None:
                coercer = CoerceParameter(self, coerce)
                self._dispatch[long] = coercer.dispatch
                self._coerceDocs[long] = coercer.doc
            else:
                self._dispatch[long] = self._genericParameter

    def _gatherFlags(self) -> None:
        flags: list[Sequence[Any]] = []
        reflect.accumulateClassList(self.__class__, "optFlags", flags)
        for flag in flags:
            long, short, doc = _padTo(3, flag)
            if not long:
                raise ValueError("A flag cannot be without a name.")
            self._addOption(long, short, False, doc)
            self.defaults[long] = 0
            self._dispatch[long] = self._genericFlag

    def _gatherHandlers(self) -> None:
        byMethod: dict[Any, list[str]] = {}
        for name in reflect.prefixedMethodNames(self.__class__, "opt_"):
            method = getattr(self, "opt_" + name)
            takesArg = not flagFunction(method, name)
            byMethod.setdefault(getattr(method, "__func__", method), []).append(name)
            pretty = name.replace("_", "-")
            if len(name) == 1:
                self.synonyms[name] = name
                self._takesArg[name] = takesArg
                self.shortOpt += name + (":" if takesArg else "")
            else:
                self._addOption(pretty, None, takesArg, _firstParagraph(method.__doc__))
            self._dispatch[pretty] = self._methodDispatcher(method, takesArg)
        # Aliases of one method: every name leads to the longest one.
        for names in byMethod.values():
            longest = max(names, key=len).replace("_", "-")
            for name in names:
                pretty = name.replace("_", "-")
                if pretty != longest:
                    self.synonyms[pretty] = longest
                    self.docs[pretty] = ""

    @staticmethod
    def _methodDispatcher(
        method: Callable[..., Any], takesArg: bool
    ) -> Callable[[str, str | None], None]:
        def dispatch(name: str, value: str | None) -> None:
            if takesArg:
                method(value)
            else:
                method()

        return dispatch

    def _genericFlag(self, flagName: str, value: str | None = None) -> None:
        if value not in ("", None):
            raise UsageError(f"Flag '{flagName}' takes no argument. Not even \"{value}\".")
        self.opts[flagName] = 1

    def _genericParameter(self, parameterName: str, value: str | None) -> None:
        if value is None:
            raise UsageError(f"Parameter '{parameterName}' requires an argument.")
        self.opts[parameterName] = value

    # -- parsing ------------------------------------------------------------------------------

    def parseOptions(self, options: Sequence[str] | None = None) -> None:
        """Parse ``options`` (default ``sys.argv[1:]``) into this dict.

        Options are read up to the first positional argument; that argument selects a
        sub-command if any are declared (the rest is its command line), otherwise all
        positional arguments go to :meth:`parseArgs`. :meth:`postOptions` runs last.

        :raises UsageError: anything wrong with the command line.
        """
        if options is None:
            options = sys.argv[1:]
        try:
            opts, args = getopt.getopt(list(options), self.shortOpt, self.longOpt)
        except getopt.GetoptError as e:
            raise UsageError(str(e))
        for opt, arg in opts:
            name = opt[2:] if opt.startswith("--") else opt[1:]
            canonical = self.synonyms.get(name)
            if canonical is None:
                canonical = self.synonyms.get(name.replace("_", "-"))
            if canonical is None:
                raise UsageError(f"No such option '{name}'")
            self._dispatch[canonical](canonical, arg)

        if self.subCommands and (args or self.defaultSubCommand is not None):
            if not args:
                assert self.defaultSubCommand is not None
                args = [self.defaultSubCommand]
            sub, rest = args[0], args[1:]
            for cmd, short, parser, _doc in self.subCommands:
                if sub == cmd or (short and sub == short):
                    self.subCommand = cmd
                    self.subOptions = parser()
                    self.subOptions.parent = self
                    self.subOptions.parseOptions(rest)
                    break
            else:
                raise UsageError(f"Unknown command: {sub}")
        else:
            try:
                inspect.signature(self.parseArgs).bind(*args)
            except TypeError:
                raise UsageError("Wrong number of arguments.")
            self.parseArgs(*args)
        self.postOptions()

    def parseArgs(self, *args: str) -> None:
        """Receive the positional arguments; the default accepts none.

        Override it with the parameters the command takes; a count that does not fit the
        signature is reported as "Wrong number of arguments."
        """
        if args:
            raise UsageError("Wrong number of arguments.")

    def postOptions(self) -> None:
        """Check the parsed options as a whole; raise :class:`UsageError` to reject them."""

    def opt_help(self) -> None:
        """Display this help and exit."""
        print(self.__str__())
        sys.exit(0)

    def opt_version(self) -> None:
        """Display glisten version and exit."""
        from ._version import __version__

        print("glisten version:", __version__)
        sys.exit(0)

    # -- help ---------------------------------------------------------------------------------

    def getSynopsis(self) -> str:
        """The first line of help: ``Usage: prog [options]`` (sub-commands include the parent)."""
        if self.parent is None:
            default = (
                f"Usage: {os.path.basename(sys.argv[0])}{' [options]' if self.longOpt else ''}"
            )
        else:
            default = "[options]" if self.longOpt else ""
        synopsis: str = getattr(self, "synopsis", default).rstrip()
        if self.parent is not None:
            synopsis = " ".join(
                p for p in (self.parent.getSynopsis(), self.parent.subCommand or "", synopsis) if p
            )
        return synopsis

    def _optionLines(self) -> list[tuple[str, str]]:
        shortFor: dict[str, str] = {}
        for name, target in self.synonyms.items():
            if len(name) == 1 and name != target:
                shortFor[target] = name
        rows: list[tuple[str, str]] = []
        for opt in sorted(o.rstrip("=") for o in self.longOpt):
            canonical = self.synonyms.get(opt, opt)
            takesArg = self._takesArg.get(opt, False)
            short = shortFor.get(opt)
            left = (f"-{short}, " if short else "    ") + f"--{opt}" + ("=" if takesArg else "")
            doc = self.docs.get(opt) or ""
            if canonical != opt and not doc:
                doc = f"Alias for --{canonical}."
            if opt in self._coerceDocs and self._coerceDocs[opt]:
                doc = f"{doc} {self._coerceDocs[opt]}".strip()
            default = self.defaults.get(opt)
            if takesArg and default is not None:
                doc = f"{doc} [default: {default}]".strip()
            rows.append((left, doc))
        for name in sorted(n for n in self.synonyms if len(n) == 1 and self.synonyms[n] == n):
            rows.append((f"-{name}", ""))
        return rows

    def getUsage(self, width: int | None = None) -> str:
        """The option table, sub-commands and :attr:`longdesc`, wrapped to ``width``."""
        width = width or 79
        rows = self._optionLines()
        lines: list[str] = []
        if rows:
            lines.append("Options:")
            col = max(len(left) for left, _ in rows) + 4
            for left, doc in rows:
                wrapped = textwrap.wrap(doc, max(20, width - col)) or [""]
                lines.append(f"  {left.ljust(col - 2)}{wrapped[0]}".rstrip())
                lines.extend(" " * col + more for more in wrapped[1:])
        if self.subCommands:
            lines.append("Commands:")
            col = max(len(cmd) + (len(s) + 2 if s else 0) for cmd, s, _, _ in self.subCommands) + 4
            for cmd, short, _parser, doc in self.subCommands:
                left = f"{cmd}, {short}" if short else cmd
                lines.append(f"    {left.ljust(col)}{doc or ''}".rstrip())
        longdesc = self.longdesc or (
            inspect.cleandoc(self.__class__.__doc__ or "") if self.parent is None else ""
        )
        if longdesc:
            lines.append("")
            lines.extend(textwrap.wrap(longdesc, width) if "\n" not in longdesc else [longdesc])
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.getSynopsis() + "\n" + self.getUsage(width=None)
