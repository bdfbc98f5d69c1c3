"""
A Python shell into a running process, under Twisted's names: :class:`Manhole` (a REPL on
:class:`~glisten.conch.recvline.HistoricRecvLine`) and :class:`ColoredManhole` (the same with
syntax colouring as you type).

Beyond Twisted: ``await`` works at the prompt (``await deferLater(reactor, 1, f)``,
``await someCoroutine()``): the prompt comes back when the result is in, Control-C cancels the
wait. Every line entered is logged (``glisten.conch.manhole`` namespace, with the peer), since
a manhole can do anything the process can.
"""

from __future__ import annotations

import ast
import code
import inspect
import io
import keyword
import sys
import tokenize
from collections.abc import Generator
from types import CodeType
from typing import Any

from glisten.conch import recvline
from glisten.internet import defer
from glisten.logger import Logger
from glisten.python.failure import Failure

__all__ = ["ColoredManhole", "FileWrapper", "Manhole", "ManholeInterpreter", "lastColorizedLine"]

CTRL_C = b"\x03"
CTRL_D = b"\x04"
CTRL_BACKSLASH = b"\x1c"
CTRL_L = b"\x0c"
CTRL_A = b"\x01"
CTRL_E = b"\x05"


class FileWrapper:
    """A file-like object writing to the manhole: ``sys.stdout`` while a line runs."""

    softspace = 0
    state = "normal"

    def __init__(self, o: Any) -> None:
        self.o = o

    def flush(self) -> None:
        pass

    def write(self, data: str) -> int:
        self.o.addOutput(data.replace("\r\n", "\n"))
        return len(data)

    def writelines(self, lines: list[str]) -> None:
        self.write("".join(lines))


class ManholeInterpreter(code.InteractiveInterpreter):
    """
    Runs source for a manhole: output goes to ``handler.addOutput``; a Deferred result is
    shown when it fires; code using top-level ``await`` runs as a coroutine whose completion
    is :attr:`pending` (a Deferred) until it ends.
    """

    numDeferreds = 0

    def __init__(
        self, handler: Any, locals: dict[str, Any] | None = None, filename: str = "<console>"
    ):
        super().__init__(locals)
        self.compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        self.handler = handler
        self.filename = filename
        self.pending: defer.Deferred[Any] | None = None
        self.resetBuffer()

    def resetBuffer(self) -> None:
        """Forget a half-entered statement."""
        self.buffer: list[str] = []

    def push(self, line: str) -> bool:
        """
        Add a line; run the statement when complete.

        :return: true when more lines are needed.
        """
        self.buffer.append(line)
        source = "\n".join(self.buffer)
        more = self.runsource(source, self.filename)
        if not more:
            self.resetBuffer()
        return bool(more)

    def runcode(self, codeObject: CodeType) -> None:
        orighook, sys.displayhook = sys.displayhook, self.displayhook
        origout, sys.stdout = sys.stdout, FileWrapper(self.handler)
        try:
            try:
                result = eval(codeObject, self.locals)
            except SystemExit:
                self.write("SystemExit is not allowed in a manhole\n")
                return
            except BaseException:
                self.showtraceback()
                return
            if inspect.iscoroutine(result):
                self._await(result)
        finally:
            sys.stdout = origout
            sys.displayhook = orighook

    def _await(self, coro: Any) -> None:
        n = self.numDeferreds
        self.numDeferreds += 1

        async def run() -> Any:
            return await _InShell(coro, self)

        d = defer.Deferred.fromCoroutine(run())
        if d.called:
            d.addErrback(self._showFailure)
            return
        self.pending = d

        def done(result: Any) -> None:
            self.pending = None
            if isinstance(result, Failure):
                self._showFailure(result)
            self.handler.pendingFinished(n)

        d.addBoth(done)

    def _showFailure(self, failure: Failure) -> None:
        if failure.check(defer.CancelledError):
            self.write("Cancelled\n", True)
            return
        self.write(failure.getTraceback(), True)

    def displayhook(self, obj: Any) -> None:
        self.locals["_"] = obj
        if isinstance(obj, defer.Deferred):
            if obj.called:
                self.write(f"<Deferred #{self.numDeferreds} (already fired)>\n")
            else:
                n = self.numDeferreds
                self.numDeferreds += 1
                obj.addCallbacks(
                    self._cbDisplayDeferred,
                    self._ebDisplayDeferred,
                    callbackArgs=(n, obj),
                    errbackArgs=(n, obj),
                )
                self.write(f"<Deferred #{n}>\n")
        elif obj is not None:
            self.write(repr(obj) + "\n")

    def _cbDisplayDeferred(self, result: Any, k: int, obj: Any) -> Any:
        self.write(f"Deferred #{k} called back: {result!r}\n", True)
        return result

    def _ebDisplayDeferred(self, failure: Failure, k: int, obj: Any) -> None:
        self.write(f"Deferred #{k} failed: {failure.getErrorMessage()!r}\n", True)

    def write(self, data: str, isAsync: bool | None = None, **kwargs: Any) -> None:
        self.handler.addOutput(data, isAsync)


