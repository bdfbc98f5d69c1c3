"""A high-level client in the spirit of treq: :class:`HTTPClient` and the module functions
``get``, ``post``, ... of :mod:`glisten.web.client`.

::

    from glisten.web import client

    response = await client.get("https://example.com/", params={"q": "x"}, timeout=10)
    print(response.code, await response.text())

    http = client.HTTPClient(reactor=reactor)
    d = http.post(url, json={"a": 1})          # a Deferred: callbacks work as well as await
    d.addCallback(lambda r: r.json())

Every call returns a ``Deferred`` that fires with a :class:`HTTPResponse` once the response
head arrived; its body is read with :meth:`HTTPResponse.content`, :meth:`~HTTPResponse.text`
or :meth:`~HTTPResponse.json` (read once, kept), or streamed with :func:`collect`.
"""

from __future__ import annotations

import base64
import json as _json
import mimetypes
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.cookiejar import Cookie, CookieJar
from typing import IO, Any
from urllib.parse import urlencode

from zope.interface import implementer

from glisten.internet import task
from glisten.internet.defer import CancelledError, Deferred, TimeoutError
from glisten.internet.error import ConnectingCancelledError
from glisten.internet.main import getReactor
from glisten.internet.protocol import Protocol
from glisten.python.failure import Failure
from glisten.web._clientpool import HTTPConnectionPool
from glisten.web._clientwrappers import (
    BrowserLikeRedirectAgent,
    ContentDecoderAgent,
    CookieAgent,
    DeflateDecoder,
    GzipDecoder,
    RedirectAgent,
    _optionalDecoders,
)
from glisten.web._newclient import RESPONSE_DONE, PotentialDataLoss, ResponseDone, fileLength
from glisten.web.http_headers import Headers
from glisten.web.iweb import UNKNOWN_LENGTH, IAgent, IBodyProducer, IResponse

_NOTHING = object()
#: The codings the client asks for: gzip and deflate, and brotli and zstd when installed.
_DECODERS: list[tuple[bytes, Any]] = [
    (b"gzip", GzipDecoder),
    (b"deflate", DeflateDecoder),
    *_optionalDecoders(),
]
Params = Mapping[str, Any] | Iterable[tuple[str, Any]]


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _pairs(params: Params) -> list[tuple[str, str]]:
    items = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for name, value in items:
        values = value if isinstance(value, (list, tuple)) else [value]
        out.extend(
            (_text(name), _text(v) if isinstance(v, (str, bytes)) else str(v)) for v in values
        )
    return out


@implementer(IBodyProducer)
class _PartsProducer:
    """A body made of byte strings and files, read a piece at a time (multipart uploads)."""

    def __init__(self, parts: list[bytes | IO[bytes]], cooperator: Any = None) -> None:
        self._parts = parts
        self._cooperate = (task if cooperator is None else cooperator).cooperate
        self._task: Any = None
        self.length: int | object = 0
        for part in parts:
            size = len(part) if isinstance(part, bytes) else fileLength(part)
            if size is UNKNOWN_LENGTH:
                self.length = UNKNOWN_LENGTH
                break
            self.length = int(self.length) + int(size)  # type: ignore[call-overload]

    def _pieces(self, consumer: Any) -> Iterator[None]:
        for part in self._parts:
            if isinstance(part, bytes):
                consumer.write(part)
                yield None
                continue
            while data := part.read(65536):
                consumer.write(data)
                yield None

    def startProducing(self, consumer: Any) -> Deferred[None]:
        self._task = self._cooperate(self._pieces(consumer))
        d: Deferred[Any] = self._task.whenDone()
        return d.addCallback(lambda _: None)

    def pauseProducing(self) -> None:
        self._task.pause()

    def resumeProducing(self) -> None:
        self._task.resume()

    def stopProducing(self) -> None:
        try:
            self._task.stop()
        except task.TaskFinished:
            pass


