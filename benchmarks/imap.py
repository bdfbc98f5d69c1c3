"""IMAP4 and POP3 servers: glisten-mail against Twisted Mail, in process.

Both servers run over an in-memory transport (no sockets), fed by one client buffer, so the
figures are the protocol implementations' own CPU cost. Each implementation serves 10,000
messages from an in-memory mailbox written for it (Twisted's ``IMailbox``/``IMessage``;
glisten's ``MemoryAccount``), logged in through a portal.

Cases (messages served per CPU second, or searches):

- FETCH 1:* (FLAGS UID RFC822.SIZE) over 10,000 messages;
- FETCH 1:* (BODY.PEEK[HEADER]) over 10,000 messages;
- FETCH 1:* (BODY.PEEK[]) over 10,000 messages of ~2 KB;
- SEARCH UNSEEN LARGER over 10,000 messages, and SEARCH SUBJECT (glisten only: Twisted's
  fails on Python 3, comparing bytes with str);
- POP3 RETR of every message of a 1,000 message maildrop.

Over TCP, with Dovecot as the limit (``dovecot_ratio`` is glisten's rate divided by
Dovecot's): ``glisten mail --imap`` and a Dovecot started here serve the same 10,000
message maildir; a client in this process fetches every header and times the wall clock.
Dovecot runs as ``nobody`` (so this case needs root, as the interop tests do) and is skipped
when not installed.
"""

from __future__ import annotations

import io
import os
from typing import Any

from _harness import Case, cpuRate, main

COUNT = 10_000
BODY = (b"y" * 70 + b"\r\n") * 28  # ~2 KB


def _message(i: int) -> bytes:
    return (
        b"From: Sender %d <s%d@example.org>\r\nTo: rcpt@example.com\r\n"
        b"Subject: message number %d\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
        b"Message-ID: <%d@example.org>\r\n\r\n" % (i, i, i, i) + BODY
    )


MESSAGES = [_message(i) for i in range(COUNT)]


def _glistenImap() -> tuple[Any, Any]:
    from zope.interface import implementer

    from glisten.cred import checkers, portal
    from glisten.internet.task import Clock
    from glisten.internet.testing import StringTransport
    from glisten.mail import imap4

    account = imap4.MemoryAccount("bob")
    inbox = account.select("INBOX")
    for raw in MESSAGES:
        inbox.addMessage(io.BytesIO(raw), [], None)

    @implementer(portal.IRealm)
    class Realm:
        def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
            return imap4.IAccount, account, lambda: None

    server = imap4.IMAP4Server()
    server.portal = portal.Portal(
        Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
    )
    server.authOverPlaintext = True
    server.clock = Clock()
    transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(b"a LOGIN bob pw\r\nb SELECT INBOX\r\n")
    assert b"b OK" in transport.value(), transport.value()[-200:]
    transport.clear()
    return server, transport


def _twistedTransport() -> Any:
    """A string transport for Twisted that drives pull producers (FileSender) and runs the
    servers' cooperative loops on a fake clock, without a reactor and without recursion."""
    from twisted.internet.task import Clock, Cooperator
    from twisted.internet.testing import StringTransport

    clock = Clock()

    class Driving(StringTransport):  # type: ignore[misc]
        def registerProducer(self, producer: Any, streaming: bool) -> None:
            StringTransport.registerProducer(self, producer, streaming)
            if not streaming:
                clock.callLater(0, self._drive, producer)

        def _drive(self, producer: Any) -> None:
            while self.producer is producer:
                producer.resumeProducing()

        def settle(self) -> None:
            while clock.getDelayedCalls():
                clock.advance(0)

    transport = Driving()
    cooperator = Cooperator(
        scheduler=lambda f: clock.callLater(0, f),
        terminationPredicateFactory=lambda: lambda: False,
    )
    transport.scheduler = lambda iterator: cooperator.cooperate(iterator).whenDone()
    return transport


