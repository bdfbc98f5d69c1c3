"""IRCClient against a StringTransport and a Clock."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.words.protocols import irc


class RecordingClient(irc.IRCClient):
    nickname = "me"
    realname = "Real Me"
    versionName = "glisten-test"

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def __getattribute__(self, name: str) -> Any:
        callbacks = {
            "signedOn", "joined", "left", "privmsg", "noticed", "action", "topicUpdated",
            "userJoined", "userLeft", "userQuit", "userRenamed", "userKicked", "modeChanged",
            "kickedFrom", "receivedMOTD", "irc_unknown", "saslSucceeded", "saslFailed",
            "capabilitiesAcknowledged", "batchStarted", "batchEnded", "pong", "myInfo",
        }  # fmt: skip
        if name in callbacks:
            calls = object.__getattribute__(self, "calls")
            return lambda *args: calls.append((name, *args))
        return object.__getattribute__(self, name)


def connect(client: irc.IRCClient | None = None) -> tuple[Any, StringTransport, Clock]:
    c = client or RecordingClient()
    clock = Clock()
    c.reactor = clock
    t = StringTransport()
    c.makeConnection(t)
    return c, t, clock


def lines(t: StringTransport) -> list[str]:
    out = t.value().decode("utf-8").split("\r\n")
    t.clear()
    assert out[-1] == ""
    return out[:-1]


def feed(c: irc.IRCClient, *ls: str, bytewise: bool = False) -> None:
    data = "".join(line + "\r\n" for line in ls).encode("utf-8")
    if bytewise:
        for i in range(len(data)):
            c.dataReceived(data[i : i + 1])
    else:
        c.dataReceived(data)


def register(c: Any, t: StringTransport) -> None:
    feed(c, "CAP * LS :multi-prefix", ":srv 001 me :Welcome")
    t.clear()


def test_registrationWithoutCapabilities() -> None:
    c, t, _ = connect()
    assert lines(t) == ["CAP LS 302", "NICK me", "USER me foo bar :Real Me"]
    feed(c, ":srv 421 me CAP :Unknown command", ":srv 001 me :Welcome to IRC")
    assert ("signedOn",) in c.calls
    assert c.hostname == "srv"


def test_password() -> None:
    c = RecordingClient()
    c.password = "sekrit"
    c.wantedCapabilities = ()
    c, t, _ = connect(c)
    assert lines(t) == ["PASS sekrit", "NICK me", "USER me foo bar :Real Me"]


@pytest.mark.parametrize("bytewise", [False, True])
def test_capabilitiesAndSaslPlain(bytewise: bool) -> None:
    c = RecordingClient()
    c.saslMechanism = "PLAIN"
    c.saslPassword = "pw"
    c, t, _ = connect(c)
    t.clear()
    feed(c, "CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL", bytewise=bytewise)
    assert lines(t) == []
    feed(c, "CAP * LS :server-time batch message-tags", bytewise=bytewise)
    assert lines(t) == ["CAP REQ :batch message-tags sasl server-time"]
    feed(c, "CAP me ACK :batch message-tags sasl server-time", bytewise=bytewise)
    assert lines(t) == ["AUTHENTICATE PLAIN"]
    feed(c, "AUTHENTICATE +", bytewise=bytewise)
    (auth,) = lines(t)
    assert base64.b64decode(auth.split()[1]) == b"\x00me\x00pw"
    feed(
        c,
        ":srv 900 me me!u@h me :You are now logged in",
        ":srv 903 me :SASL authentication successful",
        bytewise=bytewise,
    )
    assert lines(t) == ["CAP END"]
    assert ("saslSucceeded", "me") in c.calls
    assert c.capabilityEnabled("server-time")


def test_saslFailureEndsNegotiation() -> None:
    c = RecordingClient()
    c.saslMechanism = "EXTERNAL"
    c, t, _ = connect(c)
    feed(c, "CAP * LS :sasl")
    feed(c, "CAP * ACK :sasl")
    t.clear()
    feed(c, "AUTHENTICATE +")
    assert lines(t) == ["AUTHENTICATE +"]
    feed(c, ":srv 904 me :SASL authentication failed")
    assert lines(t) == ["CAP END"]
    assert ("saslFailed", "904") in c.calls


def test_saslMechanismNotOffered() -> None:
    c = RecordingClient()
    c.saslMechanism = "PLAIN"
    c, t, _ = connect(c)
    t.clear()
    feed(c, "CAP * LS :sasl=EXTERNAL")
    assert lines(t) == ["CAP END"]
    assert ("saslFailed", "") in c.calls


def test_capNewDelNak() -> None:
    c, t, _ = connect()
    register(c, t)
    feed(c, "CAP me NEW :server-time away-notify")
    assert lines(t) == ["CAP REQ server-time"]
    feed(c, "CAP me NAK :server-time")
    assert not c.capabilityEnabled("server-time")
    feed(c, "CAP me NEW :batch")
    feed(c, "CAP me ACK :batch")
    assert c.capabilityEnabled("batch")
    feed(c, "CAP me DEL :batch")
    assert not c.capabilityEnabled("batch")


def test_nickInUseDuringRegistration() -> None:
    c, t, _ = connect()
    t.clear()
    feed(c, ":srv 433 * me :Nickname is already in use")
    assert lines(t) == ["NICK me_"]
    feed(c, ":srv 001 me_ :Welcome")
    assert c.nickname == "me_"
    feed(c, ":srv 433 me_ other :Nickname is already in use")
    assert lines(t) == []


def test_callbacks() -> None:
    c, t, _ = connect()
    register(c, t)
    c.calls.clear()
    feed(
        c,
        ":me!u@h JOIN #c",
        ":bob!u@h JOIN :#c",
        ":bob!u@h PRIVMSG #c :hello there",
        ":bob!u@h PRIVMSG me :\x01ACTION waves\x01",
        ":bob!u@h NOTICE #c :note",
        ":bob!u@h TOPIC #c :new topic",
        ":srv 332 me #c :old topic",
        ":bob!u@h NICK robert",
        ":robert!u@h KICK #c carol :bye",
        ":robert!u@h KICK #c me :out",
        ":robert!u@h MODE #c +ov-l me robert",
        ":me!u@h MODE me +i",
        ":robert!u@h PART #c :later",
        ":robert!u@h QUIT :gone",
        ":me!u@h PART #c",
        ":me!u@h NICK newme",
        ":srv 375 newme :- srv Message of the day - ",
        ":srv 372 newme :- line one",
        ":srv 376 newme :End of MOTD",
        ":srv 999 newme :odd",
    )
    assert c.calls == [
        ("joined", "#c"),
        ("userJoined", "bob", "#c"),
        ("privmsg", "bob!u@h", "#c", "hello there"),
        ("action", "bob!u@h", "me", "waves"),
        ("noticed", "bob!u@h", "#c", "note"),
        ("topicUpdated", "bob", "#c", "new topic"),
        ("topicUpdated", "srv", "#c", "old topic"),
        ("userRenamed", "bob", "robert"),
        ("userKicked", "carol", "#c", "robert", "bye"),
        ("kickedFrom", "#c", "robert", "out"),
        ("modeChanged", "robert!u@h", "#c", True, "ov", ("me", "robert")),
        ("modeChanged", "robert!u@h", "#c", False, "l", (None,)),
        ("modeChanged", "me!u@h", "me", True, "i", (None,)),
        ("userLeft", "robert", "#c"),
        ("userQuit", "robert", "gone"),
        ("left", "#c"),
        ("receivedMOTD", ["srv Message of the day - ", "line one"]),
        ("irc_unknown", "srv", "999", ["newme", "odd"]),
    ]
    assert c.nickname == "newme"


def test_pingPong() -> None:
    c, t, _ = connect()
    register(c, t)
    feed(c, "PING :irc.example")
    assert lines(t) == ["PONG irc.example"]


def test_ctcpQueries() -> None:
    c, t, clock = connect()
    register(c, t)
    feed(c, ":bob!u@h PRIVMSG me :\x01VERSION\x01")
    assert lines(t) == ["NOTICE bob :\x01VERSION glisten-test::\x01"]
    feed(c, ":bob!u@h PRIVMSG me :\x01PING 12345\x01")
    assert lines(t) == ["NOTICE bob :\x01PING 12345\x01"]
    feed(c, ":bob!u@h PRIVMSG me :\x01CLIENTINFO\x01")
    (reply,) = lines(t)
    assert "ACTION" in reply and "PING" in reply and "TIME" in reply
    feed(c, ":bob!u@h PRIVMSG me :\x01TIME\x01")
    assert lines(t)[0].startswith("NOTICE bob :\x01TIME :")
    feed(c, ":bob!u@h PRIVMSG me :\x01BOGUS\x01")
    assert lines(t) == ["NOTICE bob :\x01ERRMSG BOGUS :Unknown query\x01"]


def test_ctcpFloodIsNotAmplified() -> None:
    c, t, clock = connect()
    register(c, t)
    feed(c, *[":bob!u@h PRIVMSG me :" + "\x01PING x\x01" * 10] * 20)
    assert len(lines(t)) == c.ctcpReplyBudget
    clock.advance(c.ctcpReplyWindow + 1)
    feed(c, ":bob!u@h PRIVMSG me :\x01PING y\x01")
    assert lines(t) == ["NOTICE bob :\x01PING y\x01"]


def test_pingRoundTrip() -> None:
    c, t, _ = connect()
    register(c, t)
    c.ping("bob", "k1")
    assert lines(t) == ["PRIVMSG bob :\x01PING k1\x01"]
    feed(c, ":bob!u@h NOTICE me :\x01PING k1\x01")
    assert c.calls[-1][:2] == ("pong", "bob!u@h")


def test_methods() -> None:
    c, t, _ = connect()
    register(c, t)
    c.join("c")
    c.join("#d", "key")
    c.leave("#c", "bye now")
    c.kick("#c", "bob", "behave")
    c.topic("#c")
    c.topic("#c", "a topic")
    c.mode("#c", True, "o", user="bob")
    c.mode("#c", True, "l", limit=5)
    c.whois("bob")
    c.setNick("other")
    c.describe("#c", "waves")
    c.notice("bob", "hey")
    c.invite("bob", "#c")
    c.away("lunch")
    c.back()
    c.quit("done")
    assert lines(t) == [
        "JOIN #c",
        "JOIN #d key",
        "PART #c :bye now",
        "KICK #c bob behave",
        "TOPIC #c",
        "TOPIC #c :a topic",
        "MODE #c +o bob",
        "MODE #c +l 5",
        "WHOIS bob",
        "NICK other",
        "PRIVMSG #c :\x01ACTION waves\x01",
        "NOTICE bob :hey",
        "INVITE bob #c",
        "AWAY lunch",
        "AWAY",
        "QUIT done",
    ]


def test_msgRefusesInjection() -> None:
    c, t, _ = connect()
    register(c, t)
    c.msg("bob", "line one\nline two")
    assert lines(t) == ["PRIVMSG bob :line one", "PRIVMSG bob :line two"]
    with pytest.raises(ValueError):
        c.sendLine("PRIVMSG bob :x\r\nQUIT")
    with pytest.raises(ValueError):
        c.msg("bob evil", "x")


def test_msgSplitsLongMessagesAtByteBoundaries() -> None:
    c, t, _ = connect()
    register(c, t)
    feed(c, ":me!user@some.host.example JOIN #c")
    t.clear()
    text = "é€😀x" * 300
    c.msg("#c", text)
    sent = lines(t)
    assert len(sent) > 1
    prefix = len(b":me!user@some.host.example ")
    rebuilt = ""
    for line in sent:
        assert len(line.encode("utf-8")) + 2 + prefix <= 512
        assert line.startswith("PRIVMSG #c :")
        rebuilt += line[len("PRIVMSG #c :") :]
    assert rebuilt == text
    c.msg("#c", "word " * 10, length=30)
    assert lines(t)[0] == "PRIVMSG #c :word word word"
    with pytest.raises(ValueError):
        c.msg("#c", "x", length=10)


def test_lineRate() -> None:
    c, t, clock = connect()
    register(c, t)
    c.lineRate = 1.0
    for i in range(3):
        c.msg("#c", str(i))
    assert lines(t) == ["PRIVMSG #c :0"]
    clock.advance(1)
    assert lines(t) == ["PRIVMSG #c :1"]
    clock.advance(1)
    assert lines(t) == ["PRIVMSG #c :2"]
    clock.advance(1)
    assert lines(t) == []
    c.msg("#c", "3")
    assert lines(t) == ["PRIVMSG #c :3"]
    c.connectionLost()
    assert not clock.getDelayedCalls()


def test_heartbeat() -> None:
    c, t, clock = connect()
    register(c, t)
    clock.advance(c.heartbeatInterval)
    assert lines(t) == ["PING srv"]
    c.connectionLost()
    assert not clock.getDelayedCalls()


def test_isupportAndTags() -> None:
    plain = irc.IRCClient()
    plain.nickname = "me"
    c, t, _ = connect(plain)
    register(c, t)
    feed(c, ":srv 005 me NICKLEN=20 PREFIX=(qov)~@+ :are supported by this server")
    assert c.supported.getFeature("NICKLEN") == 20
    seen: list[Any] = []
    c.privmsg = lambda *a: seen.append((a, c.serverTime(), dict(c.tags)))  # type: ignore[method-assign]
    feed(c, "@time=2024-05-06T07:08:09.123Z;account=bob :bob!u@h PRIVMSG #c :hi")
    (args, when, tags) = seen[0]
    assert args == ("bob!u@h", "#c", "hi")
    assert when is not None and when.year == 2024 and when.microsecond == 123000
    assert tags["account"] == "bob"
    assert c.tags == {}


def test_batch() -> None:
    c, t, _ = connect()
    register(c, t)
    c.calls.clear()
    feed(
        c,
        ":srv BATCH +r1 chathistory #c",
        "@batch=r1 :bob!u@h PRIVMSG #c :old",
        ":srv BATCH -r1",
    )
    assert c.calls == [
        ("batchStarted", "r1", "chathistory", ["#c"]),
        ("privmsg", "bob!u@h", "#c", "old"),
        ("batchEnded", "r1", "chathistory", ["#c"]),
    ]


def test_sendLabeled() -> None:
    c, t, _ = connect()
    register(c, t)
    label = c.sendLabeled("WHOIS", ["bob"])
    assert lines(t) == [f"@label={label} WHOIS bob"]


def test_badLinesAreSkipped() -> None:
    c, t, _ = connect()
    register(c, t)
    c.calls.clear()
    c.dataReceived(b":bob PRIVMSG #c :a\x00b\r\n" + b"x" * 5000 + b"\r\n:bob PRIVMSG #c :ok\r\n")
    assert c.calls == [("privmsg", "bob", "#c", "ok")]


def test_tooFewParametersDoNotRaise() -> None:
    c, t, _ = connect()
    register(c, t)
    feed(c, ":bob KICK #c", ":bob MODE #c", ":srv 332 me")
    assert c.transport is not None


def test_dispatchTableKeepsTwistedsSemantics() -> None:
    """Handlers are remembered per connection, but a subclass's own ``handleCommand`` still
    sees every command (numerics by name), unknown commands reach ``irc_unknown`` each time,
    and a server inventing commands cannot grow the table without bound."""

    class Seeing(irc.IRCClient):
        nickname = "me"
        wantedCapabilities = ()

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str, list[str]]] = []
            self.heard: list[str] = []

        def handleCommand(self, command: str, prefix: str, params: list[str]) -> None:
            self.seen.append((command, prefix, params))
            super().handleCommand(command, prefix, params)

        def privmsg(self, user: str, channel: str, message: str) -> None:
            self.heard.append(message)

    c, t, _ = connect(Seeing())
    feed(c, ":srv 001 me :Welcome", ":bob PRIVMSG #c :one", ":bob PRIVMSG #c :two", "PING :x")
    assert [s[0] for s in c.seen] == ["RPL_WELCOME", "PRIVMSG", "PRIVMSG", "PING"]
    assert c.seen[1] == ("PRIVMSG", "bob", ["#c", "one"])
    assert c.heard == ["one", "two"]
    assert lines(t)[-1] == "PONG x"

    plain, pt, clock = connect()
    register(plain, pt)
    plain.calls.clear()
    names = [f"X{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(300)]
    feed(plain, *(f":srv {name} a" for name in names), ":srv XAB again", ":srv 999 me x")
    for _ in range(6):  # 64 lines a turn
        clock.advance(0)
    assert len(plain.calls) == 302
    assert plain.calls[0] == ("irc_unknown", "srv", "XAA", ["a"])
    assert plain.calls[-2] == ("irc_unknown", "srv", "XAB", ["again"])
    assert plain.calls[-1] == ("irc_unknown", "srv", "999", ["me", "x"])
    assert len(plain._handlers) <= 256


def test_linesDuringNegotiationAreNotShortCut() -> None:
    """While capabilities are negotiated every line goes past the negotiation, even a
    command already handled once; afterwards tags still reach ``tags``."""

    class Timed(irc.IRCClient):
        nickname = "me"

        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, Any]] = []

        def noticed(self, user: str, channel: str, message: str) -> None:
            self.seen.append((message, self.serverTime()))

    c, t, _ = connect(Timed())
    lines(t)
    feed(c, ":srv NOTICE * :looking up your host", "CAP * LS :server-time")
    feed(c, ":srv NOTICE * :still looking", "CAP * ACK :server-time", ":srv 001 me :Welcome")
    assert "CAP END" in lines(t)
    assert c.capabilityEnabled("server-time")
    feed(c, "@time=2024-01-02T03:04:05.000Z :srv NOTICE me :tagged", ":srv NOTICE me :plain")
    assert [m for m, _ in c.seen] == ["looking up your host", "still looking", "tagged", "plain"]
    assert c.seen[2][1] is not None and c.seen[2][1].year == 2024
    assert c.seen[3][1] is None


def test_handlersChangedAfterConnectionAreUsed() -> None:
    """As in Twisted, ``irc_*`` and ``handleCommand`` are looked up for every line: a method
    set on the instance or the class after a command was first handled is the one called."""

    class Plain(irc.IRCClient):
        nickname = "me"
        wantedCapabilities = ()

    c, t, _ = connect(Plain())
    feed(c, ":srv 001 me :Welcome", ":bob PRIVMSG me :one", ":srv FOO a", ":srv 375 me :m")
    got: list[tuple[str, Any, list[str]]] = []
    c.irc_PRIVMSG = lambda prefix, params: got.append(("instance", prefix, params))
    Plain.irc_FOO = lambda self, prefix, params: got.append(("class", prefix, params))
    feed(c, ":bob PRIVMSG me :two", ":srv FOO b")
    assert got == [("instance", "bob", ["me", "two"]), ("class", "srv", ["b"])]

    got.clear()
    c.handleCommand = lambda command, prefix, params: got.append((command, prefix, params))
    feed(c, ":srv 375 me :m2", ":bob PRIVMSG me :three")
    assert got == [("RPL_MOTDSTART", "srv", ["me", "m2"]), ("PRIVMSG", "bob", ["me", "three"])]


def test_noLinesHandledAfterLoseConnection() -> None:
    """As Twisted's LineReceiver, a handler that closes the connection ends the reading:
    lines that came in the same read are not handled."""

    class Dying(irc.IRCClient):
        nickname = "me"
        wantedCapabilities = ()

        def __init__(self) -> None:
            super().__init__()
            self.heard: list[str] = []

        def privmsg(self, user: str, channel: str, message: str) -> None:
            self.heard.append(message)
            if message == "die":
                assert self.transport is not None
                self.transport.loseConnection()

    for first in (":bob PRIVMSG me :warm", "@a=b :bob NOTICE me :tagged"):
        c, t, clock = connect(Dying())
        feed(c, ":srv 001 me :Welcome", first, ":bob PRIVMSG me :die", ":bob PRIVMSG me :after")
        clock.advance(0)
        feed(c, ":bob PRIVMSG me :later")
        clock.advance(0)
        assert c.heard[-1] == "die" and "after" not in c.heard and "later" not in c.heard


def test_maxBytesPerTurnBelowTheSliceIsKept() -> None:
    """A byte budget smaller than the parser's slice still bounds what one turn parses."""

    class Small(RecordingClient):
        wantedCapabilities = ()
        maxBytesPerTurn = 1000
        maxMessagesPerTurn = 1000

    c, t, clock = connect(Small())
    line = ":srv NOTICE me :" + "x" * 82  # 100 bytes with CR LF
    feed(c, *[line] * 40)
    assert len([call for call in c.calls if call[0] == "noticed"]) <= 10
    for _ in range(4):
        clock.advance(0)
    assert len([call for call in c.calls if call[0] == "noticed"]) == 40