def _multipart(
    fields: list[tuple[str, str]], files: Mapping[str, Any], cooperator: Any
) -> tuple[bytes, _PartsProducer]:
    """A ``multipart/form-data`` body (RFC 7578): its content type and a producer."""
    boundary = uuid.uuid4().hex.encode("ascii")
    parts: list[bytes | IO[bytes]] = []

    def quoted(value: str) -> bytes:
        return value.replace("\\", "\\\\").replace('"', '\\"').encode("utf-8")

    for name, value in fields:
        parts.append(
            b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (boundary, quoted(name), value.encode("utf-8"))
        )
    for name, spec in files.items():
        contentType: str | None = None
        if isinstance(spec, tuple):
            if len(spec) == 2:
                filename, fileObj = spec
            else:
                filename, contentType, fileObj = spec
        else:
            fileObj = spec
            filename = os.path.basename(str(getattr(spec, "name", name) or name))
        if contentType is None:
            contentType = mimetypes.guess_type(str(filename))[0] or "application/octet-stream"
        if isinstance(fileObj, (bytes, str)):
            fileObj = _bytes(fileObj)
        head = (
            b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            b"Content-Type: %s\r\n\r\n"
            % (boundary, quoted(name), quoted(str(filename)), contentType.encode("ascii"))
        )
        parts.extend([head, fileObj, b"\r\n"])
    parts.append(b"--%s--\r\n" % boundary)
    return b"multipart/form-data; boundary=" + boundary, _PartsProducer(parts, cooperator)


class _Collector(Protocol):
    def __init__(self, callback: Callable[[bytes], object], finished: Deferred[None]) -> None:
        self._callback = callback
        self._finished = finished

    def dataReceived(self, data: bytes) -> None:
        try:
            self._callback(data)
        except Exception:
            self._finished.errback(Failure())
            self.transport.stopProducing()

    def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
        if self._finished.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            # A body read to the close of the connection is taken as complete, as treq does.
            self._finished.callback(None)
        else:
            self._finished.errback(reason)


def collect(response: IResponse, collector: Callable[[bytes], object]) -> Deferred[None]:
    """Stream the body of ``response`` to ``collector``, a piece at a time.

    :return: Fires when the body is complete; fails if it is cut short or ``collector``
        raises (which stops the body).
    """
    finished: Deferred[None] = Deferred()
    response.deliverBody(_Collector(collector, finished))
    return finished


class HTTPResponse:
    """A response, with its body one call away.

    :ivar original: The :class:`glisten.web.iweb.IResponse` it wraps; ``code``,
        ``phrase``, ``headers``, ``length``, ``version`` and ``request`` are its.
    """

    def __init__(self, original: IResponse, cookiejar: CookieJar) -> None:
        self.original = original
        self._cookiejar = cookiejar
        self._body: Deferred[bytes] | None = None
        self._waiting: list[Deferred[bytes]] = []
        self._result: bytes | Failure | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)

    def deliverBody(self, protocol: Any) -> None:
        """Deliver the raw body to ``protocol``, as :class:`IResponse` does."""
        self.original.deliverBody(protocol)

    def content(self) -> Deferred[bytes]:
        """The whole body (read once; later calls get the same bytes)."""
        if self._result is None and not self._waiting:
            pieces: list[bytes] = []
            d = collect(self.original, pieces.append)
            d.addCallbacks(lambda _: self._settle(b"".join(pieces)), self._settle)
        mine: Deferred[bytes] = Deferred()
        if self._result is None:
            self._waiting.append(mine)
        else:
            self._fire(mine, self._result)
        return mine

    def _settle(self, result: bytes | Failure) -> None:
        self._result = result
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            self._fire(d, result)

    @staticmethod
    def _fire(d: Deferred[bytes], result: bytes | Failure) -> None:
        if isinstance(result, Failure):
            d.errback(result)
        else:
            d.callback(result)

    def text(self, encoding: str | None = None) -> Deferred[str]:
        """The body as text, in ``encoding``, else the charset of its ``Content-Type``,
        else UTF-8 (with replacement characters for bad bytes)."""
        if encoding is None:
            encoding = "utf-8"
            for value in self.original.headers.getRawHeaders(b"content-type", []):
                for param in value.split(b";")[1:]:
                    key, _, charset = param.strip().partition(b"=")
                    if key.lower() == b"charset" and charset:
                        encoding = charset.strip(b"\"'").decode("ascii", "replace")
        chosen = encoding
        return self.content().addCallback(lambda body: body.decode(chosen, "replace"))

    def json(self, **kwargs: Any) -> Deferred[Any]:
        """The body parsed as JSON (``kwargs`` go to :func:`json.loads`)."""
        return self.content().addCallback(lambda body: _json.loads(body, **kwargs))

    def history(self) -> list[HTTPResponse]:
        """The responses that redirected here, oldest first."""
        out = []
        previous = self.original.previousResponse
        while previous is not None:
            out.append(HTTPResponse(previous, self._cookiejar))
            previous = previous.previousResponse
        return out[::-1]

    def cookies(self) -> CookieJar:
        """The client's cookie jar, holding what this response set."""
        return self._cookiejar

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.original.code}>"


