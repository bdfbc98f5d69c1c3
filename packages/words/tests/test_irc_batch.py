"""IRCv3 batch and labeled-response: the sans-I/O tracker and IRCClient's callbacks."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.words.protocols import irc
from glisten.words.protocols._irc import Message, parseLine
from glisten.words.protocols._irc._batch import (
    BatchClosed,
    BatchOpened,
    BatchTracker,
    LabeledReply,
)


def msg(line: str) -> Message:
    parsed = parseLine(line.encode("utf-8"))
    assert isinstance(parsed, Message)
    return parsed


def feedAll(tracker: BatchTracker, *lines: str) -> list[Any]:
    events: list[Any] = []
    for line in lines:
        events.extend(tracker.receive(msg(line)))
    return events


def test_batchCollectsItsMessages() -> None:
    tracker = BatchTracker()
    events = feedAll(
        tracker,
        ":srv BATCH +n1 netsplit irc.a irc.b",
        "@batch=n1 :x!u@h QUIT :irc.a irc.b",
        "@batch=n1 :y!u@h QUIT :irc.a irc.b",
        ":z!u@h PRIVMSG #c :not in the batch",
        ":srv BATCH -n1",
    )
    assert [type(e) for e in events] == [BatchOpened, BatchClosed]
    batch = events[1].batch
    assert (batch.reference, batch.batchType, batch.parameters) == (
        "n1",
        "netsplit",
        ["irc.a", "irc.b"],
    )
    assert [m.prefix for m in batch.messages] == ["x!u@h", "y!u@h"]
    assert not batch.truncated


def test_nestedBatchesAndLabel() -> None:
    tracker = BatchTracker()
    tracker.labelSent("L1")
    events = feedAll(
        tracker,
        "@label=L1 :srv BATCH +outer labeled-response",
        "@batch=outer :srv BATCH +inner chathistory #c",
        "@batch=inner :bob!u@h PRIVMSG #c :one",
        "@batch=inner :bob!u@h PRIVMSG #c :two",
        ":srv BATCH -inner",
        "@batch=outer :srv 999 me :extra",
        ":srv BATCH -outer",
    )
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["BatchOpened", "BatchOpened", "BatchClosed", "BatchClosed", "LabeledReply"]
    inner, outer = events[2].batch, events[3].batch
    assert inner.parent is outer
    assert [m.params[-1] for m in inner.messages] == ["one", "two"]
    assert [m.command for m in outer.messages] == ["BATCH", "PRIVMSG", "PRIVMSG", "999"]
    reply = events[4]
    assert reply.label == "L1" and reply.batch is outer and reply.messages == outer.messages


def test_labeledSingleReplyAndAck() -> None:
    tracker = BatchTracker()
    tracker.labelSent("a")
    tracker.labelSent("b")
    assert feedAll(tracker, "@label=a :srv 311 me bob u h * :Bob") == [
        LabeledReply("a", [msg("@label=a :srv 311 me bob u h * :Bob")])
    ]
    assert feedAll(tracker, "@label=b :srv ACK") == [LabeledReply("b", [])]
    # Labels we never sent, or already answered, are not replies.
    assert feedAll(tracker, "@label=a :srv ACK", "@label=zzz :srv ACK") == []


def test_pendingLabelsAreBounded() -> None:
    tracker = BatchTracker(maxPendingLabels=2)
    for label in ("a", "b", "c"):
        tracker.labelSent(label)
    assert feedAll(tracker, "@label=a :srv ACK") == []
    assert feedAll(tracker, "@label=c :srv ACK") == [LabeledReply("c", [])]


def test_openBatchesAreBounded() -> None:
    tracker = BatchTracker(maxOpenBatches=2)
    events = feedAll(tracker, ":s BATCH +a x", ":s BATCH +b x", ":s BATCH +c x", ":s BATCH +a y")
    assert [e.batch.reference for e in events] == ["a", "b"]
    assert feedAll(tracker, "@batch=c :s PRIVMSG #c :lost") == []
    assert [type(e) for e in feedAll(tracker, ":s BATCH -c", ":s BATCH -a")] == [BatchClosed]


def test_bufferedMessagesAreBounded() -> None:
    tracker = BatchTracker(maxBufferedMessages=3)
    feedAll(tracker, ":s BATCH +a chathistory #c")
    feedAll(tracker, *["@batch=a :b!u@h PRIVMSG #c :%d" % i for i in range(10)])
    (closed,) = feedAll(tracker, ":s BATCH -a")
    assert len(closed.batch.messages) == 3 and closed.batch.truncated
    # What was held is released when the batch ends: the next batch keeps its messages.
    feedAll(tracker, ":s BATCH +b chathistory #c", "@batch=b :b!u@h PRIVMSG #c :x")
    (closed,) = feedAll(tracker, ":s BATCH -b")
    assert len(closed.batch.messages) == 1 and not closed.batch.truncated


def test_closingAnOuterBatchClosesInnerOnes() -> None:
    tracker = BatchTracker()
    events = feedAll(
        tracker, ":s BATCH +o x", "@batch=o :s BATCH +i y", ":s BATCH -o", ":s BATCH -i"
    )
    assert [(type(e).__name__, e.batch.reference) for e in events] == [
        ("BatchOpened", "o"),
        ("BatchOpened", "i"),
        ("BatchClosed", "i"),
        ("BatchClosed", "o"),
    ]


_lines = st.lists(
    st.builds(
        lambda tag, label, body: (
            ("@" + ";".join(t for t in (tag, label) if t) + " " if tag or label else "") + body
        ),
        st.sampled_from(["", "batch=a", "batch=b", "batch=c"]),
        st.sampled_from(["", "label=L", "label=M"]),
        st.sampled_from(
            [
                ":s BATCH +a t",
                ":s BATCH +b t p",
                ":s BATCH +c",
                ":s BATCH -a",
                ":s BATCH -b",
                ":s BATCH -c",
                ":s BATCH",
                ":s BATCH +",
                ":s ACK",
                ":n!u@h PRIVMSG #c :hi",
            ]
        ),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(_lines)
def test_randomBatchSequencesStayBounded(lines: list[str]) -> None:
    tracker = BatchTracker(maxOpenBatches=2, maxBufferedMessages=5)
    tracker.labelSent("L")
    for line in lines:
        tracker.receive(msg(line))
        assert len(tracker._open) <= 2
        assert 0 <= tracker._buffered <= 5


class BatchClient(irc.IRCClient):
    nickname = "me"
    heartbeatInterval = None
    wantedCapabilities = ()
    performLogin = 0

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def privmsg(self, user: str, channel: str, message: str) -> None:
        batch = self.currentBatch
        self.calls.append(("privmsg", message, batch.reference if batch else None))

    def batchReceived(self, batch: irc.Batch) -> None:
        self.calls.append(("batch", batch.batchType, [m.params[-1] for m in batch.messages]))

    def labeledResponse(self, label: str, messages: list[irc.Message]) -> None:
        self.calls.append(("labeled", label, [m.command for m in messages]))

    def irc_RPL_WHOISUSER(self, prefix: str, params: list[str]) -> None:
        self.calls.append(("whois", params[1], self.tags.get("label")))


def connected() -> tuple[BatchClient, StringTransport]:
    client = BatchClient()
    client.reactor = Clock()
    transport = StringTransport()
    client.makeConnection(transport)
    return client, transport


def test_clientDeliversBatchesAndLabeledReplies() -> None:
    client, transport = connected()
    label = client.sendLabeled("WHOIS", ["bob"])
    assert transport.value() == b"@label=" + label.encode() + b" WHOIS bob\r\n"
    other = client.sendLabeled("PRIVMSG", ["#c", "hi"])
    data = (
        f"@label={label} :srv BATCH +w labeled-response\r\n"
        "@batch=w :srv 311 me bob u h * :Bob\r\n"
        "@batch=w :srv 318 me bob :End\r\n"
        ":srv BATCH -w\r\n"
        ":srv BATCH +h chathistory #c\r\n"
        "@batch=h :bob!u@h PRIVMSG #c :old\r\n"
        ":srv BATCH -h\r\n"
        f"@label={other} :me!u@h PRIVMSG #c :hi\r\n"
        ":bob!u@h PRIVMSG #c :live\r\n"
    ).encode()
    for whole in (True, False):
        client, transport = connected()
        assert client.sendLabeled("WHOIS", ["bob"]) == label
        client.sendLabeled("PRIVMSG", ["#c", "hi"])
        if whole:
            client.dataReceived(data)
        else:
            for i in range(len(data)):
                client.dataReceived(data[i : i + 1])
        assert client.calls == [
            ("whois", "bob", None),
            ("batch", "labeled-response", ["Bob", "End"]),
            ("labeled", label, ["311", "318"]),
            ("privmsg", "old", "h"),
            ("batch", "chathistory", ["old"]),
            ("privmsg", "hi", None),
            ("labeled", other, ["PRIVMSG"]),
            ("privmsg", "live", None),
        ]
        assert client.currentBatch is None and client.tags == {}


_pieces = st.builds(
    lambda tags, prefix, command, params: f"{tags}{prefix}{command}{params}",
    st.sampled_from(["", "@batch=a ", "@batch=b;label=g1 ", "@label=g2 ", "@time=x;account= "]),
    st.sampled_from(["", ":srv ", ":bob!u@h ", ":me!u@h "]),
    st.sampled_from(
        [
            "BATCH",
            "PRIVMSG",
            "NOTICE",
            "JOIN",
            "PART",
            "KICK",
            "MODE",
            "NICK",
            "TOPIC",
            "QUIT",
            "CAP",
            "AUTHENTICATE",
            "ACK",
            "PING",
            "001",
            "005",
            "311",
            "332",
            "353",
            "433",
            "903",
        ]
    ),  # fmt: skip
    st.lists(
        st.sampled_from(
            [
                " +a",
                " -a",
                " +b chathistory",
                " -b",
                " me",
                " #c",
                " * LS",
                " +o",
                " :",
                " :hi",
                " :\x01DCC SEND f 1 0 5 t\x01",
                " :\x01DCC ACCEPT f 0 1 t\x01",
                " :\x01VERSION\x01",
                " :\x01DCC RESUME f 0 2 t\x01",
                " 10:1d",
                " x=y",
            ]
        ),  # fmt: skip
        max_size=4,
    ).map("".join),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=40))
def test_randomServerLinesNeverRaise(lines: list[str]) -> None:
    """Whatever a server sends (batches opened and closed in any order, labels, CTCP, DCC),
    the client's callbacks run and nothing escapes ``dataReceived``."""
    client, transport = connected()
    client.sendLabeled("PING", ["x"])
    client.dataReceived("".join(line + "\r\n" for line in lines).encode())
    assert client.currentBatch is None and client.tags == {}