def _twistedImap() -> tuple[Any, Any]:
    from twisted.cred import checkers, portal
    from twisted.mail import imap4
    from zope.interface import implementer

    @implementer(imap4.IMessage)
    class Message:
        def __init__(self, raw: bytes, uid: int) -> None:
            self.raw = raw
            self.uid = uid
            head, _, body = raw.partition(b"\r\n\r\n")
            self.headers = {}
            for line in head.split(b"\r\n"):
                k, _, v = line.partition(b": ")
                self.headers[k.decode().lower()] = v.decode()
            self.body = body

        def getHeaders(self, negate: bool, *names: Any) -> dict[str, str]:
            if not names:
                return dict(self.headers)
            wanted = {n.lower() if isinstance(n, str) else n.decode().lower() for n in names}
            return {k: v for k, v in self.headers.items() if (k in wanted) != negate}

        def getBodyFile(self) -> Any:
            return io.BytesIO(self.body)

        def getSize(self) -> int:
            return len(self.raw)

        def isMultipart(self) -> bool:
            return False

        def getSubPart(self, part: int) -> Any:
            raise IndexError(part)

        def getUID(self) -> int:
            return self.uid

        def getFlags(self) -> list[str]:
            return []

        def getInternalDate(self) -> str:
            return "Mon, 1 Jan 2024 10:00:00 +0000"

    @implementer(imap4.IMailbox)
    class Mailbox:
        def __init__(self) -> None:
            self.messages = [Message(raw, i + 1) for i, raw in enumerate(MESSAGES)]

        def getFlags(self) -> list[str]:
            return ["\\Seen", "\\Deleted"]

        def getHierarchicalDelimiter(self) -> str:
            return "."

        def getUIDValidity(self) -> int:
            return 1

        def getUIDNext(self) -> int:
            return len(self.messages) + 1

        def getUID(self, message: int) -> int:
            return message

        def getMessageCount(self) -> int:
            return len(self.messages)

        def getRecentCount(self) -> int:
            return 0

        def getUnseenCount(self) -> int:
            return len(self.messages)

        def isWriteable(self) -> bool:
            return True

        def destroy(self) -> None:
            pass

        def requestStatus(self, names: Any) -> dict[str, int]:
            return {}

        def addListener(self, listener: Any) -> None:
            pass

        def removeListener(self, listener: Any) -> None:
            pass

        def addMessage(self, message: Any, flags: Any = (), date: Any = None) -> Any:
            raise NotImplementedError

        def expunge(self) -> list[int]:
            return []

        def fetch(self, messages: Any, uid: bool) -> Any:
            messages.last = len(self.messages)
            return [(n, self.messages[n - 1]) for n in messages]

        def store(self, messages: Any, flags: Any, mode: int, uid: bool) -> dict[int, Any]:
            return {}

    class Account(imap4.MemoryAccount):
        def _emptyMailbox(self, name: str, id: int) -> Any:
            return Mailbox()

    account = Account("bob")
    account.addMailbox("INBOX")

    @implementer(portal.IRealm)
    class Realm:
        def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
            return imap4.IAccount, account, lambda: None

    transport = _twistedTransport()
    server = imap4.IMAP4Server(scheduler=transport.scheduler)
    server.portal = portal.Portal(
        Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
    )
    server.makeConnection(transport)
    server.dataReceived(b"a LOGIN bob pw\r\nb SELECT INBOX\r\n")
    transport.settle()
    assert b"b OK" in transport.value(), transport.value()[-300:]
    transport.clear()
    return server, transport


def _imap(impl: str, command: bytes, expect: bytes) -> float:
    server, transport = _glistenImap() if impl == "glisten" else _twistedImap()

    def run() -> None:
        transport.clear()
        server.dataReceived(command)
        if impl == "twisted":
            transport.settle()
            if expect not in transport.value()[-200:]:
                # Twisted's SEARCH goes 5 messages per turn of the global reactor.
                from twisted.internet import reactor

                while expect not in transport.value()[-200:]:
                    reactor.iterate(0)  # type: ignore[attr-defined]
        assert expect in transport.value()[-200:], transport.value()[-300:]

    units = COUNT if b"SEARCH" not in command else 1
    return cpuRate(units, run)


def _pop3(impl: str) -> float:
    count = 1000
    msgs = MESSAGES[:count]
    if impl == "glisten":
        from zope.interface import implementer

        from glisten.cred import checkers, portal
        from glisten.internet.task import Clock
        from glisten.internet.testing import StringTransport
        from glisten.mail import maildir, pop3

        @implementer(portal.IRealm)
        class Realm:
            def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
                return pop3.IMailbox, maildir.StringListMailbox(msgs), lambda: None

        server = pop3.POP3()
        server.portal = portal.Portal(
            Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
        )
        server.authOverPlaintext = True
        server.clock = Clock()
    else:
        from twisted.cred import checkers, portal
        from twisted.mail import maildir, pop3
        from zope.interface import implementer

        @implementer(portal.IRealm)
        class Realm:  # type: ignore[no-redef]
            def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
                return pop3.IMailbox, maildir.StringListMailbox(msgs), lambda: None

        server = pop3.POP3()
        server.portal = portal.Portal(
            Realm(), [checkers.InMemoryUsernamePasswordDatabaseDontUse(bob=b"pw")]
        )
        transport = _twistedTransport()
        server.schedule = transport.scheduler
    if impl == "glisten":
        transport = StringTransport()
    server.makeConnection(transport)
    server.dataReceived(b"USER bob\r\nPASS pw\r\n")
    if impl == "twisted":
        transport.settle()
    assert b"+OK" in transport.value().splitlines()[-1], transport.value()
    command = b"".join(b"RETR %d\r\n" % (i + 1) for i in range(count))

    def run() -> None:
        transport.clear()
        server.dataReceived(command)
        if impl == "twisted":
            transport.settle()
        assert transport.value().count(b"\r\n.\r\n") == count, transport.value()[-200:]

    return cpuRate(count, run)


def _maildir(root: str, count: int) -> None:
    for sub in ("", "new", "cur", "tmp"):
        os.makedirs(os.path.join(root, sub), 0o777, exist_ok=True)
        os.chmod(os.path.join(root, sub), 0o777)
    for i, raw in enumerate(MESSAGES[:count]):
        path = os.path.join(root, "cur", "%d.M%dP1.bench:2," % (1700000000 + i, i))
        with open(path, "wb") as f:
            f.write(raw.replace(b"\r\n", b"\n"))
        os.chmod(path, 0o666)


