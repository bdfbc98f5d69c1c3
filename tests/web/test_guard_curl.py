"""glisten.web.guard against curl's --basic, --digest and --anyauth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .._peers import requireBinary
from ._glistenweb import curl, glistenWeb

pytestmark = pytest.mark.interop

APP = """
from zope.interface import implementer
from glisten.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from glisten.cred.portal import IRealm, Portal
from glisten.web.guard import BasicCredentialFactory, DigestCredentialFactory, HTTPAuthSessionWrapper
from glisten.web.resource import IResource, Resource


class Secret(Resource):
    isLeaf = True

    def __init__(self, user):
        super().__init__()
        self.user = user

    def render_GET(self, request):
        return b"secret for " + self.user + b" at " + request.uri


@implementer(IRealm)
class Realm:
    def requestAvatar(self, avatarId, mind, *interfaces):
        return IResource, Secret(avatarId), lambda: None


def portal():
    return Portal(Realm(), [InMemoryUsernamePasswordDatabaseDontUse(alice=b"w0nderland")])


class Basic(HTTPAuthSessionWrapper):
    def __init__(self):
        super().__init__(portal(), [BasicCredentialFactory(b"curl test")])


class Digest(HTTPAuthSessionWrapper):
    def __init__(self):
        super().__init__(portal(), [DigestCredentialFactory(b"md5", b"curl test")])


class DigestSHA256(HTTPAuthSessionWrapper):
    def __init__(self):
        super().__init__(portal(), [DigestCredentialFactory(b"sha-256", b"curl test")])
"""


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "guardapp.py").write_text(APP)
    yield tmp_path


def curlStatus(*args: str) -> tuple[str, str]:
    """The status code curl saw, and the body."""
    body, _, status = curl("-w", "\n%{http_code}", *args).rpartition("\n")
    return status, body


@pytest.mark.parametrize(
    ("cls", "flag"),
    [("Basic", "--basic"), ("Digest", "--digest"), ("DigestSHA256", "--digest")],
)
def test_curlAuth(app: Path, cls: str, flag: str) -> None:
    requireBinary("curl")
    with glistenWeb(app, "--class", f"guardapp.{cls}") as url:
        status, body = curlStatus(flag, "-u", "alice:w0nderland", url + "/deep/path?q=1")
        assert (status, body) == ("200", "secret for alice at /deep/path?q=1")
        status, _ = curlStatus(flag, "-u", "alice:wrong", url + "/deep/path")
        assert status == "401"
        status, _ = curlStatus(url + "/deep/path")
        assert status == "401"
        status, body = curlStatus("--anyauth", "-u", "alice:w0nderland", url + "/x")
        assert (status, body) == ("200", "secret for alice at /x")
