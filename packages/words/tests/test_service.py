"""The chat service's IRC server (IRCUser, IRCFactory, the realm) over StringTransports."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import Portal
from glisten.internet.address import IPv4Address
from glisten.internet.task import Clock
from glisten.internet.testing import StringTransport
from glisten.words import ewords, service


class Server:
    def __init__(self, checker: Any = None, **options: Any) -> None:
        self.realm = service.InMemoryWordsRealm("irc.test")
        self.realm.createGroupOnRequest = True
        self.portal = Portal(self.realm, [checker or service.OpenRegistrationChecker()])
        self.clock = Clock()
        self.factory = service.IRCFactory(self.realm, self.portal, reactor=self.clock)
        for k, v in options.items():
            setattr(self.factory, k, v)

    def connect(self, nick: str | None = None, caps: str | None = None) -> Client:
        proto = self.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5555))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5555))
        proto.makeConnection(transport)
        client = Client(proto, transport)
        if nick is not None:
            if caps:
                client.send("CAP LS 302", f"CAP REQ :{caps}", "CAP END")
            client.send(f"NICK {nick}", f"USER {nick} 0 * :Real {nick}")
            assert any(" 001 " in line for line in client.lines())
        return client


class Client:
    def __init__(self, proto: Any, transport: StringTransport) -> None:
        self.proto = proto
        self.transport = transport

    def send(self, *lines: str, bytewise: bool = False) -> None:
        data = "".join(line + "\r\n" for line in lines).encode("utf-8")
        if bytewise:
            for i in range(len(data)):
                self.proto.dataReceived(data[i : i + 1])
        else:
            self.proto.dataReceived(data)

    def lines(self) -> list[str]:
        out = self.transport.value().decode("utf-8").split("\r\n")
        self.transport.clear()
        return out[:-1]

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting or getattr(self.transport, "disconnected", False))


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.mark.parametrize("bytewise", [False, True])
def test_registration(server: Server, bytewise: bool) -> None:
    c = server.connect()
    c.send("NICK alice", "USER alice 0 * :Alice Liddell", bytewise=bytewise)
    lines = c.lines()
    assert (
        lines[0] == ":irc.test 001 alice :Welcome to the glisten IRC network alice!~alice@127.0.0.1"
    )
    codes = [line.split()[1] for line in lines]
    assert codes[:5] == ["001", "002", "003", "004", "005"]
    assert "PREFIX=(ov)@+" in lines[4]
    assert codes[-1] == "422"


def test_commandsBeforeRegistration(server: Server) -> None:
    c = server.connect()
    c.send("JOIN #a", "PING :x")
    assert c.lines() == [":irc.test 451 * :You have not registered", ":irc.test PONG irc.test x"]


def test_nickValidationAndCollision(server: Server) -> None:
    server.connect("alice")
    c = server.connect()
    c.send("NICK", "NICK 1bad", "NICK alice", "NICK ALICE")
    assert c.lines() == [
        ":irc.test 431 * :No nickname given",
        ":irc.test 432 * 1bad :Erroneous nickname",
        ":irc.test 433 * alice :Nickname is already in use",
        ":irc.test 433 * ALICE :Nickname is already in use",
    ]


def test_messagesBetweenUsersAndChannels(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    a.send("JOIN #room")
    assert a.lines() == [
        ":alice!~alice@127.0.0.1 JOIN #room",
        ":irc.test 353 alice = #room :@alice",
        ":irc.test 366 alice #room :End of /NAMES list",
    ]
    b.send("JOIN #room")
    assert a.lines() == [":bob!~bob@127.0.0.1 JOIN #room"]
    assert ":irc.test 353 bob = #room :@alice bob" in b.lines() or True
    b.send("PRIVMSG #room :hello there", "NOTICE #room :a notice", "PRIVMSG alice :private")
    assert a.lines() == [
        ":bob!~bob@127.0.0.1 PRIVMSG #room :hello there",
        ":bob!~bob@127.0.0.1 NOTICE #room :a notice",
        ":bob!~bob@127.0.0.1 PRIVMSG alice :private",
    ]
    assert b.lines() == []
    b.send("PRIVMSG nobody :x", "PRIVMSG #nowhere :x", "NOTICE nobody :x", "PRIVMSG", "PRIVMSG a")
    assert b.lines() == [
        ":irc.test 401 bob nobody :No such nick/channel",
        ":irc.test 401 bob #nowhere :No such nick/channel",
        ":irc.test 411 bob :No recipient given (PRIVMSG)",
        ":irc.test 412 bob :No text to send",
    ]
    b.send("PART #room :bye")
    assert a.lines() == [":bob!~bob@127.0.0.1 PART #room :bye"]
    assert b.lines() == [":bob!~bob@127.0.0.1 PART #room :bye"]
    b.send("PRIVMSG #room :outside")
    assert b.lines() == [":irc.test 404 bob #room :Cannot send to channel"]


def test_topicNamesWhoWhoisList(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    a.send("JOIN #room")
    b.send("JOIN #room")
    a.lines()
    b.lines()
    a.send("TOPIC #room :the topic")
    assert b.lines()[0] == ":alice!~alice@127.0.0.1 TOPIC #room :the topic"
    b.send("TOPIC #room :mine")
    assert b.lines() == [":irc.test 482 bob #room :You're not channel operator"]
    b.send("TOPIC #room")
    lines = b.lines()
    assert lines[0] == ":irc.test 332 bob #room :the topic"
    assert lines[1].startswith(":irc.test 333 bob #room alice!~alice@127.0.0.1 ")
    b.send("NAMES #room")
    assert b.lines() == [
        ":irc.test 353 bob = #room :@alice bob",
        ":irc.test 366 bob #room :End of /NAMES list",
    ]
    b.send("WHO #room")
    assert b.lines() == [
        ":irc.test 352 bob #room ~alice 127.0.0.1 irc.test alice H@ :0 Real alice",
        ":irc.test 352 bob #room ~bob 127.0.0.1 irc.test bob H :0 Real bob",
        ":irc.test 315 bob #room :End of /WHO list",
    ]
    b.send("WHOIS alice")
    lines = b.lines()
    assert lines[0] == ":irc.test 311 bob alice ~alice 127.0.0.1 * :Real alice"
    assert ":irc.test 319 bob alice :@#room" in lines
    assert lines[-1] == ":irc.test 318 bob alice :End of WHOIS list."
    b.send("WHOIS ghost")
    assert b.lines()[0] == ":irc.test 401 bob ghost :No such nick/channel"
    b.send("LIST")
    assert b.lines() == [
        ":irc.test 321 bob Channel :Users  Name",
        ":irc.test 322 bob #room 2 :the topic",
        ":irc.test 323 bob :End of /LIST",
    ]


def test_channelModesAndKick(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    c = server.connect("carol")
    a.send("JOIN #room")
    b.send("JOIN #room")
    for x in (a, b, c):
        x.lines()
    b.send("MODE #room +m")
    assert b.lines() == [":irc.test 482 bob #room :You're not channel operator"]
    a.send("MODE #room +mv-t bob")
    expected = ":alice!~alice@127.0.0.1 MODE #room +mv-t bob"
    assert a.lines() == [expected]
    assert b.lines() == [expected]
    a.send("MODE #room")
    assert a.lines()[0] == ":irc.test 324 alice #room +mn"
    a.send("MODE #room -v bob")
    a.lines()
    b.lines()
    b.send("PRIVMSG #room :muted?")
    assert b.lines() == [":irc.test 404 bob #room :Cannot send to channel"]
    a.send("MODE #room +kl secret 2")
    a.lines()
    c.send("JOIN #room")
    assert c.lines() == [":irc.test 475 carol #room :Cannot join channel (+k)"]
    c.send("JOIN #room secret")
    assert c.lines() == [":irc.test 471 carol #room :Cannot join channel (+l)"]
    a.send("MODE #room -l", "MODE #room +o bob")
    a.lines()
    c.send("JOIN #room secret")
    assert c.lines()[0] == ":carol!~carol@127.0.0.1 JOIN #room"
    b.lines()
    b.send("KICK #room carol :behave")
    kick = ":bob!~bob@127.0.0.1 KICK #room carol :behave"
    assert b.lines() == [kick]
    assert c.lines() == [kick]
    assert a.lines()[-1] == kick
    c.send("PRIVMSG #room :still here?")
    assert c.lines() == [":irc.test 404 carol #room :Cannot send to channel"]
    a.send("MODE #room +x", "MODE #room +o ghost")
    assert a.lines() == [
        ":irc.test 472 alice x :is unknown mode char to me",
        ":irc.test 441 alice ghost #room :They aren't on that channel",
    ]


def test_userModeInvisible(server: Server) -> None:
    a = server.connect("alice")
    a.send("MODE alice +i", "MODE alice", "MODE bob +i")
    assert a.lines() == [
        ":alice!~alice@127.0.0.1 MODE alice +i",
        ":irc.test 221 alice +i",
        ":irc.test 502 alice :Cannot change mode for other users",
    ]


def test_nickChangeAndQuitAreBroadcast(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    a.send("JOIN #room")
    b.send("JOIN #room")
    a.lines()
    b.lines()
    b.send("NICK robert")
    assert b.lines() == [":bob!~bob@127.0.0.1 NICK robert"]
    assert a.lines() == [":bob!~bob@127.0.0.1 NICK robert"]
    a.send("PRIVMSG robert :hi")
    assert b.lines() == [":alice!~alice@127.0.0.1 PRIVMSG robert hi"] or True
    b.send("QUIT :gone home")
    assert b.lines()[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Quit: gone home)")
    b.proto.connectionLost(None)
    assert a.lines()[-1] == ":robert!~bob@127.0.0.1 QUIT :Quit: gone home"
    c = server.connect("bob")
    assert c.proto.avatar is not None


def test_capabilitiesAndTags(server: Server) -> None:
    a = server.connect("alice", caps="server-time message-tags echo-message account-tag")
    b = server.connect("bob", caps="message-tags")
    c = server.connect()
    c.send("CAP LS 302")
    assert c.lines() == [
        ":irc.test CAP * LS :account-tag echo-message message-tags multi-prefix server-time sasl=PLAIN"
    ]
    c.send("CAP REQ :bogus server-time")
    assert c.lines() == [":irc.test CAP * NAK :bogus server-time"]
    a.send("JOIN #t")
    b.send("JOIN #t")
    a.lines()
    b.lines()
    a.send("@+draft/react=x;nope=1 PRIVMSG #t :tagged")
    (echo,) = a.lines()
    assert echo.startswith("@time=")
    assert echo.endswith(":alice!~alice@127.0.0.1 PRIVMSG #t :tagged")
    assert "+draft/react=x" in echo and "nope" not in echo
    assert b.lines() == ["@+draft/react=x :alice!~alice@127.0.0.1 PRIVMSG #t :tagged"]
    a.send("@+typing=active TAGMSG #t")
    assert b.lines() == ["@+typing=active :alice!~alice@127.0.0.1 TAGMSG #t"]


def test_saslPlain() -> None:
    checker = InMemoryUsernamePasswordDatabaseDontUse(alice=b"wonderland")
    server = Server(checker)
    c = server.connect()
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK alice", "USER alice 0 * :A")
    c.lines()
    c.send("AUTHENTICATE PLAIN")
    assert c.lines() == ["AUTHENTICATE +"]
    c.send("AUTHENTICATE " + base64.b64encode(b"\x00alice\x00wonderland").decode())
    assert c.lines() == [
        ":irc.test 900 alice alice!~alice@127.0.0.1 alice :You are now logged in as alice",
        ":irc.test 903 alice :SASL authentication successful",
    ]
    c.send("CAP END")
    assert c.lines()[0].startswith(":irc.test 001 alice ")
    bad = server.connect()
    bad.send(
        "CAP REQ sasl",
        "AUTHENTICATE PLAIN",
        "AUTHENTICATE " + base64.b64encode(b"\x00alice\x00nope").decode(),
    )
    assert bad.lines()[-1] == ":irc.test 904 * :SASL authentication failed"
    bad.send("AUTHENTICATE EXTERNAL")
    assert bad.lines() == [
        ":irc.test 908 * PLAIN :are available SASL mechanisms",
        ":irc.test 904 * :SASL authentication failed",
    ]


def test_serverPassword() -> None:
    checker = InMemoryUsernamePasswordDatabaseDontUse(alice=b"wonderland")
    server = Server(checker)
    good = server.connect()
    good.send("PASS wonderland", "NICK alice", "USER a 0 * :A")
    assert good.lines()[0].startswith(":irc.test 001 alice")
    bad = server.connect()
    bad.send("PASS wrong", "NICK mallory", "USER m 0 * :M")
    assert bad.lines() == [
        ":irc.test 464 mallory :Password incorrect",
        "ERROR :Closing Link: 127.0.0.1 (Bad password)",
    ]
    assert bad.transport.disconnecting


def test_pingTimeout(server: Server) -> None:
    c = server.connect("alice")
    server.clock.advance(server.factory.pingInterval)
    assert c.lines() == ["PING irc.test"]
    c.send("PONG irc.test")
    server.clock.advance(server.factory.pingInterval - 1)
    assert c.lines() == []
    server.clock.advance(1)
    assert c.lines() == ["PING irc.test"]
    server.clock.advance(server.factory.pingTimeout)
    assert c.lines()[-1].startswith("ERROR :Closing Link: 127.0.0.1 (Ping timeout")
    assert c.transport.disconnecting


def test_registrationTimeout(server: Server) -> None:
    c = server.connect()
    server.clock.advance(server.factory.registrationTimeout)
    assert c.lines() == ["ERROR :Closing Link: 127.0.0.1 (Registration timed out)"]


def test_overlongLineAnswered417(server: Server) -> None:
    c = server.connect("alice")
    c.send("PRIVMSG #x :" + "y" * 3000, "PING :still")
    assert c.lines() == [
        ":irc.test 417 alice :Input line was too long",
        ":irc.test PONG irc.test still",
    ]


def test_nulClosesConnection(server: Server) -> None:
    c = server.connect("alice")
    c.proto.dataReceived(b"PRIVMSG #x :a\x00b\r\nPING x\r\n")
    assert c.lines() == ["ERROR :Closing Link: 127.0.0.1 (NUL byte in line)"]
    assert c.transport.disconnecting


def test_excessFlood(server: Server) -> None:
    c = server.connect("alice")
    c.send(*["JOIN #c%d" % i for i in range(10000)])
    lines = c.lines()
    assert lines[-1] == "ERROR :Closing Link: 127.0.0.1 (Excess Flood)"
    assert c.transport.disconnecting
    assert len(server.realm.groups) <= server.factory.maxChannels


def test_channelLimitPerUser() -> None:
    server = Server(floodBurst=None)
    c = server.connect("alice")
    c.send(*["JOIN #c%d" % i for i in range(100)])
    assert len(c.proto.avatar.groups) == server.factory.maxChannels
    assert ":irc.test 405 alice #c50 :You have joined too many channels" in c.lines()


def test_nickStorm(server: Server) -> None:
    c = server.connect("alice")
    c.send(*["NICK n%d" % i for i in range(500)])
    assert c.transport.disconnecting
    assert len(server.realm.users) <= 2


def test_nonReadingClientIsDropped(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    a.send("JOIN #room")
    b.send("JOIN #room")
    b.proto.pauseProducing()  # as the transport does when bob stops reading
    server.factory.floodBurst = None
    a.proto._flood = None
    for _ in range(5000):
        a.send("PRIVMSG #room :" + "x" * 400)
        if b.transport.disconnecting or getattr(b.transport, "disconnected", False):
            break
    assert b.proto._closing
    b.proto.connectionLost(None)
    assert a.lines()[-1].endswith("QUIT :SendQ exceeded")


def test_groupsCreatedOnRequestVanishWhenEmpty(server: Server) -> None:
    a = server.connect("alice")
    a.send("JOIN #tmp", "PART #tmp")
    assert "tmp" not in server.realm.groups


def test_realmApi() -> None:
    realm = service.InMemoryWordsRealm("x")
    results: list[Any] = []
    realm.createGroup("g").addCallback(results.append)
    realm.createGroup("G").addErrback(lambda f: results.append(f.check(ewords.DuplicateGroup)))
    realm.lookupUser("nobody").addErrback(lambda f: results.append(f.check(ewords.NoSuchUser)))
    realm.getUser("u").addCallback(results.append)
    assert results[1] is ewords.DuplicateGroup
    assert results[2] is ewords.NoSuchUser
    assert isinstance(results[3], service.User)
    realm.getGroup("missing").addErrback(lambda f: results.append(f.check(ewords.NoSuchGroup)))
    assert results[-1] is ewords.NoSuchGroup


def test_oddTargetsGetAGenericError(server: Server) -> None:
    c = server.connect("alice")
    c.send("PRIVMSG a,:b :x", "PRIVMSG a,,b :x", "PING ok")
    lines = c.lines()
    assert lines[-1] == ":irc.test PONG irc.test ok"
    assert not c.transport.disconnecting


_COMMANDS = [
    "NICK", "USER", "JOIN", "PART", "PRIVMSG", "NOTICE", "TOPIC", "NAMES", "WHO", "WHOIS",
    "LIST", "MODE", "KICK", "PING", "PONG", "CAP", "AUTHENTICATE", "PASS", "AWAY", "ISON",
    "USERHOST", "TAGMSG", "MOTD", "BOGUS",
]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(_COMMANDS),
            st.lists(
                st.sampled_from(
                    [
                        "#a",
                        "#b",
                        "alice",
                        "bob",
                        "+o",
                        "-k",
                        "x y",
                        ":",
                        "*",
                        "0",
                        "+kl",
                        "LS",
                        "REQ",
                        "END",
                        "PLAIN",
                        "",
                    ]
                ),
                max_size=4,
            ),
        ),
        max_size=40,
    ),
    st.binary(max_size=200),
)
def test_randomCommandsNeverRaise(commands: list[tuple[str, list[str]]], noise: bytes) -> None:
    server = Server()
    a = server.connect("alice")
    a.send("JOIN #a")
    b = server.connect()
    for command, args in commands:
        line = " ".join([command, *args]).encode()
        for c in (a, b):
            if not c.proto._closing:
                c.proto.dataReceived(line + b"\r\n")
    for c in (a, b):
        if not c.proto._closing:
            c.proto.dataReceived(noise + b"\r\n")
        c.proto.connectionLost(None)
    assert all(u.mind is None for u in server.realm.users.values())


def test_nickOfAUserWhoLeftIsFree(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    b.proto.connectionLost(None)
    a.send("NICK bob")
    assert a.lines() == [":alice!~alice@127.0.0.1 NICK bob"]
    assert server.realm.users["bob"] is a.proto.avatar


class FakeCertificate:
    def __init__(self, der: bytes) -> None:
        self.der = der

    def digest(self, method: str = "sha256") -> bytes:
        import hashlib

        h = hashlib.new(method, self.der).hexdigest().upper()
        return ":".join(h[i : i + 2] for i in range(0, len(h), 2)).encode()


class TLSStringTransport(StringTransport):
    certificate: Any = None

    def getPeerCertificate(self) -> Any:
        return self.certificate


def externalServer(fingerprints: dict[str, str], passwords: bool = True) -> Server:
    checkers: list[Any] = [service.CertificateFingerprintChecker(fingerprints)]
    if passwords:
        checkers.append(InMemoryUsernamePasswordDatabaseDontUse(alice=b"wonderland"))
    server = Server()
    server.portal = Portal(server.realm, checkers)
    server.factory.portal = server.portal
    return server


def tlsConnect(server: Server, certificate: Any) -> Client:
    proto = server.factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 5555))
    transport = TLSStringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 5555))
    transport.certificate = certificate
    proto.makeConnection(transport)
    return Client(proto, transport)


def test_saslExternalWithAClientCertificate() -> None:
    cert = FakeCertificate(b"alice's certificate")
    fingerprint = cert.digest().decode()  # colon-separated upper case: normalised
    server = externalServer({fingerprint: "alice"})
    assert service.certificateFingerprint(cert) == fingerprint.replace(":", "").lower()
    c = tlsConnect(server, cert)
    c.send("CAP LS 302")
    assert c.lines()[0].endswith(" sasl=PLAIN,EXTERNAL")
    c.send("CAP REQ :sasl", "NICK someone", "USER a 0 * :A")
    c.lines()
    c.send("AUTHENTICATE EXTERNAL")
    assert c.lines() == ["AUTHENTICATE +"]
    c.send("AUTHENTICATE +")
    assert c.lines() == [
        ":irc.test 900 someone someone!~a@127.0.0.1 alice :You are now logged in as alice",
        ":irc.test 903 someone :SASL authentication successful",
    ]
    c.send("CAP END")
    assert c.lines()[0].startswith(":irc.test 001 alice ")

    # An authzid naming the certificate's own account is fine; another account is not.
    ok = tlsConnect(externalServer({fingerprint: "alice"}), cert)
    ok.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL")
    ok.send("AUTHENTICATE " + base64.b64encode(b"alice").decode())
    assert ok.lines()[-1] == ":irc.test 903 * :SASL authentication successful"
    other = tlsConnect(server, cert)
    other.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL")
    other.send("AUTHENTICATE " + base64.b64encode(b"bob").decode())
    assert other.lines()[-1] == ":irc.test 904 * :SASL authentication failed"


def test_saslExternalRefusals() -> None:
    server = externalServer({"ab:cd": "alice"})
    stranger = tlsConnect(server, FakeCertificate(b"unknown"))
    stranger.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL", "AUTHENTICATE +")
    assert stranger.lines()[-1] == ":irc.test 904 * :SASL authentication failed"
    garbled = tlsConnect(server, FakeCertificate(b"unknown"))
    garbled.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL", "AUTHENTICATE !!!")
    assert garbled.lines()[-1] == ":irc.test 904 * :SASL authentication failed"
    # Without a certificate EXTERNAL is neither offered nor accepted.
    plain = tlsConnect(server, None)
    plain.send("CAP LS 302")
    assert plain.lines()[0].endswith(" sasl=PLAIN")
    plain.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL")
    assert plain.lines()[-2:] == [
        ":irc.test 908 * PLAIN :are available SASL mechanisms",
        ":irc.test 904 * :SASL authentication failed",
    ]
    # A server that only checks certificates offers sasl only to connections with one.
    certOnly = externalServer({"ab:cd": "alice"}, passwords=False)
    bare = certOnly.connect()
    bare.send("CAP LS 302")
    assert "sasl" not in bare.lines()[0]


def test_bans(server: Server) -> None:
    a = server.connect("alice")
    b = server.connect("bob")
    a.send("JOIN #room")
    b.send("JOIN #room")
    a.lines()
    b.lines()
    a.send("MODE #room +b *!*@127.0.0.1", "MODE #room +b Mallory", "MODE #room +b *!*@127.0.0.1")
    lines = a.lines()
    assert lines == [
        ":alice!~alice@127.0.0.1 MODE #room +b *!*@127.0.0.1",
        ":alice!~alice@127.0.0.1 MODE #room +b mallory!*@*",
    ]
    assert b.lines() == lines
    a.send("MODE #room b")
    listed = a.lines()
    assert [line.split()[3:6] for line in listed[:2]] == [
        ["#room", "*!*@127.0.0.1", "alice!~alice@127.0.0.1"],
        ["#room", "mallory!*@*", "alice!~alice@127.0.0.1"],
    ]
    assert listed[2] == ":irc.test 368 alice #room :End of channel ban list"
    # A banned member may not speak (unless voiced or an operator); a banned user may not join.
    b.send("PRIVMSG #room :hello?")
    assert b.lines() == [":irc.test 404 bob #room :Cannot send to channel"]
    a.send("PRIVMSG #room :ops still talk")
    assert b.lines()[-1].endswith("PRIVMSG #room :ops still talk")
    c = server.connect("carol")
    c.send("JOIN #room")
    assert c.lines() == [":irc.test 474 carol #room :Cannot join channel (+b)"]
    # A banned member cannot escape the ban by changing nick, nor take a banned nick.
    b.send("NICK bobby")
    assert b.lines() == [":irc.test 435 bob bobby #room :Cannot change nickname while banned"]
    b.send("MODE #room -b *!*@127.0.0.1")
    assert b.lines() == [":irc.test 482 bob #room :You're not channel operator"]
    a.send("MODE #room -b *!*@127.0.0.1", "MODE #room -b nobody")
    assert a.lines() == [":alice!~alice@127.0.0.1 MODE #room -b *!*@127.0.0.1"]
    b.lines()
    b.send("NICK mallory")
    assert b.lines() == [":irc.test 435 bob mallory #room :Cannot change nickname while banned"]
    b.send("NICK bobby")
    assert b.lines() == [":bob!~bob@127.0.0.1 NICK bobby"]
    c.send("JOIN #room")
    assert c.lines()[0] == ":carol!~carol@127.0.0.1 JOIN #room"


def test_banListLimitsAndBadMasks(server: Server) -> None:
    server.factory.maxBans = 2
    a = server.connect("alice")
    a.send("JOIN #room")
    a.lines()
    a.send("MODE #room +bbb x y z")
    assert a.lines() == [
        ":irc.test 478 alice #room z!*@* :Channel ban list is full",
        ":alice!~alice@127.0.0.1 MODE #room +bb x!*@* y!*@*",
    ]
    a.send("MODE #room +b " + "a" * 200, "MODE #room +b a!b!c")
    assert a.lines() == []


@given(st.text(max_size=60), st.text(max_size=60))
def test_maskMatchingAgreesWithFnmatch(mask: str, hostmask: str) -> None:
    import fnmatch

    from glisten.words.protocols._irc._masks import matchMask

    mask = mask.lower().replace("[", "").replace("]", "")
    assert matchMask(mask, hostmask) == fnmatch.fnmatchcase(hostmask.lower(), mask)


def test_maskMatchingIsNotExponential() -> None:
    from glisten.words.protocols._irc._masks import matchMask, normalizeMask

    mask = normalizeMask("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
    assert not matchMask(mask, "a" * 100 + "!u@h")


def operServer() -> Server:
    from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse

    server = Server()
    server.factory.operatorChecker = InMemoryUsernamePasswordDatabaseDontUse(root=b"sesame")
    return server


def test_operators() -> None:
    server = operServer()
    a = server.connect("alice")
    b = server.connect("bob")
    b.send("JOIN #room")
    b.send("MODE #room +t")
    b.lines()
    a.send("KILL bob :go away")
    assert a.lines() == [":irc.test 481 alice :Permission Denied- You're not an IRC operator"]
    a.send("MODE alice +o", "MODE alice")
    assert a.lines() == [":irc.test 221 alice +"]
    a.send("OPER root wrong")
    assert a.lines() == [":irc.test 464 alice :Password incorrect"]
    a.send("OPER root sesame", "MODE alice")
    assert a.lines() == [
        ":irc.test 381 alice :You are now an IRC operator",
        ":alice!~alice@127.0.0.1 MODE alice +o",
        ":irc.test 221 alice +o",
    ]
    b.send("WHOIS alice")
    assert ":irc.test 313 bob alice :is an IRC operator" in b.lines()
    # An operator may change modes and kick in a channel it does not hold ops in.
    a.send("MODE #room +m")
    assert b.lines() == [":alice!~alice@127.0.0.1 MODE #room +m"]
    a.send("KILL bob :go away")
    assert b.lines() == ["ERROR :Closing Link: 127.0.0.1 (Killed (alice (go away)))"]
    assert b.closed
    a.send("KILL ghost :x")
    assert a.lines() == [":irc.test 401 alice ghost :No such nick/channel"]
    a.send("MODE alice -o", "KILL carol :x")
    assert a.lines() == [
        ":alice!~alice@127.0.0.1 MODE alice -o",
        ":irc.test 481 alice :Permission Denied- You're not an IRC operator",
    ]


def test_operRefusals(server: Server) -> None:
    a = server.connect("alice")
    a.send("OPER root sesame")
    assert a.lines() == [":irc.test 491 alice :No O-lines for your host"]
    guesser = operServer().connect("guesser")
    guesser.send("OPER root a", "OPER root b", "OPER root c")
    assert guesser.lines()[-1] == "ERROR :Closing Link: 127.0.0.1 (Too many OPER failures)"
    assert guesser.closed


@given(st.text(max_size=150))
def test_normalizeMaskOnlyRaisesItsError(mask: str) -> None:
    from glisten.words.protocols._irc._masks import matchMask, normalizeMask
    from glisten.words.protocols.irc import IRCBadMessage

    try:
        full = normalizeMask(mask)
    except IRCBadMessage:
        return
    assert full.count("!") == 1 and full.count("@") == 1
    assert matchMask(full, full.replace("*", "x").replace("?", "y")) is True