def _fetchOverTCP(port: int, login: bytes) -> float:
    import socket
    import time

    best = 0.0
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(login + b"b SELECT INBOX\r\n")
            exists = b""
            while not (line := f.readline()).startswith(b"b "):
                if line.endswith(b" EXISTS\r\n"):
                    exists = line
            if exists != b"* %d EXISTS\r\n" % COUNT:
                raise RuntimeError(f"the mailbox was not served: {exists!r}")
            start = time.perf_counter()
            s.sendall(b"c FETCH 1:* (BODY.PEEK[HEADER])\r\n")
            while not (line := f.readline()).startswith(b"c "):
                pass
            if not line.startswith(b"c OK"):
                raise RuntimeError("FETCH failed")
            best = max(best, COUNT / (time.perf_counter() - start))
            s.sendall(b"d LOGOUT\r\n")
    return best


def _waitForPort(port: int, proc: Any) -> None:
    import socket
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen")


def _freePort() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _overTCP(impl: str) -> float:
    import shutil
    import subprocess
    import sys
    import tempfile

    folder = tempfile.mkdtemp(prefix="glisten-bench-imap-")
    os.chmod(folder, 0o755)
    port = _freePort()
    try:
        if impl == "glisten":
            from glisten.mail import maildir

            domain = os.path.join(folder, "example.com")
            maildir.MaildirDirdbmDomain(None, domain).addUser("bob", "pw")
            _maildir(os.path.join(domain, "bob"), COUNT)
            argv = [
                sys.executable, "-c", "from glisten.application.cli import main; main()",
                "mail", "--no-smtp", "--insecure-auth", "--maildirdbmdomain",
                f"example.com={domain}", "--imap", f"tcp:{port}:interface=127.0.0.1",
            ]  # fmt: skip
        else:
            binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin")
            if binary is None:
                raise RuntimeError("dovecot is not installed")
            for sub in ("run", "state", "mail"):
                os.makedirs(os.path.join(folder, sub), 0o777)
                os.chmod(os.path.join(folder, sub), 0o777)
            _maildir(os.path.join(folder, "mail", "bob"), COUNT)
            with open(os.path.join(folder, "passwd"), "w") as f:
                f.write("bob:{PLAIN}pw\n")
            config = os.path.join(folder, "dovecot.conf")
            with open(config, "w") as f:
                f.write(_DOVECOT.format(folder=folder, port=port))
            argv = [binary, "-F", "-c", config]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _waitForPort(port, proc)
            return _fetchOverTCP(port, b"a LOGIN bob pw\r\n")
        finally:
            proc.terminate()
            proc.wait(30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_DOVECOT = """protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
ssl = no
disable_plaintext_auth = no
log_path = /dev/null
default_internal_user = nobody
default_login_user = nobody
default_internal_group = nogroup
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


CASES = [
    Case(
        "IMAP FETCH 1:* (FLAGS UID RFC822.SIZE), 10k messages",
        lambda impl, n: _imap(impl, b"c FETCH 1:* (FLAGS UID RFC822.SIZE)\r\n", b"c OK"),
        selfTimed=True,
        unit=" msg/s",
    ),
    Case(
        "IMAP FETCH 1:* (BODY.PEEK[HEADER]), 10k messages",
        lambda impl, n: _imap(impl, b"c FETCH 1:* (BODY.PEEK[HEADER])\r\n", b"c OK"),
        selfTimed=True,
        unit=" msg/s",
    ),
    Case(
        "IMAP FETCH 1:* (BODY.PEEK[]), 10k messages of 2 KB",
        lambda impl, n: _imap(impl, b"c FETCH 1:* (BODY.PEEK[])\r\n", b"c OK"),
        selfTimed=True,
        unit=" msg/s",
    ),
    Case(
        "IMAP SEARCH LARGER, 10k messages",
        lambda impl, n: _imap(impl, b"c SEARCH UNSEEN LARGER 2180\r\n", b"c OK"),
        selfTimed=True,
        unit=" searches/s",
    ),
    # Twisted's SEARCH SUBJECT compares bytes with str on Python 3 and fails: glisten only.
    Case(
        "IMAP SEARCH SUBJECT, 10k messages",
        lambda impl, n: _imap(impl, b'c SEARCH SUBJECT "number 9999"\r\n', b"c OK"),
        impls=("glisten",),
        selfTimed=True,
        unit=" searches/s",
    ),
    Case(
        "POP3 RETR, 1k messages of 2 KB", lambda impl, n: _pop3(impl), selfTimed=True, unit=" msg/s"
    ),
    Case(
        "IMAP over TCP: FETCH 1:* (BODY.PEEK[HEADER]) of a 10k maildir",
        lambda impl, n: _overTCP(impl),
        impls=("glisten", "dovecot"),
        selfTimed=True,
        unit=" msg/s",
    ),
]

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(CASES)
