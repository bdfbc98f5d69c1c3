"""Sessions: cookie flags over plain HTTP and TLS, components kept per session (Twisted's
Componentized), expiry callbacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zope.interface import Attribute, Interface, implementer

from glisten.internet.task import Clock
from glisten.python.components import registerAdapter
from glisten.web import server
from glisten.web.resource import Resource


class IVisits(Interface):
    count = Attribute("views in this session")


@implementer(IVisits)
class Visits:
    def __init__(self, session: server.Session) -> None:
        self.count = 0


registerAdapter(Visits, server.Session, IVisits)


class Page(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        if request.args.get(b"tls"):
            request.setHost(b"example.com", 443, ssl=True)
        visits = IVisits(request.getSession())
        visits.count += 1
        return b"%d" % visits.count


def cookies(response: bytes) -> list[bytes]:
    head = response.partition(b"\r\n\r\n")[0]
    return [line[12:] for line in head.split(b"\r\n") if line.lower().startswith(b"set-cookie: ")]


def body(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


GET = b"GET %s HTTP/1.1\r\nHost: example.com\r\n%s\r\n"


def test_componentsPerSession(connect: Callable[..., Any]) -> None:
    conn = connect(Page())
    first = conn.send(GET % (b"/", b""))
    (cookie,) = cookies(first)
    assert cookie.startswith(b"GLISTEN_SESSION=")
    assert b"; HttpOnly" in cookie and b"; SameSite=Lax" in cookie and b"Secure" not in cookie
    sent = b"Cookie: " + cookie.split(b";")[0] + b"\r\n"
    assert body(conn.send(GET % (b"/", sent))) == b"2"
    assert body(conn.send(GET % (b"/", sent))) == b"3"
    assert body(conn.send(GET % (b"/", b""))) == b"1"


def test_tlsSessionIsSecureAndSeparate(connect: Callable[..., Any]) -> None:
    conn = connect(Page())
    plain = cookies(conn.send(GET % (b"/", b"")))[0]
    response = conn.send(GET % (b"/?tls=1", b"Cookie: " + plain.split(b";")[0] + b"\r\n"))
    (secure,) = cookies(response)
    assert secure.startswith(b"GLISTEN_SECURE_SESSION=") and b"; Secure" in secure
    # The plain-HTTP session is not used over TLS (it may have travelled in the clear).
    assert body(response) == b"1"


def test_expiry(connect: Callable[..., Any], clock: Clock) -> None:
    conn = connect(Page())
    conn.send(GET % (b"/", b""))
    (session,) = conn.site.sessions.values()
    expired: list[bool] = []
    session.notifyOnExpire(lambda: expired.append(True))
    clock.advance(server.Session.sessionTimeout - 1)
    session.touch()
    clock.advance(server.Session.sessionTimeout - 1)
    assert not expired and session.uid in conn.site.sessions
    clock.advance(2)
    assert expired == [True] and not conn.site.sessions