class HTTPClient:
    """Makes requests with a few keyword arguments rather than headers and producers.

    :param agent: The agent that makes requests; an :class:`~glisten.web.client.Agent` on
        a persistent pool by default.
    :param reactor: The reactor (the global one when ``None``).
    :param cookiejar: Where cookies are kept across requests (a new jar by default).
    :param cooperator: What schedules the reading of upload files.
    """

    def __init__(
        self,
        agent: IAgent | None = None,
        reactor: Any = None,
        cookiejar: CookieJar | None = None,
        cooperator: Any = None,
    ) -> None:
        self._reactor = getReactor(reactor)
        if agent is None:
            from glisten.web.client import Agent

            agent = Agent(self._reactor, pool=HTTPConnectionPool(self._reactor))
        self._agent = agent
        self._cookiejar = cookiejar if cookiejar is not None else CookieJar()
        self._cooperator = cooperator

    def get(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``GET url`` (see :meth:`request` for the keyword arguments)."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``POST url``."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``PUT url``."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``PATCH url``."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``DELETE url``."""
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str | bytes, **kwargs: Any) -> Deferred[HTTPResponse]:
        """``HEAD url``."""
        return self.request("HEAD", url, **kwargs)

    def request(
        self,
        method: str | bytes,
        url: str | bytes,
        *,
        params: Params | None = None,
        headers: Headers | Mapping[Any, Any] | None = None,
        data: Any = None,
        json: Any = _NOTHING,
        files: Mapping[str, Any] | None = None,
        auth: tuple[str | bytes, str | bytes] | None = None,
        cookies: Mapping[str, str] | CookieJar | None = None,
        timeout: float | None = None,
        allow_redirects: bool = True,
        browser_like_redirects: bool = False,
    ) -> Deferred[HTTPResponse]:
        """Make a request.

        :param params: Query arguments appended to ``url``.
        :param headers: Extra headers (a :class:`Headers`, or a mapping of names to a
            value or a list of values).
        :param data: The body: bytes, a file, an ``IBodyProducer``, or a mapping (or
            pairs) sent as a form (``application/x-www-form-urlencoded``, or with
            ``files``, ``multipart/form-data``).
        :param json: A value sent as a JSON body.
        :param files: Files to upload as ``multipart/form-data``: a name to a file, or to
            ``(filename, file)`` or ``(filename, content_type, file)``.
        :param auth: ``(user, password)`` for HTTP Basic authentication; dropped if a
            redirect leaves the origin.
        :param cookies: Cookies to send, added to the client's jar for this host.
        :param timeout: Seconds to wait for the response head; then the request is
            cancelled and fails with :class:`TimeoutError`.
        :param allow_redirects: Follow redirects.
        :param browser_like_redirects: Follow them as browsers do (a ``POST`` answered
            with ``301``/``302`` becomes a ``GET``).
        """
        method = _bytes(method).upper()
        url = _bytes(url)
        if params:
            query = urlencode(_pairs(params)).encode("ascii")
            base, hashSign, fragment = url.partition(b"#")
            joiner = b"&" if b"?" in base else b"?"
            url = base + joiner + query + hashSign + fragment
        merged = self._headers(headers)
        bodyProducer, contentType = self._body(data, json, files)
        if contentType is not None and not merged.hasHeader(b"content-type"):
            merged.setRawHeaders(b"content-type", [contentType])
        if auth is not None:
            token = base64.b64encode(_bytes(auth[0]) + b":" + _bytes(auth[1]))
            merged.setRawHeaders(b"authorization", [b"Basic " + token])
        if cookies:
            self._addCookies(url, cookies)
        agent: IAgent = CookieAgent(self._agent, self._cookiejar)
        if allow_redirects:
            agent = (BrowserLikeRedirectAgent if browser_like_redirects else RedirectAgent)(agent)
        agent = ContentDecoderAgent(agent, _DECODERS)
        d = agent.request(method, url, merged, bodyProducer)
        if timeout is not None:
            d = self._withTimeout(d, timeout)
        return d.addCallback(HTTPResponse, self._cookiejar)

    def _withTimeout(self, d: Deferred[IResponse], timeout: float) -> Deferred[IResponse]:
        timedOut = []

        def expire() -> None:
            timedOut.append(True)
            d.cancel()

        call = self._reactor.callLater(timeout, expire)

        def done(result: Any) -> Any:
            if call.active():
                call.cancel()
            if timedOut and isinstance(result, Failure):
                # Cancelled while connecting, the endpoint's ConnectingCancelledError (not a
                # CancelledError, as in Twisted) is our timeout all the same.
                cancelled = (CancelledError, ConnectingCancelledError)
                reasons = getattr(result.value, "reasons", [])
                if result.check(*cancelled) or any(r.check(*cancelled) for r in reasons):
                    return Failure(TimeoutError(f"no response within {timeout} seconds"))
            return result

        return d.addBoth(done)

    @staticmethod
    def _headers(headers: Headers | Mapping[Any, Any] | None) -> Headers:
        if headers is None:
            return Headers()
        if isinstance(headers, Headers):
            return headers.copy()
        out = Headers()
        for name, value in headers.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            out.setRawHeaders(_bytes(name), [_bytes(v) for v in values])
        return out

    def _body(
        self, data: Any, jsonValue: Any, files: Mapping[str, Any] | None
    ) -> tuple[IBodyProducer | None, bytes | None]:
        from glisten.web.client import FileBodyProducer

        if jsonValue is not _NOTHING:
            if data is not None or files:
                raise ValueError("json cannot be combined with data or files")
            body = _json.dumps(jsonValue, separators=(",", ":")).encode("utf-8")
            return _BytesProducer(body), b"application/json; charset=UTF-8"
        if files:
            fields = _pairs(data) if data else []
            contentType, producer = _multipart(fields, files, self._cooperator)
            return producer, contentType
        if data is None:
            return None, None
        if isinstance(data, (bytes, str)):
            return _BytesProducer(_bytes(data)), None
        if IBodyProducer.providedBy(data):
            return data, None
        if hasattr(data, "read"):
            return FileBodyProducer(data, self._cooperator), None
        form = urlencode(_pairs(data)).encode("ascii")
        return _BytesProducer(form), b"application/x-www-form-urlencoded"

    def _addCookies(self, url: bytes, cookies: Mapping[str, str] | CookieJar) -> None:
        from glisten.web.client import URI

        if isinstance(cookies, CookieJar):
            for cookie in cookies:
                self._cookiejar.set_cookie(cookie)
            return
        host = URI.fromBytes(url).host.decode("ascii")
        for name, value in cookies.items():
            self._cookiejar.set_cookie(
                Cookie(
                    version=0,
                    name=name,
                    value=value,
                    port=None,
                    port_specified=False,
                    domain=host,
                    domain_specified=False,
                    domain_initial_dot=False,
                    path="/",
                    path_specified=True,
                    secure=False,
                    expires=None,
                    discard=True,
                    comment=None,
                    comment_url=None,
                    rest={},
                )
            )


@implementer(IBodyProducer)
class _BytesProducer:
    """A body held in memory, written at once."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> Deferred[None]:
        consumer.write(self._body)
        d: Deferred[None] = Deferred()
        d.callback(None)
        return d

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass

    def rewind(self) -> None:
        """Nothing to do: the body can be written again (so a request may be retried)."""


#: The client behind the module functions, one per reactor.
_clients: dict[int, HTTPClient] = {}


def _default(reactor: Any) -> HTTPClient:
    reactor = getReactor(reactor)
    client = _clients.get(id(reactor))
    if client is None or client._reactor is not reactor:
        client = _clients[id(reactor)] = HTTPClient(reactor=reactor)
    return client


def request(
    method: str | bytes, url: str | bytes, *, reactor: Any = None, **kwargs: Any
) -> Deferred[HTTPResponse]:
    """Make a request with a shared client (connections and cookies are kept per reactor);
    see :meth:`HTTPClient.request` for the keyword arguments."""
    return _default(reactor).request(method, url, **kwargs)


def get(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``GET url`` with the shared client."""
    return _default(reactor).request("GET", url, **kwargs)


def post(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``POST url`` with the shared client."""
    return _default(reactor).request("POST", url, **kwargs)


def put(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``PUT url`` with the shared client."""
    return _default(reactor).request("PUT", url, **kwargs)


def patch(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``PATCH url`` with the shared client."""
    return _default(reactor).request("PATCH", url, **kwargs)


def delete(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``DELETE url`` with the shared client."""
    return _default(reactor).request("DELETE", url, **kwargs)


def head(url: str | bytes, *, reactor: Any = None, **kwargs: Any) -> Deferred[HTTPResponse]:
    """``HEAD url`` with the shared client."""
    return _default(reactor).request("HEAD", url, **kwargs)
