"""Modified UTF-7 mailbox names (RFC 3501 5.1.3): the codec, Twisted's ``imap4-utf-7``
codec, and non-ASCII folders through the server, the client and maildir storage."""

from __future__ import annotations

import codecs
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.mail import imap4, maildir
from glisten.mail._imap import MailboxNameError, decodeMailboxName, encodeMailboxName

from .test_imap4 import connect, say
from .test_imap_client import inMemoryPair, results

# RFC 3501 5.1.3's example, and names mail clients create.
VECTORS = [
    ("INBOX", b"INBOX"),
    ("&", b"&-"),
    ("a&b&", b"a&-b&-"),
    ("~peter/mail/台北/日本語", b"~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("Entwürfe", b"Entw&APw-rfe"),
    ("Éléments envoyés", b"&AMk-l&AOk-ments envoy&AOk-s"),
    ("😀", b"&2D3eAA-"),
    ("tab\there", b"tab&AAk-here"),
    ("", b""),
]


@pytest.mark.parametrize(("name", "wire"), VECTORS)
def test_known_names(name: str, wire: bytes) -> None:
    assert encodeMailboxName(name) == wire
    assert decodeMailboxName(wire) == name
    assert name.encode("imap4-utf-7") == wire
    assert wire.decode("imap4-utf-7") == name
    assert imap4.encoder(name) == (wire, len(name))
    assert imap4.decoder(wire) == (name, len(wire))


@pytest.mark.parametrize(
    "wire",
    [
        b"&Jjo",  # no terminating "-"
        b"&AGE-",  # "a" shifted: printable ASCII must stand for itself
        b"&AOk-&AOk-",  # two runs side by side: the canonical form is one run
        b"&AOl-",  # non-zero fill bits
        b"&AA-",  # an odd number of UTF-16 octets
        b"&A-",  # a truncated base64 quantum
        b"&2D3-",  # an unpaired high surrogate
        b"&3gA-",  # an unpaired low surrogate
        b"&AO=-",  # base64 padding is not modified base64
        b"&AO/-",  # "/" is "," in modified base64
        "Entwürfe".encode(),  # 8-bit
        b"a\x00b",
        b"a\r\nb",
    ],
)
def test_non_canonical_names_are_refused(wire: bytes) -> None:
    with pytest.raises(MailboxNameError) as caught:
        decodeMailboxName(wire)
    # The error never repeats the peer's octets.
    assert repr(wire)[2:-1] not in str(caught.value) or len(wire) < 3
    with pytest.raises(UnicodeDecodeError):
        wire.decode("imap4-utf-7")


def test_unpaired_surrogate_cannot_be_encoded() -> None:
    with pytest.raises(MailboxNameError):
        encodeMailboxName("a\ud800b")
    with pytest.raises(UnicodeEncodeError):
        "a\udc00".encode("imap4-utf-7")


def test_codec_lookup() -> None:
    info = codecs.lookup("IMAP4-UTF-7")
    assert info.name == "imap4-utf-7"
    assert imap4.imap4_utf_7("utf-8") is None


def test_decoding_is_linear() -> None:
    started = time.monotonic()
    for wire in (b"&" * 200_000, b"&-" * 100_000, b"&" + b"A" * 200_000, b"a-" * 100_000):
        try:
            decodeMailboxName(wire)
        except MailboxNameError:
            pass
    assert time.monotonic() - started < 5


_names = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(_names)
def test_round_trip(name: str) -> None:
    wire = encodeMailboxName(name)
    assert all(0x20 <= c <= 0x7E for c in wire)
    assert decodeMailboxName(wire) == name


_wireAlphabet = st.sampled_from(list(b"&-AOkZeVn2D3,+/=a ~\x00\xc3\xa9"))


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.binary(max_size=40), st.lists(_wireAlphabet, max_size=40).map(bytes)))
def test_any_octets_decode_canonically_or_raise(wire: bytes) -> None:
    try:
        name = decodeMailboxName(wire)
    except MailboxNameError:
        return
    # Whatever decodes is the one spelling of its name.
    assert encodeMailboxName(name) == wire


