"""The IMAP4 client of Twisted's mail documentation (greeting, SASL with registered
authenticators and an insecure-login fallback, LIST, EXAMINE, the Subject of every
message), run against a small scripted IMAP server in the same process."""

import base64
import hashlib
import hmac

from glisten.internet import defer, endpoints, protocol, reactor
from glisten.mail import imap4
from glisten.protocols import basic

CHALLENGE = b"<1896.697170952@postoffice.example.net>"
MESSAGES = [b"Subject: Lunch on Friday?", b"Subject: Quarterly report", b"Subject: Re: hello"]


class ScriptedIMAPServer(basic.LineReceiver):
    """Just enough IMAP4rev1 for the client below."""

    def connectionMade(self):
        self.pending = None
        self.sendLine(b"* OK [CAPABILITY IMAP4rev1 AUTH=CRAM-MD5] scripted server ready")

    def lineReceived(self, line):
        if self.pending is not None:
            tag, self.pending = self.pending, None
            user, _, digest = base64.b64decode(line).partition(b" ")
            print("server got a CRAM-MD5 response from", user.decode())
            good = hmac.new(b"secret", CHALLENGE, hashlib.md5).hexdigest().encode()
            if user == b"bob" and digest == good:
                self.sendLine(tag + b" OK authenticated")
            else:
                self.sendLine(tag + b" NO authentication failed")
            return
        tag, command, *rest = line.split(b" ", 2)
        command = command.upper()
        print("server got:", command.decode())
        if command == b"CAPABILITY":
            self.sendLine(b"* CAPABILITY IMAP4rev1 AUTH=CRAM-MD5")
            self.sendLine(tag + b" OK done")
        elif command == b"AUTHENTICATE":
            self.pending = tag
            self.sendLine(b"+ " + base64.b64encode(CHALLENGE))
        elif command == b"LIST":
            self.sendLine(b'* LIST (\\HasNoChildren) "/" INBOX')
            self.sendLine(b'* LIST (\\HasNoChildren) "/" Archive')
            self.sendLine(b'* LIST (\\HasNoChildren) "/" "Sent Mail"')
            self.sendLine(tag + b" OK done")
        elif command == b"EXAMINE":
            self.sendLine(b"* %d EXISTS" % len(MESSAGES))
            self.sendLine(b"* 0 RECENT")
            self.sendLine(b"* FLAGS (\\Seen \\Deleted)")
            self.sendLine(b"* OK [UIDVALIDITY 42] ok")
            self.sendLine(tag + b" OK [READ-ONLY] done")
        elif command == b"FETCH":
            for number, header in enumerate(MESSAGES, 1):
                data = header + b"\r\n\r\n"
                self.sendLine(
                    b"* %d FETCH (BODY[HEADER.FIELDS (SUBJECT)] {%d}" % (number, len(data))
                )
                self.transport.write(data + b")\r\n")
            self.sendLine(tag + b" OK done")
        elif command == b"LOGOUT":
            self.sendLine(b"* BYE bye")
            self.sendLine(tag + b" OK done")
            self.transport.loseConnection()
        else:
            self.sendLine(tag + b" BAD unknown command")


class SimpleIMAP4Client(imap4.IMAP4Client):
    greetDeferred = None

    def serverGreeting(self, caps):
        self.serverCapabilities = caps
        if self.greetDeferred is not None:
            d, self.greetDeferred = self.greetDeferred, None
            d.callback(self)


class SimpleIMAP4ClientFactory(protocol.ClientFactory):
    protocol = SimpleIMAP4Client

    def __init__(self, username, onConn):
        self.username = username
        self.onConn = onConn

    def buildProtocol(self, addr):
        p = self.protocol()
        p.factory = self
        p.greetDeferred = self.onConn
        p.registerAuthenticator(imap4.PLAINAuthenticator(self.username))
        p.registerAuthenticator(imap4.LOGINAuthenticator(self.username))
        p.registerAuthenticator(imap4.CramMD5ClientAuthenticator(self.username))
        return p


def cbServerGreeting(proto, username, password):
    print("greeted")
    return (
        proto.authenticate(password)
        .addCallback(cbAuthentication, proto)
        .addErrback(ebAuthentication, proto, username, password)
    )


def ebAuthentication(failure, proto, username, password):
    failure.trap(imap4.NoSupportedAuthentication)
    print("no secure mechanism: logging in insecurely")
    return proto.login(username, password).addCallback(cbAuthentication, proto)


def cbAuthentication(result, proto):
    print("authenticated")
    return proto.list("", "*").addCallback(cbMailboxList, proto)


def cbMailboxList(result, proto):
    names = [e[2] for e in result]
    for n, name in enumerate(names, 1):
        print("%d. %s" % (n, name))
    return proto.examine(names[0]).addCallback(cbExamineMbox, proto)


def cbExamineMbox(result, proto):
    print("EXISTS:", result["EXISTS"], "READ-WRITE:", result["READ-WRITE"])
    return proto.fetchSpecific(
        "1:*", headerType="HEADER.FIELDS", headerArgs=["SUBJECT"]
    ).addCallback(cbFetch, proto)


def cbFetch(result, proto):
    for k in sorted(result):
        print(k, result[k][0][2].strip())
    return proto.logout()


def main():
    server = protocol.ServerFactory.forProtocol(ScriptedIMAPServer)
    port = reactor.listenTCP(0, server, interface="127.0.0.1")
    done = defer.Deferred()
    done.addCallback(cbServerGreeting, b"bob", b"secret")
    done.addErrback(lambda f: print("failed:", f.getErrorMessage()))
    done.addBoth(lambda _: reactor.callLater(0.1, reactor.stop))
    endpoint = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
    endpoint.connect(SimpleIMAP4ClientFactory(b"bob", done))
    reactor.run()


main()
