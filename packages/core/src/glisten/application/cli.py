"""The ``glisten`` command: global options, plugin lookup, then the runner.

``glisten [global options] PLUGIN [plugin options]``; global options may also follow the
plugin's name (``glisten web --path . --log-level debug``) unless the plugin has an option of
that name. Plugins are objects providing
:class:`glisten.application.service.IServiceMaker`, published by any installed distribution in
the entry-point group ``glisten.plugins`` under the name of their subcommand, or (Twisted's
way, for ported ``twistd`` plugins) by a ``glisten/plugins/`` module (see :mod:`glisten.plugin`).
Errors in what the
user typed are one line on standard error and exit status 2; a plugin that fails while building
its service gives its message and exit status 1. No traceback reaches the user for either.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import EntryPoint, entry_points
from typing import Any, NoReturn

from ._dropins import DropinEntry, dropinServiceMakers, parseUsageOptions, usesUsageOptions

PLUGIN_GROUP = "glisten.plugins"

#: Where the plugins of glisten's own protocol packages live, for a helpful message when the
#: package is not installed.
KNOWN_PLUGINS: dict[str, str] = {
    "web": "glisten-web",
    "dns": "glisten-names",
    "ssh": "glisten-conch",
    "conch": "glisten-conch",
    "cftp": "glisten-conch",
    "telnet": "glisten-conch",
    "manhole": "glisten-conch",
    "mail": "glisten-mail",
    "irc": "glisten-words",
    "xmpp": "glisten-words",
    "words": "glisten-words",
    "pair": "glisten-pair",
}

REACTOR_NAMES = ("epoll", "poll", "select", "asyncio")
LOG_LEVELS = ("debug", "info", "warn", "error", "critical")
LOG_FORMATS = ("text", "json", "journal")


class UsageError(Exception):
    """What the user typed cannot be run; the message says why in one line."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and an exception, not usage and exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _pluginEntryPoints() -> dict[str, EntryPoint | DropinEntry]:
    found: dict[str, EntryPoint | DropinEntry] = {}
    for ep in entry_points(group=PLUGIN_GROUP):
        found.setdefault(ep.name, ep)
    # Twisted-style plugins in glisten/plugins/ modules; an entry point of the same name wins.
    for name, dropin in dropinServiceMakers().items():
        found.setdefault(name, dropin)
    return found


def _describe(ep: EntryPoint | DropinEntry) -> str:
    try:
        maker = ep.load()
    except Exception as e:  # a broken plugin must not hide the others from --help
        return f"(cannot be loaded: {e})"
    lines = str(getattr(maker, "description", "")).strip().splitlines()
    return lines[0] if lines else ""


def _helpText(parser: argparse.ArgumentParser) -> str:
    plugins = _pluginEntryPoints()
    lines = [parser.format_help().rstrip(), "", "plugins:"]
    if not plugins:
        lines.append("  (none installed)")
    width = max((len(name) for name in plugins), default=0)
    for name in sorted(plugins):
        lines.append(f"  {name.ljust(width)}  {_describe(plugins[name])}")
    lines.append("")
    lines.append("Run 'glisten PLUGIN --help' for a plugin's own options.")
    return "\n".join(lines) + "\n"


#: The global options that take a value; these may also come after the plugin's name.
_GLOBAL_VALUE_OPTIONS = (
    "--reactor",
    "--log-level",
    "--log-file",
    "--log-format",
    "--pidfile",
    "--workers",
    "--grace",
)
#: The global options that take no value; these may also come after the plugin's name.
_GLOBAL_FLAGS = ("--reuse-port",)

#: Seconds a stopping service has to finish what is in flight, unless ``--grace`` says.
DEFAULT_GRACE = 30.0


def _addGlobalOptions(parser: argparse.ArgumentParser, defaults: bool = True) -> None:
    """The options of ``glisten`` itself; ``defaults=False`` leaves unset ones out (None)."""

    def d(value: str | None) -> str | None:
        return value if defaults else None

    parser.add_argument(
        "--reactor", choices=REACTOR_NAMES, default=None, help="the event loop to run on"
    )
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=d("info"))
    parser.add_argument("--log-file", default=None, help="log to this file ('-' for stdout)")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=None)
    parser.add_argument("--pidfile", default=None, help="write the process id to this file")
    parser.add_argument(
        "--workers",
        default=None,
        metavar="N",
        help="run N worker processes sharing the listening sockets ('auto': one per CPU); "
        "SIGHUP reloads them one generation at a time",
    )
    parser.add_argument(
        "--reuse-port",
        dest="reuse_port",
        action="store_true",
        default=None,
        help="with --workers: one SO_REUSEPORT socket per worker (Linux) instead of one shared",
    )
    parser.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"time to finish in-flight work when stopping (default {DEFAULT_GRACE:g})",
    )