def test_messageReceivedOverrideSeesEveryMessage() -> None:
    """A subclass's ``messageReceived`` is called with every parsed line, and dispatches it
    by calling the base class."""

    class Watching(RecordingClient):
        wantedCapabilities = ()

        def __init__(self) -> None:
            super().__init__()
            self.watched: list[str] = []

        def messageReceived(self, message: Any) -> None:
            self.watched.append(message.command)
            if message.command != "NOTICE":
                super().messageReceived(message)

    c, t, _ = connect(Watching())
    feed(c, ":srv 001 me :Welcome", ":bob PRIVMSG me :one", ":bob PRIVMSG me :two")
    feed(c, "@a=b :bob PRIVMSG me :three", ":srv NOTICE me :hidden")
    assert c.watched == ["001", "PRIVMSG", "PRIVMSG", "PRIVMSG", "NOTICE"]
    assert [call[3] for call in c.calls if call[0] == "privmsg"] == ["one", "two", "three"]
    assert not [call for call in c.calls if call[0] == "noticed"]


def test_handlerErrorsAreLoggedAndReadingGoesOn() -> None:
    """As Twisted's handleCommand, an exception from an ``irc_*`` method or a callback is
    logged with its traceback and the connection carries on with the next line."""
    from glisten.logger import capturedLogs

    class Buggy(irc.IRCClient):
        nickname = "me"
        wantedCapabilities = ()

        def __init__(self) -> None:
            super().__init__()
            self.heard: list[str] = []

        def privmsg(self, user: str, channel: str, message: str) -> None:
            if message == "boom":
                raise ValueError("a bug in the bot")
            self.heard.append(message)

    c, t, clock = connect(Buggy())
    with capturedLogs() as events:
        feed(c, ":srv 001 me :Welcome", ":bob PRIVMSG me :boom", ":bob PRIVMSG me :after")
        feed(c, ":bob PRIVMSG me :boom", ":bob PRIVMSG me :again")
    assert c.heard == ["after", "again"]
    failures = [e["log_failure"] for e in events if "log_failure" in e]
    assert len(failures) == 2 and all(f.check(ValueError) for f in failures)


def test_messageReceivedTakesAMessageSubclass() -> None:
    """User code may hand ``messageReceived`` its own subclass of ``Message``: it is
    dispatched like a parsed line (the fast path only ever sees the codec's own)."""

    class Annotated(irc.Message):
        pass

    c, t, clock = connect()
    register(c, t)
    feed(c, ":bob!b@h PRIVMSG me :parsed")
    c.messageReceived(Annotated("PRIVMSG", ["me", "made"], prefix="bob!b@h"))
    c.messageReceived(Annotated("NOTICE", ["me", "new"], prefix="bob!b@h"))
    c.messageReceived(Annotated("PRIVMSG", ["#c", "tagged"], "bob!b@h", {"time": "x"}))
    said = [call[3] for call in c.calls if call[0] in ("privmsg", "noticed")]
    assert said == ["parsed", "made", "new", "tagged"]