@settings(max_examples=200, deadline=None)
@given(_names.filter(bool), st.integers(0, 40))
def test_mutated_names_decode_canonically_or_raise(name: str, at: int) -> None:
    wire = encodeMailboxName(name)
    for mutated in (wire[:at] + wire[at + 1 :], wire[:at] + b"&" + wire[at:]):
        try:
            again = decodeMailboxName(mutated)
        except MailboxNameError:
            continue
        assert encodeMailboxName(again) == mutated


def test_server_folders_in_modified_utf7(tmp_path: Path) -> None:
    root = tmp_path / "bob"
    maildir.initializeMaildir(str(root))
    server, transport = connect(maildir.MaildirAccount(str(root)))
    out = say(server, transport, b"a LOGIN bob pw\r\nb CREATE Entw&APw-rfe.&ZeVnLIqe-\r\n")
    assert b"b OK" in out
    # Maildir++ folder names on disk are modified UTF-7, as Courier and Dovecot write them.
    assert (root / ".Entw&APw-rfe" / "cur").is_dir()
    assert (root / ".Entw&APw-rfe.&ZeVnLIqe-" / "cur").is_dir()
    out = say(
        server,
        transport,
        b'c LIST "" Entw&APw-rfe*\r\nd SUBSCRIBE Entw&APw-rfe\r\ne LSUB "" *\r\n'
        b"f SELECT Entw&APw-rfe.&ZeVnLIqe-\r\ng STATUS Entw&APw-rfe (MESSAGES)\r\n",
    )
    assert b'* LIST (\\HasChildren) "." Entw&APw-rfe\r\n' in out
    assert b'* LIST (\\HasNoChildren) "." Entw&APw-rfe.&ZeVnLIqe-\r\n' in out
    assert b'* LSUB (\\HasChildren) "." Entw&APw-rfe\r\n' in out
    assert b"f OK [READ-WRITE]" in out and b"* STATUS Entw&APw-rfe (MESSAGES 0)" in out
    # A name that is not modified UTF-7 is refused, never stored under a second spelling.
    out = say(
        server,
        transport,
        b'h CREATE &AGE-\r\ni CREATE Entw&APw-&AH8-\r\nj SELECT &AOk\r\nk LIST "" &AGE-*\r\n',
    )
    assert b"h NO" in out and b"i NO" in out and b"j NO" in out and b"k NO" in out
    # After ENABLE UTF8=ACCEPT the same folders are named in UTF-8 (RFC 6855).
    out = say(server, transport, 'l ENABLE UTF8=ACCEPT\r\nm LIST "" Entwü*\r\n'.encode())
    assert '* LIST (\\HasChildren) "." "Entwürfe"\r\n'.encode() in out
    assert '"Entwürfe.日本語"'.encode() in out


def test_memory_account_names_are_decoded() -> None:
    account = imap4.MemoryAccount()
    server, transport = connect(account)
    out = say(server, transport, b'a LOGIN bob pw\r\nb CREATE "&-\xc2"\r\nc CREATE Caf&AOk-\r\n')
    assert b"b NO" in out and b"c OK" in out
    assert account.select("Café") is not None


def test_client_names_non_ascii_folders() -> None:
    account = imap4.MemoryAccount()
    client, server, pump, _ = inMemoryPair(account)

    def run(d: Any) -> Any:
        pump.flush()
        return results(d)

    run(client.login(b"bob", b"pw"))
    run(client.create("Éléments envoyés"))
    run(client.create("R&D"))
    assert account.select("Éléments envoyés") is not None and account.select("R&D") is not None
    listed = run(client.list("", "*"))
    assert {n for _, _, n in listed} == {"INBOX", "Éléments envoyés", "R&D"}
    assert {n for _, _, n in run(client.list("", "Él*"))} == {"Éléments envoyés"}
    run(client.append("R&D", b"Subject: x\r\n\r\n"))
    assert run(client.status("R&D", "MESSAGES")) == {"MESSAGES": 1}
    assert run(client.select("Éléments envoyés"))["EXISTS"] == 0
    run(client.rename("R&D", "Réseau"))
    run(client.subscribe("Réseau"))
    assert {n for _, _, n in run(client.lsub("", "*"))} == {"Réseau"}
    run(client.logout())