def _splitGlobalOptions(
    args: list[str], pluginParser: argparse.ArgumentParser
) -> tuple[list[str], list[str]]:
    """Take the global options the user put after the plugin's name out of its arguments.

    ``glisten web --path . --log-level debug`` means what ``glisten --log-level debug web
    --path .`` does. An option the plugin defines itself stays the plugin's; ``--`` ends the
    search.

    :return: the plugin's arguments and the global ones.
    """
    pluginArgs: list[str] = []
    globalArgs: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            pluginArgs.extend(args[i:])
            break
        name = arg.partition("=")[0]
        if name in _GLOBAL_FLAGS and name not in pluginParser._option_string_actions:
            globalArgs.append(arg)
        elif name in _GLOBAL_VALUE_OPTIONS and name not in pluginParser._option_string_actions:
            globalArgs.append(arg)
            if "=" not in arg and i + 1 < len(args):
                globalArgs.append(args[i + 1])
                i += 1
        else:
            pluginArgs.append(arg)
        i += 1
    return pluginArgs, globalArgs


def _globalParser() -> _Parser:
    parser = _Parser(
        prog="glisten",
        description="Run a glisten service.",
        add_help=False,
    )
    parser.add_argument("-h", "--help", action="store_true", help="show this help and exit")
    _addGlobalOptions(parser)
    parser.add_argument("plugin", nargs="?", help="the plugin to run")
    parser.add_argument("pluginArgs", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _loadPlugin(name: str) -> Any:
    plugins = _pluginEntryPoints()
    ep = plugins.get(name)
    if ep is None:
        package = KNOWN_PLUGINS.get(name)
        if package is not None:
            from ._installhint import installCommand

            raise UsageError(
                f'glisten: no plugin "{name}"; it is in {package}: {installCommand(package)}'
            )
        installed = ", ".join(sorted(plugins)) or "none"
        raise UsageError(f'glisten: no plugin "{name}"; installed plugins: {installed}')
    return ep.load()


def run(argv: Sequence[str]) -> int:
    """Run the ``glisten`` command with ``argv`` (without the program name).

    :return: the process exit status.
    """
    parser = _globalParser()
    options = parser.parse_args(list(argv))
    if options.help or options.plugin is None:
        sys.stdout.write(_helpText(parser))
        return 0 if options.help else 2
    name: str = options.plugin
    try:
        maker = _loadPlugin(name)
    except UsageError:
        raise
    except Exception as e:
        sys.stderr.write(f"glisten: plugin {name!r} cannot be loaded: {e}\n")
        return 1
    pluginOptions: Any
    pluginArgs: list[str] = list(options.pluginArgs)
    if usesUsageOptions(maker):
        # A ported twistd plugin parses its own command line (usage.Options): global options
        # go before its name.
        pluginOptions = parseUsageOptions(maker, name, options.pluginArgs, UsageError)
    else:
        pluginParser = _Parser(prog=f"glisten {name}", description=maker.description)
        maker.addArguments(pluginParser)
        pluginArgs, lateGlobals = _splitGlobalOptions(options.pluginArgs, pluginParser)
        if lateGlobals:
            lateParser = _Parser(prog="glisten", add_help=False)
            _addGlobalOptions(lateParser, defaults=False)
            for key, value in vars(lateParser.parse_args(lateGlobals)).items():
                if value is not None:
                    setattr(options, key, value)
        pluginOptions = pluginParser.parse_args(pluginArgs)
    grace = DEFAULT_GRACE if options.grace is None else options.grace
    if not grace >= 0:
        raise UsageError("glisten: --grace must not be negative")
    from ._workers import WorkersError, enterWorker

    try:
        worker = enterWorker(os.environ)
    except WorkersError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    if options.workers is not None and worker is None:
        from ._workers import parseWorkerCount
        from .service import IShareableServiceMaker

        try:
            count = parseWorkerCount(options.workers)
        except ValueError as e:
            raise UsageError(f"glisten: {e}") from None
        if count > 1 or IShareableServiceMaker.providedBy(maker):
            return _supervise(name, maker, pluginOptions, pluginArgs, options, grace, count)
        # One worker of a plugin that cannot be shared: this process, as without --workers
        # (a supervised one would overlap with its successor during a reload).
    if options.reuse_port:
        raise UsageError("glisten: --reuse-port needs --workers and a plugin that can share")
    if options.reactor is not None:
        # Before the plugin builds its service, as code it imports may reach for the reactor.
        from glisten.application.reactors import installReactor

        try:
            installReactor(options.reactor)
        except Exception as e:
            sys.stderr.write(f"glisten: cannot install reactor {options.reactor!r}: {e}\n")
            return 1
    try:
        service = maker.makeService(pluginOptions)
    except Exception as e:
        sys.stderr.write(f"glisten {name}: {e}\n")
        return 1

    from glisten.application.runner import runService

    extra: dict[str, Any] = {}
    logLevel = options.log_level
    if getattr(maker, "resultOnStdout", False):
        # A plugin that is a command writing its result to standard output (``glisten
        # fetch``) says so: its log goes to standard error, and shows only warnings unless
        # --log-level asks for more.
        if options.log_file is None:
            extra["logStream"] = sys.stderr
        if not any(a == "--log-level" or a.startswith("--log-level=") for a in argv):
            logLevel = "warn"
    workerId = None
    if worker is not None:
        workerId = worker.workerId
        if worker.lifeline is not None:
            from glisten.internet.main import getReactor

            from ._workers import watchSupervisor

            # The reactor the runner runs: installed by now (above, or the default).
            watchSupervisor(getReactor(), worker.lifeline)
    return runService(
        service,
        reactorName=options.reactor,
        logLevel=logLevel,
        logFile=options.log_file,
        logFormat=options.log_format,
        pidFile=None if workerId is not None else options.pidfile,
        grace=grace,
        workerId=workerId,
        **extra,
    )


def _supervise(
    name: str,
    maker: Any,
    pluginOptions: Any,
    pluginArgs: list[str],
    options: argparse.Namespace,
    grace: float,
    count: int,
) -> int:
    """Run ``glisten --workers N``: bind the plugin's endpoints, then supervise the workers."""
    from ._workers import Supervisor, WorkersError, bindShared, workerCommand
    from .service import IShareableServiceMaker

    if not IShareableServiceMaker.providedBy(maker):
        raise UsageError(
            f"glisten: plugin {name!r} cannot run in several processes (--workers {count}): "
            "it does not declare its listening endpoints as shareable"
        )
    try:
        descriptions = list(maker.listeningEndpoints(pluginOptions))
    except ValueError as e:
        raise UsageError(f"glisten {name}: cannot run with --workers: {e}") from None
    if options.reuse_port and not sys.platform.startswith("linux"):
        raise UsageError("glisten: --reuse-port spreads connections on Linux only")
    argv: list[str] = []
    for option, value in (
        ("--reactor", options.reactor),
        ("--log-level", options.log_level),
        ("--log-file", options.log_file),
        ("--log-format", options.log_format),
        ("--grace", repr(grace)),
    ):
        if value is not None:
            argv += [option, value]
    argv += [name, *pluginArgs]
    try:
        binder = bindShared(descriptions, reusePort=bool(options.reuse_port))
    except WorkersError as e:
        sys.stderr.write(f"{e}\n")
        return 1
    from glisten.application.runner import runService

    supervisor = Supervisor(None, count, workerCommand(argv), os.environ, binder, grace)
    try:
        return runService(
            supervisor,
            reactorName=options.reactor,
            logLevel=options.log_level,
            logFile=options.log_file,
            logFormat=options.log_format,
            pidFile=options.pidfile,
            ready=supervisor.whenReady,
            onHangup=supervisor.reload,
        )
    finally:
        binder.close()


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console-script entry point."""
    try:
        status = run(sys.argv[1:] if argv is None else argv)
    except UsageError as e:
        sys.stderr.write(f"{e}\n")
        status = 2
    except KeyboardInterrupt:
        status = 130
    sys.exit(status)


if __name__ == "__main__":
    main()
