"""Sessions with curl's cookie jar: ``Request.getSession`` hands out an ``HttpOnly``,
``SameSite=Lax`` cookie (``Secure`` and a separate one over TLS), and a component stored per
session (Twisted's session howto) is found again on the next request."""

from __future__ import annotations

from pathlib import Path

import pytest

from .._peers import requireBinary
from ._glistenweb import curl, glistenWeb

pytestmark = pytest.mark.interop

APP = """
from zope.interface import Attribute, Interface, implementer
from glisten.python.components import registerAdapter
from glisten.web.resource import Resource
from glisten.web.server import Session


class ICounter(Interface):
    value = Attribute("views in this session")


@implementer(ICounter)
class Counter:
    def __init__(self, session):
        self.value = 0


registerAdapter(Counter, Session, ICounter)


class Root(Resource):
    isLeaf = True

    def render_GET(self, request):
        counter = ICounter(request.getSession())
        counter.value += 1
        return b"view %d" % counter.value
"""


def test_curlCookieJarKeepsTheSession(tmp_path: Path) -> None:
    requireBinary("curl")
    (tmp_path / "sessionapp.py").write_text(APP)
    jar = str(tmp_path / "jar.txt")
    other = str(tmp_path / "other.txt")
    with glistenWeb(tmp_path, "--class", "sessionapp.Root") as url:
        headers = curl("-D", "-", "-o", "/dev/null", "-c", jar, url + "/")
        cookie = [h for h in headers.splitlines() if h.lower().startswith("set-cookie:")]
        assert len(cookie) == 1
        assert "HttpOnly" in cookie[0] and "SameSite=Lax" in cookie[0]
        assert "Secure" not in cookie[0] and "Path=/" in cookie[0]
        assert curl("-b", jar, "-c", jar, url + "/") == "view 2"
        assert curl("-b", jar, "-c", jar, url + "/") == "view 3"
        # Another client (another jar) has its own session.
        assert curl("-b", other, "-c", other, url + "/") == "view 1"
        # A made-up session id is not adopted: the client gets a fresh session.
        assert curl("-b", "GLISTEN_SESSION=forged", url + "/") == "view 1"
