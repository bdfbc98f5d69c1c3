"""JIDs (RFC 7622 with PRECIS), stream and stanza errors, and the SASL mechanisms."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glisten.words.protocols.jabber import error, jid, sasl_mechanisms, xmpp_stringprep
from glisten.words.xish import domish


class TestJID:
    @pytest.mark.parametrize(
        ("text", "parts"),
        [
            ("juliet@example.com", ("juliet", "example.com", None)),
            ("JULIET@EXAMPLE.COM/Balcony", ("juliet", "example.com", "Balcony")),
            ("example.com", (None, "example.com", None)),
            ("example.com/foo@bar", (None, "example.com", "foo@bar")),
            ("juliet@example.com./a/b", ("juliet", "example.com", "a/b")),
            ("ｊｕｌｉｅｔ@münchen.example", ("juliet", "münchen.example", None)),
            ("x@xn--mnchen-3ya.example", ("x", "münchen.example", None)),
            ("romeo@[::1]/r", ("romeo", "[::1]", "r")),
            ("el@127.0.0.1", ("el", "127.0.0.1", None)),
            ("user@example.com/\u2003spaced", ("user", "example.com", " spaced")),
            ("πβ@example.com/♚", ("πβ", "example.com", "♚")),
        ],
    )
    def test_valid(self, text: str, parts: tuple[str | None, str, str | None]) -> None:
        assert jid.parse(text) == parts
        assert (j := jid.JID(text)).user == parts[0] and j.resource == parts[2]

    @pytest.mark.parametrize(
        ("text", "rule"),
        [
            ("@example.com", "localpart is empty"),
            ("juliet@", "domainpart is empty"),
            ("juliet@example.com/", "resourcepart is empty"),
            ("a b@example.com", "localpart contains a disallowed character"),
            ("a'b@example.com", "localpart contains a disallowed character"),
            ("a\u2665@example.com", "localpart contains a disallowed character"),
            ("a\u200d@example.com", "localpart contains a disallowed character"),
            ("a@example.com/\x07", "resourcepart contains a disallowed character"),
            ("a@exa mple.com", "domainpart is not a valid domain name"),
            ("a@-bad.com", "domainpart is not a valid domain name"),
            ("a@[not-ipv6]", "not a valid IPv6 literal"),
            ("x" * 1024 + "@example.com", "longer than 1023 bytes"),
            ("x@example.com/" + "r" * 1024, "longer than 1023 bytes"),
        ],
    )
    def test_invalid(self, text: str, rule: str) -> None:
        with pytest.raises(jid.InvalidFormat) as info:
            jid.JID(text)
        assert rule in str(info.value)

    def test_forms_and_equality(self) -> None:
        full = jid.JID("User@Example.com/Home")
        assert full.full() == "user@example.com/Home"
        assert full.userhost() == "user@example.com"
        assert full.userhostJID() == jid.JID("user@example.com")
        assert full == jid.JID(tuple=("USER", "example.COM", "Home"))
        assert full != jid.JID("user@example.com/home")
        assert len({full, jid.JID("user@example.com/Home")}) == 1
        assert str(full) == full.full() and "Home" in repr(full)
        assert jid.internJID("a@b") is jid.internJID("a@b")
        with pytest.raises(RuntimeError):
            jid.JID()

    def test_stringprep_names(self) -> None:
        assert xmpp_stringprep.nodeprep.prepare("Juliet") == "juliet"
        assert xmpp_stringprep.nameprep.prepare("EXAMPLE.com") == "example.com"
        assert xmpp_stringprep.resourceprep.prepare("Res") == "Res"
        with pytest.raises(UnicodeError):
            xmpp_stringprep.nodeprep.prepare("a@b")

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=60))
    def test_random_text_only_raises_invalid_format(self, text: str) -> None:
        try:
            parsed = jid.JID(text)
        except jid.InvalidFormat:
            return
        # A valid JID's canonical form is stable.
        assert jid.JID(parsed.full()) == parsed


class TestErrors:
    def test_stanza_error_round_trip(self) -> None:
        request = domish.Element(("jabber:client", "iq"))
        request["from"], request["to"], request["id"] = "a@b/c", "d@e", "1"
        request.addElement(("urn:q", "query"))
        exc = error.StanzaError("item-not-found", text="gone")
        reply = exc.toResponse(request)
        assert (reply["to"], reply["from"], reply["id"], reply["type"]) == (
            "a@b/c",
            "d@e",
            "1",
            "error",
        )
        parsed = domish.parseText(reply.toXml(defaultUri="jabber:client"))
        back = error.exceptionFromStanza(parsed)
        assert (back.condition, back.type, back.text) == ("item-not-found", "cancel", "gone")
        assert back.code == "404"
        assert [c.name for c in back.children] == ["query"]

    def test_legacy_code(self) -> None:
        stanza = domish.parseText(
            "<iq xmlns='jabber:client' type='error'><error code='404'>Not Found</error></iq>"
        )
        exc = error.exceptionFromStanza(stanza)
        assert exc.condition == "item-not-found"

    def test_stream_error(self) -> None:
        element = error.StreamError("host-unknown", text="no").getElement()
        xml = element.toXml(
            prefixes={"http://etherx.jabber.org/streams": "stream"},
            defaultUri="jabber:client",
            prefixesInScope=["stream"],
        )
        assert xml == (
            "<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no</text></stream:error>"
        )
        received = domish.parseText(
            "<e xmlns='http://etherx.jabber.org/streams'>"
            "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></e>"
        )
        exc = error.exceptionFromStreamError(received)
        assert exc.condition == "conflict" and "conflict" in str(exc)


class TestMechanisms:
    def test_plain_and_anonymous(self) -> None:
        assert sasl_mechanisms.Plain(None, "juliet", "pw").getInitialResponse() == b"\0juliet\0pw"
        assert sasl_mechanisms.Anonymous().getInitialResponse() is None

    def test_scram_sha1_rfc5802_vector(self) -> None:
        scram = sasl_mechanisms.ScramSHA1(None, "user", "pencil", nonce="fyko+d2lbbFgONRv9qkxdawL")
        assert scram.name == "SCRAM-SHA-1"
        assert scram.getInitialResponse() == b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
        final = scram.getResponse(
            b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
        )
        assert final == (
            b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        )
        scram.verifySuccess(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")

    def test_scram_sha256_rfc7677_vector(self) -> None:
        scram = sasl_mechanisms.ScramSHA256(None, "user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
        assert scram.getInitialResponse() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        final = scram.getResponse(
            b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        )
        assert final == (
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
            b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        )
        # The server-final message may also come as a challenge.
        assert scram.getResponse(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=") == b""
        scram.verifySuccess(None)

    def test_scram_plus_binds_the_certificate(self) -> None:
        scram = sasl_mechanisms.ScramSHA256(
            None, "user", "pencil", channelBinding=("tls-server-end-point", b"\x01\x02"), nonce="n"
        )
        assert scram.name == "SCRAM-SHA-256-PLUS"
        assert scram.getInitialResponse() == b"p=tls-server-end-point,,n=user,r=n"
        final = scram.getResponse(b"r=nX,s=c2FsdA==,i=1")
        assert final is not None
        binding = base64.b64decode(final.split(b",")[0][2:])
        assert binding == b"p=tls-server-end-point,,\x01\x02"
        withY = sasl_mechanisms.ScramSHA1(None, "a,b=c", "pw", bindingSupported=True, nonce="n")
        assert withY.getInitialResponse() == b"y,,n=a=2Cb=3Dc,r=n"

    @pytest.mark.parametrize(
        "serverFirst",
        [
            b"r=other,s=c2FsdA==,i=4096",  # nonce not extending the client's
            b"r=n,s=c2FsdA==,i=4096",  # nonce not extended at all
            b"r=nX,s=!!,i=4096",  # bad salt
            b"r=nX,s=c2FsdA==,i=0",
            b"r=nX,s=c2FsdA==,i=999999999",  # would burn minutes
            b"m=ext,r=nX,s=c2FsdA==,i=1",
            b"garbage",
            b"\xff\xfe",
        ],
    )
    def test_scram_refuses_bad_server_first(self, serverFirst: bytes) -> None:
        scram = sasl_mechanisms.ScramSHA1(None, "user", "pw", nonce="n")
        scram.getInitialResponse()
        with pytest.raises(sasl_mechanisms.SASLMechanismError) as info:
            scram.getResponse(serverFirst)
        assert "other" not in str(info.value)

    @pytest.mark.parametrize("serverFinal", [None, b"v=AAAA", b"e=invalid-proof", b"v=!!"])
    def test_scram_requires_the_server_proof(self, serverFinal: bytes | None) -> None:
        scram = sasl_mechanisms.ScramSHA1(None, "user", "pencil", nonce="fyko+d2lbbFgONRv9qkxdawL")
        scram.getInitialResponse()
        scram.getResponse(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
        with pytest.raises(sasl_mechanisms.SASLMechanismError):
            scram.verifySuccess(serverFinal)

    def test_tls_server_end_point(self) -> None:
        # A skeleton certificate: SEQUENCE { tbs SEQUENCE {}, alg SEQUENCE { OID }, BIT STRING }
        def certificate(oid: bytes) -> bytes:
            alg = b"\x30" + bytes([len(oid) + 2]) + b"\x06" + bytes([len(oid)]) + oid
            body = b"\x30\x00" + alg + b"\x03\x01\x00"
            return b"\x30" + bytes([len(body)]) + body

        sha384WithRSA = bytes.fromhex("2a864886f70d01010c")
        sha1WithRSA = bytes.fromhex("2a864886f70d010105")
        ed25519 = bytes.fromhex("2b6570")
        cert = certificate(sha384WithRSA)
        assert sasl_mechanisms.tlsServerEndPoint(cert) == hashlib.sha384(cert).digest()
        cert = certificate(sha1WithRSA)
        assert sasl_mechanisms.tlsServerEndPoint(cert) == hashlib.sha256(cert).digest()
        assert sasl_mechanisms.tlsServerEndPoint(certificate(ed25519)) is None
        assert sasl_mechanisms.tlsServerEndPoint(b"\x30\x05\x01") is None
        assert sasl_mechanisms.tlsServerEndPoint(b"") is None

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=80), st.binary(max_size=80))
    def test_random_server_messages(self, first: bytes, final: bytes) -> None:
        scram = sasl_mechanisms.ScramSHA1(None, "user", "pw", nonce="n")
        scram.getInitialResponse()
        try:
            scram.getResponse(first)
            scram.verifySuccess(final)
        except sasl_mechanisms.SASLMechanismError:
            return
        # Only a server that knows the password gets here; random bytes never do.
        pytest.fail("random server messages were accepted")


class TestDigestMD5:
    # RFC 2831 section 4: the example exchange (an IMAP login; the same computation as XMPP's).
    CHALLENGE = (
        b'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",'
        b"algorithm=md5-sess,charset=utf-8"
    )

    def mechanism(self) -> sasl_mechanisms.DigestMD5:
        return sasl_mechanisms.DigestMD5(
            "imap", "elwood.innosoft.com", None, "chris", "secret", cnonce="OA6MHXh6VqTrRk"
        )

    def test_rfc2831_example(self) -> None:
        m = self.mechanism()
        assert m.getInitialResponse() is None
        response = m.getResponse(self.CHALLENGE)
        assert response == (
            b'username="chris",realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",'
            b'cnonce="OA6MHXh6VqTrRk",nc=00000001,qop=auth,'
            b'digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,'
            b"charset=utf-8"
        )
        assert m.getResponse(b"rspauth=ea40f60335c427b5527b84dbabcdfffd") == b""
        m.verifySuccess(None)  # already proven by the last challenge

    def test_rspauth_with_success(self) -> None:
        m = self.mechanism()
        m.getResponse(self.CHALLENGE)
        m.verifySuccess(b"rspauth=ea40f60335c427b5527b84dbabcdfffd")

    @pytest.mark.parametrize("final", [None, b"", b"rspauth=00000000000000000000000000000000"])
    def test_server_must_prove_the_password(self, final: bytes | None) -> None:
        m = self.mechanism()
        m.getResponse(self.CHALLENGE)
        with pytest.raises(sasl_mechanisms.SASLMechanismError):
            m.verifySuccess(final)

    def test_without_charset_the_password_is_latin1(self) -> None:
        m = sasl_mechanisms.DigestMD5("xmpp", "example.com", None, "jürgen", "pässword", "c")
        response = m.getResponse(b'nonce="n",qop="auth",algorithm=md5-sess')
        assert b'username="j\xfcrgen"' in response and b"charset" not in response
        assert b'realm="example.com"' in response and b'digest-uri="xmpp/example.com"' in response
        with pytest.raises(sasl_mechanisms.SASLMechanismError):
            sasl_mechanisms.DigestMD5("xmpp", "example.com", None, "☃", "x").getResponse(
                b'nonce="n",algorithm=md5-sess'
            )

    def test_quoted_values_and_escapes(self) -> None:
        m = sasl_mechanisms.DigestMD5("xmpp", "h", "svc", 'a"b', "pw", cnonce="c")
        response = m.getResponse(
            b'realm="r\\"1", nonce="n,1" ,qop="auth,auth-int",algorithm=md5-sess'
        )
        assert b'username="a\\"b",realm="r\\"1",nonce="n,1"' in response
        assert b'digest-uri="xmpp/h/svc"' in response

    @pytest.mark.parametrize(
        "challenge",
        [
            b'realm="x"',  # no nonce
            b'nonce="a",nonce="b",algorithm=md5-sess',
            b'nonce="a",qop="auth-conf",algorithm=md5-sess',
            b'nonce="a"',  # no algorithm
            b'nonce="unterminated,algorithm=md5-sess',
            b"nonce",
            b"\xff\xfe",
            b",".join([b"x=1"] * 40),
        ],
    )
    def test_bad_challenges(self, challenge: bytes) -> None:
        with pytest.raises(sasl_mechanisms.SASLMechanismError) as e:
            self.mechanism().getResponse(challenge)
        assert "nonce=" not in str(e.value)

    def test_second_challenge_without_rspauth(self) -> None:
        m = self.mechanism()
        m.getResponse(self.CHALLENGE)
        with pytest.raises(sasl_mechanisms.SASLMechanismError):
            m.getResponse(self.CHALLENGE)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200), st.binary(max_size=80))
    def test_random_challenges_raise_only_mechanism_errors(
        self, first: bytes, second: bytes
    ) -> None:
        m = self.mechanism()
        for data in (first, self.CHALLENGE + first, second):
            try:
                m.getResponse(data)
            except sasl_mechanisms.SASLMechanismError:
                pass
        try:
            m.verifySuccess(second)
        except sasl_mechanisms.SASLMechanismError:
            pass
