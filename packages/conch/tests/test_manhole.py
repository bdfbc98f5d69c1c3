"""The manhole REPL, on a screen model."""

from __future__ import annotations

from typing import Any

from glisten.conch import manhole
from glisten.internet import defer
from glisten.internet.task import deferLater
from glisten.internet.testing import Clock

from ._terminal import Screen


def _screen(namespace: dict[str, Any] | None = None, colored: bool = False) -> Screen:
    return Screen(manhole.ColoredManhole if colored else manhole.Manhole, namespace or {})


def test_evaluatesExpressions() -> None:
    screen = _screen()
    screen.type(b"1+1\r")
    assert screen.lines()[:3] == [">>> 1+1", "2", ">>> "]
    screen.type(b"x = 'a'\rx * 3\r")
    assert "'aaa'" in screen.text()


def test_multiLineStatementsAndPrint() -> None:
    screen = _screen()
    screen.type(b"for i in range(2):\r")
    assert screen.lines()[1] == "... "
    screen.type(b"    print(i)\r\r")
    assert screen.lines()[:6] == [
        ">>> for i in range(2):",
        "...     print(i)",
        "... ",
        "0",
        "1",
        ">>> ",
    ]


def test_tracebacksAreShown() -> None:
    screen = _screen()
    screen.type(b"1/0\r")
    assert "ZeroDivisionError" in screen.text()
    assert screen.lines()[-1] == "" or ">>> " in screen.text().splitlines()[-1]


def test_historyRecall() -> None:
    screen = _screen()
    screen.type(b"6*7\r\x1b[A")
    assert screen.text().splitlines()[-1] == ">>> 6*7"
    screen.type(b"\r")
    assert screen.text().count("42") == 2


def test_namespaceIsCopiedPerSession() -> None:
    shared = {"config": {"a": 1}}
    one, two = _screen(shared), _screen(shared)
    one.type(b"x = 5\rconfig['b'] = 2\r")
    two.type(b"x\r")
    assert "NameError" in two.text()
    assert "x" not in shared and shared["config"] == {"a": 1, "b": 2}


def test_deferredResultsShowLater() -> None:
    d: defer.Deferred[int] = defer.Deferred()
    screen = _screen({"d": d})
    screen.type(b"d\r")
    assert "<Deferred #0>" in screen.text()
    screen.type(b"ab")
    d.callback(5)
    screen.pump()
    assert "Deferred #0 called back: 5" in screen.text()
    assert screen.text().splitlines()[-1] == ">>> ab"


def test_awaitAtThePrompt() -> None:
    clock = Clock()
    screen = _screen({"clock": clock, "deferLater": deferLater})
    screen.type(b"await deferLater(clock, 2, lambda: 40 + 2)\r")
    assert "42" not in screen.text()
    assert not screen.text().endswith(">>>")
    screen.type(b"7*6")  # typed while waiting: replayed afterwards
    clock.advance(2)
    screen.pump()
    assert screen.lines()[1] == "42"
    assert screen.text().splitlines()[-1] == ">>> 7*6"


def test_awaitCoroutine() -> None:
    screen = _screen()
    screen.type(b"async def f():\r    return 'done'\r\r")
    screen.type(b"await f()\r")
    assert "'done'" in screen.text()
    assert screen.text().splitlines()[-1] == ">>>"


def test_controlCCancelsAWait() -> None:
    d: defer.Deferred[int] = defer.Deferred()
    screen = _screen({"d": d})
    screen.type(b"await d\r")
    screen.type(b"\x03")
    assert "Cancelled" in screen.text()
    assert screen.text().splitlines()[-1] == ">>>"


def test_controlKeys() -> None:
    screen = _screen()
    screen.type(b"if 1:\r")
    screen.type(b"\x03")
    assert "KeyboardInterrupt" in screen.text()
    assert screen.program.interpreter.buffer == []
    screen.type(b"abc\x0c")
    assert screen.lines()[0] == ">>> abc"
    screen.type(b"\x04")  # not empty: a bell
    assert not screen.serverTransport.disconnecting
    screen.type(b"\x03\x04")
    assert screen.serverTransport.disconnecting


def test_systemExitIsRefused() -> None:
    screen = _screen()
    screen.type(b"raise SystemExit\r")
    assert "SystemExit is not allowed" in screen.text()


def test_commandsAreLogged(capsys: Any) -> None:
    from glisten.logger import globalLogPublisher

    seen: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(seen.append)
    try:
        screen = _screen()
        screen.type(b"secret_value = 1\r")
    finally:
        globalLogPublisher.removeObserver(seen.append)
    assert any(e.get("command") == "secret_value = 1" for e in seen)


def test_coloredManhole() -> None:
    screen = _screen(colored=True)
    screen.type(b"def f(x): return 'a'\r")
    screen.type(b"\r")
    screen.type(b"f(1)\r")
    assert "'a'" in screen.text()
    colours = {screen.buffer.getCharacter(x, 0)[1].foreground for x in range(4, 20)}
    assert len(colours) > 2  # keywords, names, strings differ


def test_lastColorizedLine() -> None:
    line = manhole.lastColorizedLine(b"x = 1\nif y: 'z'")
    assert line == b"\x1b[32mif\x1b[0m \x1b[31my\x1b[0m\x1b[37m:\x1b[0m \x1b[35m'z'\x1b[0m"
    assert b"unterminated" in manhole.lastColorizedLine(b"'unterminated")
