"""glisten.web.guard: Basic and Digest over glisten.cred, the 401 challenges, the header
parser, and urllib's digest client over a real socket."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zope.interface import implementer

from glisten.cred import error
from glisten.cred.checkers import AllowAnonymousAccess, InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.web._auth._challenge import AuthHeaderError, formatChallenge, parseParams
from glisten.web._auth.digest import calcHA1, calcHA2, calcResponse
from glisten.web.guard import (
    BasicCredentialFactory,
    DigestCredentialFactory,
    DigestedCredentials,
    HTTPAuthSessionWrapper,
)
from glisten.web.resource import IResource, Resource


class UserPage(Resource):
    def __init__(self, avatarId: Any) -> None:
        super().__init__()
        self.avatarId = avatarId
        self.putChild(b"child", ChildPage(avatarId))

    def getChild(self, path: bytes, request: Any) -> Any:
        # "/" reaches the root resource as the empty segment.
        return self if path == b"" else super().getChild(path, request)

    def render_GET(self, request: Any) -> bytes:
        who = b"anonymous" if self.avatarId == () else self.avatarId
        return b"hello " + who


class ChildPage(Resource):
    isLeaf = True

    def __init__(self, avatarId: Any) -> None:
        super().__init__()
        self.avatarId = avatarId

    def render_GET(self, request: Any) -> bytes:
        return b"child of " + self.avatarId + b" " + b"/".join(request.postpath)


@implementer(IRealm)
class Realm:
    def __init__(self) -> None:
        self.loggedOut: list[Any] = []

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        assert IResource in interfaces
        return IResource, UserPage(avatarId), lambda: self.loggedOut.append(avatarId)


def makeWrapper(anonymous: bool = False, clock: Callable[[], float] | None = None) -> Any:
    checkers: list[Any] = [InMemoryUsernamePasswordDatabaseDontUse(alice=b"s3cret")]
    if anonymous:
        checkers.append(AllowAnonymousAccess())
    realm = Realm()
    digest = (
        DigestCredentialFactory(b"md5", b"test realm", clock=clock)
        if clock
        else DigestCredentialFactory(b"md5", b"test realm")
    )
    wrapper = HTTPAuthSessionWrapper(
        Portal(realm, checkers), [BasicCredentialFactory(b"test realm"), digest]
    )
    return wrapper, realm, digest


def request(path: bytes, *headers: bytes) -> bytes:
    return b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, b"".join(h + b"\r\n" for h in headers))


def basic(user: bytes, password: bytes) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(user + b":" + password)


def split(data: bytes) -> tuple[bytes, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_noCredentialsGets401WithChallenges(connect: Callable[..., Any]) -> None:
    wrapper, _, _ = makeWrapper()
    head, body = split(connect(wrapper).send(request(b"/")))
    assert head.startswith(b"HTTP/1.1 401")
    challenges = [
        line.split(b": ", 1)[1]
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"www-authenticate")
    ]
    assert challenges[0] == b'Basic realm="test realm", charset="UTF-8"'
    assert challenges[1].startswith(b"Digest ")
    params = parseParams(challenges[1][len(b"Digest ") :])
    assert params[b"realm"] == b"test realm" and params[b"qop"] == b"auth"
    assert params[b"algorithm"] == b"MD5" and len(params[b"nonce"]) == 32
    assert body == b"Unauthorized"


def test_basicLogin(connect: Callable[..., Any]) -> None:
    wrapper, realm, _ = makeWrapper()
    conn = connect(wrapper)
    head, body = split(conn.send(request(b"/", basic(b"alice", b"s3cret"))))
    assert head.startswith(b"HTTP/1.1 200") and body == b"hello alice"
    assert realm.loggedOut == [b"alice"]
    head, body = split(conn.send(request(b"/child/a/b", basic(b"alice", b"s3cret"))))
    assert body == b"child of alice a/b"


@pytest.mark.parametrize(
    "header",
    [
        basic(b"alice", b"wrong"),
        basic(b"mallory", b"s3cret"),
        b"Authorization: Basic !!!notbase64",
        b"Authorization: Basic " + base64.b64encode(b"nocolon"),
        b"Authorization: Bearer abc",
        b'Authorization: Digest username="alice"',
    ],
)
def test_badCredentials401(header: bytes, connect: Callable[..., Any]) -> None:
    wrapper, _, _ = makeWrapper()
    head, _ = split(connect(wrapper).send(request(b"/", header)))
    assert head.startswith(b"HTTP/1.1 401")


def test_anonymousWhenAllowed(connect: Callable[..., Any]) -> None:
    wrapper, _, _ = makeWrapper(anonymous=True)
    _, body = split(connect(wrapper).send(request(b"/")))
    assert body == b"hello anonymous"


def digestHeader(
    challenge: dict[bytes, bytes],
    uri: bytes,
    password: bytes = b"s3cret",
    user: bytes = b"alice",
    method: bytes = b"GET",
    algorithm: bytes = b"md5",
) -> bytes:
    cnonce, nc = b"0a4f113b", b"00000001"
    ha1 = calcHA1(algorithm, user, challenge[b"realm"], password, challenge[b"nonce"], cnonce)
    ha2 = calcHA2(algorithm, method, uri)
    response = calcResponse(ha1, ha2, algorithm, challenge[b"nonce"], nc, cnonce, b"auth")
    return (
        b'Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
        b'response="%s", opaque="%s", qop=auth, nc=%s, cnonce="%s", algorithm=%s'
        % (
            user,
            challenge[b"realm"],
            challenge[b"nonce"],
            uri,
            response,
            challenge[b"opaque"],
            nc,
            cnonce,
            algorithm.upper(),
        )
    )


def getChallenge(conn: Any) -> dict[bytes, bytes]:
    head, _ = split(conn.send(request(b"/")))
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"www-authenticate: digest "):
            return parseParams(line[len(b"www-authenticate: digest ") :])
    raise AssertionError("no digest challenge")


def test_digestLogin(connect: Callable[..., Any]) -> None:
    wrapper, _, _ = makeWrapper()
    conn = connect(wrapper)
    challenge = getChallenge(conn)
    _, body = split(conn.send(request(b"/child/x", digestHeader(challenge, b"/child/x"))))
    assert body == b"child of alice x"


@pytest.mark.parametrize(
    "change",
    ["password", "uri", "opaque", "nonce", "realm", "algorithm"],
)
def test_digestRejects(change: str, connect: Callable[..., Any]) -> None:
    wrapper, _, _ = makeWrapper()
    conn = connect(wrapper)
    challenge = getChallenge(conn)
    kwargs: dict[str, Any] = {}
    uri = b"/"
    if change == "password":
        kwargs["password"] = b"wrong"
    elif change == "uri":
        uri = b"/other"
    elif change == "opaque":
        opaque = challenge[b"opaque"]
        # A different last character (one that is already "0" would change nothing).
        challenge[b"opaque"] = opaque[:-1] + (b"1" if opaque.endswith(b"0") else b"0")
    elif change == "nonce":
        challenge[b"nonce"] = b"f" * 32
    elif change == "realm":
        challenge[b"realm"] = b"other realm"
    else:
        kwargs["algorithm"] = b"sha-256"
    head, _ = split(conn.send(request(b"/", digestHeader(challenge, uri, **kwargs))))
    assert head.startswith(b"HTTP/1.1 401")


def test_digestChallengeExpires(connect: Callable[..., Any]) -> None:
    now = [1000.0]
    wrapper, _, factory = makeWrapper(clock=lambda: now[0])
    conn = connect(wrapper)
    challenge = getChallenge(conn)
    now[0] += factory.CHALLENGE_LIFETIME_SECS + 1
    head, _ = split(conn.send(request(b"/", digestHeader(challenge, b"/"))))
    assert head.startswith(b"HTTP/1.1 401")


def test_digestedCredentialsCheckHash() -> None:
    fields = {b"nonce": b"n", b"uri": b"/", b"algorithm": b"md5"}
    ha1 = calcHA1(b"md5", b"u", b"r", b"pw", b"n", b"")
    fields[b"response"] = calcResponse(
        ha1, calcHA2(b"md5", b"GET", b"/"), b"md5", b"n", None, None, None
    )
    creds = DigestedCredentials(b"u", b"GET", b"r", fields)
    assert creds.checkPassword(b"pw") and not creds.checkPassword(b"px")
    assert creds.checkHash(ha1) and not creds.checkHash(b"0" * 32)


def test_unsupportedAlgorithm() -> None:
    with pytest.raises(ValueError):
        DigestCredentialFactory(b"sha1", b"r")


# -- the parameter parser -------------------------------------------------------------------


def test_parseParams() -> None:
    assert parseParams(b'a=1, B="x,\\"y", c = "" ,') == {b"a": b"1", b"b": b'x,"y', b"c": b""}
    for bad in [b"a", b"a=", b'a="x', b"a=1 b=2", b"a=1, a=2", b'a="\r\n"', b"=1"]:
        with pytest.raises(AuthHeaderError):
            parseParams(bad)
    with pytest.raises(AuthHeaderError):
        parseParams(b", ".join(b"k%d=1" % i for i in range(100)))
    with pytest.raises(AuthHeaderError):
        parseParams(b"a=" + b"x" * 10000)


def test_parseParamsByteAtATimeEqualsWhole() -> None:
    """The parser sees whole headers; every prefix either parses or raises its own error."""
    whole = b'username="alice", nc=00000001, uri="/a?b=\\"c\\""'
    for i in range(len(whole) + 1):
        try:
            parseParams(whole[:i])
        except AuthHeaderError:
            pass
    assert parseParams(whole)[b"uri"] == b'/a?b="c"'


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_parseParamsFuzz(data: bytes) -> None:
    try:
        parseParams(data)
    except AuthHeaderError as e:
        # Short inputs may be words of the fixed message by chance ("expe" in "expected").
        assert data not in str(e).encode("latin-1") or len(data) < 12


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["realm", "nonce", "x"]),
        st.binary(max_size=30).filter(lambda b: all(c >= 0x20 and c != 0x7F for c in b)),
    )
)
def test_challengeRoundTrip(params: dict[str, bytes]) -> None:
    header = formatChallenge(b"Digest", dict(params))
    assert parseParams(header[len(b"Digest ") :]) == {k.encode(): v for k, v in params.items()}


def test_challengeRefusesLineBreaks() -> None:
    with pytest.raises(ValueError):
        formatChallenge(b"Basic", {"realm": b"a\r\nSet-Cookie: x=1"})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_digestDecodeFuzz(data: bytes) -> None:
    class FakeRequest:
        uri = b"/"
        method = b"GET"

        def getClientIP(self) -> str:
            return "127.0.0.1"

    try:
        DigestCredentialFactory(b"md5", b"r").decode(data, FakeRequest())  # type: ignore[arg-type]
    except error.LoginFailed:
        pass


# -- a real client ---------------------------------------------------------------------------


def test_urllibDigestClient(serveReal: Callable[..., Any]) -> None:
    # urllib reads only the first WWW-Authenticate header: offer Digest alone.
    wrapper = HTTPAuthSessionWrapper(
        Portal(Realm(), [InMemoryUsernamePasswordDatabaseDontUse(alice=b"s3cret")]),
        [DigestCredentialFactory(b"md5", b"test realm")],
    )

    def client(port: int) -> tuple[bytes, int]:
        url = f"http://127.0.0.1:{port}/child/q"
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, url, "alice", "s3cret")
        opener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(manager))
        body = opener.open(url, timeout=10).read()
        bad = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        bad.add_password(None, url, "alice", "nope")
        badOpener = urllib.request.build_opener(urllib.request.HTTPDigestAuthHandler(bad))
        try:
            badOpener.open(url, timeout=10)
        except urllib.error.HTTPError as e:
            return body, e.code
        return body, 200

    body, badStatus = serveReal(wrapper, client)
    assert body == b"child of alice q"
    assert badStatus == 401