class _InShell:
    """
    Awaits a coroutine with the shell's ``sys.displayhook`` and ``sys.stdout`` installed
    around each of its steps, so that what it prints or shows after a pause still reaches
    the manhole, while other code in between sees the process's own.
    """

    def __init__(self, coro: Any, interpreter: ManholeInterpreter) -> None:
        self.coro = coro
        self.interpreter = interpreter

    def __await__(self) -> Generator[Any, Any, Any]:
        steps = self.coro.__await__()
        value: Any = None
        error: BaseException | None = None
        while True:
            oldHook, sys.displayhook = sys.displayhook, self.interpreter.displayhook
            oldOut, sys.stdout = sys.stdout, FileWrapper(self.interpreter.handler)
            try:
                if error is not None:
                    step = steps.throw(error)
                else:
                    step = steps.send(value)
            except StopIteration as e:
                return e.value
            finally:
                sys.displayhook = oldHook
                sys.stdout = oldOut
            try:
                value = yield step
                error = None
            except BaseException as e:
                value, error = None, e


def _needsNewline(terminal: Any) -> bool:
    w = getattr(terminal, "lastWrite", b"")
    return not w.endswith(b"\n") and not w.endswith(b"\x1bE")


class Manhole(recvline.HistoricRecvLine):
    """
    An interactive Python interpreter on a terminal.

    :param namespace: the globals the shell sees (copied, so sessions do not clobber each
        other's names; the objects are shared).
    :ivar namespace: this session's globals.
    """

    _log = Logger()
    namespace: dict[str, Any] | None = None

    def __init__(self, namespace: dict[str, Any] | None = None) -> None:
        if namespace is not None:
            self.namespace = namespace.copy()

    def connectionMade(self) -> None:
        recvline.HistoricRecvLine.connectionMade(self)
        self.interpreter = ManholeInterpreter(self, self.namespace)
        self._queued: list[tuple[bytes, bytes | None]] = []
        self.keyHandlers[CTRL_C] = self.handle_INT
        self.keyHandlers[CTRL_D] = self.handle_EOF
        self.keyHandlers[CTRL_L] = self.handle_FF
        self.keyHandlers[CTRL_BACKSLASH] = self.handle_QUIT
        self._log.info("manhole session opened for {peer}", peer=self._peer())

    def _peer(self) -> str:
        try:
            return str(self.terminal.getPeer())
        except Exception:
            return "unknown peer"

    def connectionLost(self, reason: Any) -> None:
        if self.interpreter.pending is not None:
            self.interpreter.pending.cancel()
        self._log.info("manhole session closed for {peer}", peer=self._peer())

    def keystrokeReceived(self, keyID: bytes, modifier: bytes | None) -> None:
        if self.interpreter.pending is not None:
            if keyID == CTRL_C:
                self.interpreter.pending.cancel()
            elif keyID == CTRL_BACKSLASH:
                self.handle_QUIT()
            else:
                self._queued.append((keyID, modifier))
            return
        super().keystrokeReceived(keyID, modifier)

    def pendingFinished(self, n: int) -> None:
        """An awaited statement ended: show the prompt and replay what was typed meanwhile."""
        if self.terminal is None or self.terminal.transport is None:
            return
        if _needsNewline(self.terminal):
            self.terminal.nextLine()
        self.terminal.write(self.ps[self.pn])
        queued, self._queued = self._queued, []
        for keyID, modifier in queued:
            self.keystrokeReceived(keyID, modifier)

    def terminalSize(self, width: int, height: int) -> None:
        self._log.info(
            "manhole terminal of {peer} is {width}x{height}",
            peer=self._peer(),
            width=width,
            height=height,
        )
        super().terminalSize(width, height)

    def handle_INT(self) -> None:
        """Control-C: drop the line (and a half-entered statement)."""
        self.terminal.nextLine()
        self.terminal.write(b"KeyboardInterrupt")
        self.terminal.nextLine()
        self.pn = 0
        self.terminal.write(self.ps[self.pn])
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.interpreter.resetBuffer()

    def handle_EOF(self) -> None:
        """Control-D: end the session on an empty line, beep otherwise."""
        if self.lineBuffer:
            self.terminal.write(b"\a")
        else:
            self.handle_QUIT()

    def handle_FF(self) -> None:
        """Control-L: clear the screen, keep the line."""
        self.terminal.eraseDisplay()
        self.terminal.cursorHome()
        self.drawInputLine()
        back = len(self.lineBuffer) - self.lineBufferIndex
        if back:
            self.terminal.cursorBackward(back)

    def handle_QUIT(self) -> None:
        self.terminal.loseConnection()

    def lineReceived(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace")
        self._log.info("manhole {peer}: {command}", peer=self._peer(), command=text)
        more = self.interpreter.push(text)
        self.pn = int(more)
        if self.interpreter.pending is not None:
            return
        if _needsNewline(self.terminal):
            self.terminal.nextLine()
        self.terminal.write(self.ps[self.pn])

    def addOutput(self, data: str | bytes, isAsync: bool | None = None) -> None:
        """Show output; asynchronous output goes above the line being edited."""
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        waiting = self.interpreter.pending is not None
        if isAsync and not waiting:
            self.terminal.eraseLine()
            self.terminal.write(b"\r")
        self.terminal.write(data)
        if isAsync and not waiting:
            if _needsNewline(self.terminal):
                self.terminal.nextLine()
            self.terminal.write(self.ps[self.pn])
            if self.lineBuffer:
                old = b"".join(self.lineBuffer)
                self.lineBuffer = []
                self.lineBufferIndex = 0
                self._deliverBuffer(old)


_COLORS = {
    "identifier": b"\x1b[31m",
    "keyword": b"\x1b[32m",
    "parameter": b"\x1b[33m",
    "variable": b"\x1b[1;33m",
    "string": b"\x1b[35m",
    "number": b"\x1b[36m",
    "op": b"\x1b[37m",
}
_NORMAL = b"\x1b[0m"


def _kind(tok: tokenize.TokenInfo) -> str | None:
    if tok.type == tokenize.NAME:
        return "keyword" if keyword.iskeyword(tok.string) else "identifier"
    if tok.type == tokenize.STRING:
        return "string"
    if tok.type == tokenize.NUMBER:
        return "number"
    if tok.type == tokenize.OP:
        return "op"
    return None


def lastColorizedLine(source: bytes) -> bytes:
    """The last line of ``source`` with VT102 colours per token (keywords, names, strings...)."""
    text = source.decode("utf-8", "replace").split("\n")[-1]
    out: list[bytes] = []
    col = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (
                tokenize.NEWLINE,
                tokenize.NL,
                tokenize.ENDMARKER,
                tokenize.INDENT,
                tokenize.DEDENT,
            ):
                continue
            (_, start), (_, end) = tok.start, tok.end
            if start < col:
                continue
            out.append(text[col:start].encode("utf-8"))
            kind = _kind(tok)
            piece = text[start:end].encode("utf-8")
            out.append(_COLORS[kind] + piece + _NORMAL if kind else piece)
            col = end
    except (tokenize.TokenError, SyntaxError):
        pass
    out.append(text[col:].encode("utf-8"))
    return b"".join(out)


class ColoredManhole(Manhole):
    """A :class:`Manhole` that colours the line being typed."""

    def drawInputLine(self) -> None:
        self.terminal.write(self.ps[self.pn] + lastColorizedLine(b"".join(self.lineBuffer)))

    def characterReceived(self, ch: bytes, moreCharactersComing: bool) -> None:
        self._putCharacter(ch)
        if moreCharactersComing:
            return
        if ch == b" " and self.lineBufferIndex == len(self.lineBuffer):
            self.terminal.write(ch)
            return
        coloured = lastColorizedLine(b"".join(self.lineBuffer))
        self.terminal.eraseLine()
        self.terminal.write(b"\r" + self.ps[self.pn] + coloured)
        back = len(self.lineBuffer) - self.lineBufferIndex
        if back:
            self.terminal.cursorBackward(back)
