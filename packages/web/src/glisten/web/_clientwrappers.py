"""Agents that wrap another agent: redirects, content decoding and cookies, as in
``twisted.web.client`` (which re-exports them)."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from http.cookiejar import CookieJar
from typing import Any
from urllib.parse import urljoin

from zope.interface import implementer

from glisten.internet.defer import Deferred, succeed
from glisten.internet.protocol import Protocol
from glisten.python.failure import Failure
from glisten.web._newclient import RESPONSE_DONE, ResponseDone, ResponseFailed
from glisten.web.error import InfiniteRedirection, PageRedirect, RedirectWithNoLocation
from glisten.web.http_headers import Headers
from glisten.web.iweb import UNKNOWN_LENGTH, IAgent, IBodyProducer, IResponse

#: Headers that carry credentials: never sent on to another origin (CVE-2022-21712).
_SENSITIVE_HEADERS = (b"authorization", b"cookie", b"cookie2", b"proxy-authorization")
#: Headers that describe a request body: dropped when a redirect turns the request into a GET.
_BODY_HEADERS = (b"content-type", b"content-length", b"content-encoding", b"transfer-encoding")


def _origin(uri: bytes) -> tuple[bytes, bytes, int]:
    from glisten.web.client import URI

    parsed = URI.fromBytes(uri)
    return parsed.scheme, parsed.host, parsed.port


class _Discard(Protocol):
    """Reads a body nobody wants, so its connection comes free."""

    def dataReceived(self, data: bytes) -> None:
        pass


@implementer(IAgent)
class RedirectAgent:
    """Follows redirects: ``301``, ``302``, ``307`` and ``308`` for ``GET`` and ``HEAD``
    (other methods fail with :class:`PageRedirect`, since their body cannot be replayed),
    and ``303`` for any method, as a ``GET``.

    :param agent: The agent that makes each request.
    :param redirectLimit: Most redirects followed before :class:`InfiniteRedirection`.
    :param sensitiveHeaderNames: More headers to drop when a redirect leaves the origin.
    """

    _redirectResponses: Sequence[int] = (301, 302, 307, 308)
    _seeOtherResponses: Sequence[int] = (303,)

    def __init__(
        self, agent: IAgent, redirectLimit: int = 20, sensitiveHeaderNames: Sequence[bytes] = ()
    ) -> None:
        self._agent = agent
        self._redirectLimit = redirectLimit
        self._sensitive = frozenset(_SENSITIVE_HEADERS) | {n.lower() for n in sensitiveHeaderNames}

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri``, following redirects."""
        d = self._agent.request(method, uri, headers, bodyProducer)
        return d.addCallback(self._handleResponse, method, uri, headers, 0)

    def _resolveLocation(self, requestURI: bytes, location: bytes) -> bytes:
        return urljoin(requestURI, location)

    def _handleRedirect(
        self, response: IResponse, method: bytes, uri: bytes, headers: Headers | None, count: int
    ) -> Deferred[IResponse]:
        if count >= self._redirectLimit:
            err = InfiniteRedirection(response.code, b"Infinite redirection detected", location=uri)
            raise ResponseFailed([Failure(err)], response)  # type: ignore[arg-type]
        locations = response.headers.getRawHeaders(b"location", [])
        if not locations:
            err2 = RedirectWithNoLocation(response.code, b"No location header field", uri)
            raise ResponseFailed([Failure(err2)], response)  # type: ignore[arg-type]
        location = self._resolveLocation(uri, locations[0])
        response.deliverBody(_Discard())
        if headers is not None:
            headers = headers.copy()
            if _origin(location) != _origin(uri):
                for name in self._sensitive:
                    headers.removeHeader(name)
            if method in (b"GET", b"HEAD"):
                for name in _BODY_HEADERS:
                    headers.removeHeader(name)
        d = self._agent.request(method, location, headers)

        def setPrevious(newResponse: IResponse) -> IResponse:
            newResponse.setPreviousResponse(response)
            return newResponse

        d.addCallback(setPrevious)
        return d.addCallback(self._handleResponse, method, location, headers, count + 1)

    def _handleResponse(
        self, response: IResponse, method: bytes, uri: bytes, headers: Headers | None, count: int
    ) -> Deferred[IResponse]:
        code = response.code
        if code in self._redirectResponses:
            if method not in (b"GET", b"HEAD"):
                locations = response.headers.getRawHeaders(b"location", [None])
                err = PageRedirect(code, location=locations[0])
                raise ResponseFailed([Failure(err)], response)  # type: ignore[arg-type]
            return self._handleRedirect(response, method, uri, headers, count)
        if code in self._seeOtherResponses:
            # The new request is a GET (a HEAD stays a HEAD: it asks for no body anyway).
            newMethod = b"HEAD" if method == b"HEAD" else b"GET"
            return self._handleRedirect(response, newMethod, uri, headers, count)
        return succeed(response)


class BrowserLikeRedirectAgent(RedirectAgent):
    """Follows redirects as browsers do: ``301`` and ``302`` turn any method into a ``GET``
    (like ``303``); ``307`` and ``308`` keep it (and fail for methods other than ``GET``
    and ``HEAD``)."""

    _redirectResponses = (307, 308)
    _seeOtherResponses = (301, 302, 303)


# -- content decoding ----------------------------------------------------------------------

#: Largest piece handed to the application at once while decompressing: a small compressed
#: body may expand enormously, and is never expanded in one step.
_DECODE_PIECE = 1 << 16


class _DecodingProtocol(Protocol):
    """Decompresses a body on its way to the application's protocol."""

    def __init__(self, protocol: Protocol | Any, response: IResponse, decompressor: Any) -> None:
        self.original = protocol
        self._response = response
        self._decompressor = decompressor
        self._failed = False

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport
        self.original.makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        if self._failed:
            return
        try:
            self._feed(data)
        except Exception:
            self._failed = True
            failure = Failure()
            self.transport.stopProducing()
            self.original.connectionLost(Failure(ResponseFailed([failure], self._response)))  # type: ignore[arg-type]

    def _feed(self, data: bytes) -> None:
        d = self._decompressor
        out = d.decompress(data, _DECODE_PIECE)
        while out:
            self.original.dataReceived(out)
            tail = getattr(d, "unconsumed_tail", b"")
            if not tail:
                break
            out = d.decompress(tail, _DECODE_PIECE)

    def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
        if self._failed:
            return
        if reason.check(ResponseDone):
            try:
                flush = getattr(self._decompressor, "flush", None)
                rest = flush() if flush is not None else b""
                if rest:
                    self.original.dataReceived(rest)
                if getattr(self._decompressor, "eof", True) is False:
                    raise zlib.error("compressed body is truncated")
            except Exception:
                reason = Failure(ResponseFailed([Failure()], self._response))  # type: ignore[arg-type]
        self.original.connectionLost(reason)


@implementer(IResponse)
class _DecodedResponse:
    """A response whose body is decompressed as it is delivered."""

    _decompressorFactory: Callable[[], Any]

    def __init__(self, response: IResponse) -> None:
        self.original = response
        self.length: int | object = UNKNOWN_LENGTH

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)

    def deliverBody(self, protocol: Any) -> None:
        """Deliver the decompressed body to ``protocol``."""
        self.original.deliverBody(
            _DecodingProtocol(protocol, self.original, self._decompressorFactory())
        )

    def setPreviousResponse(self, response: IResponse) -> None:
        self.original.setPreviousResponse(response)


class GzipDecoder(_DecodedResponse):
    """Decodes a ``gzip`` body."""

    @staticmethod
    def _decompressorFactory() -> Any:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)


class _RawOrZlibDeflate:
    """``deflate`` as sent in practice: a zlib stream (RFC 9110 says so), or raw deflate
    from servers that got it wrong; the first bytes tell."""

    def __init__(self) -> None:
        self._d: Any = None
        self.unconsumed_tail = b""

    @property
    def eof(self) -> bool:
        return bool(self._d is not None and self._d.eof)

    _head = b""

    def decompress(self, data: bytes, maxLength: int) -> bytes:
        if self._d is None:
            data = self._head + data
            if len(data) < 2:
                # Two bytes tell a zlib header from raw deflate: wait for them.
                self._head = data
                return b""
            zlibHeader = (data[0] & 0x0F) == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlibHeader else -zlib.MAX_WBITS)
        out: bytes = self._d.decompress(data, maxLength)
        self.unconsumed_tail = self._d.unconsumed_tail
        return out

    def flush(self) -> bytes:
        return self._d.flush() if self._d is not None else b""


class DeflateDecoder(_DecodedResponse):
    """Decodes a ``deflate`` body."""

    @staticmethod
    def _decompressorFactory() -> Any:
        return _RawOrZlibDeflate()


def _optionalDecoders() -> list[tuple[bytes, type[_DecodedResponse]]]:
    """Decoders for codings whose library is installed (brotli, zstd)."""
    found: list[tuple[bytes, type[_DecodedResponse]]] = []
    try:
        import brotli  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:

        class _Brotli:
            def __init__(self) -> None:
                self._d = brotli.Decompressor()
                self.unconsumed_tail = b""

            @property
            def eof(self) -> bool:
                return bool(self._d.is_finished())

            def decompress(self, data: bytes, maxLength: int) -> bytes:
                return bytes(self._d.process(data))

        class BrotliDecoder(_DecodedResponse):
            _decompressorFactory = _Brotli

        found.append((b"br", BrotliDecoder))
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:

        class _Zstd:
            def __init__(self) -> None:
                self._d = zstandard.ZstdDecompressor().decompressobj()
                self.unconsumed_tail = b""

            @property
            def eof(self) -> bool:
                return bool(self._d.eof)

            def decompress(self, data: bytes, maxLength: int) -> bytes:
                return bytes(self._d.decompress(data))

        class ZstdDecoder(_DecodedResponse):
            _decompressorFactory = _Zstd

        found.append((b"zstd", ZstdDecoder))
    return found


@implementer(IAgent)
class ContentDecoderAgent:
    """Asks for compressed responses (``Accept-Encoding``) and decompresses them.

    :param agent: The agent that makes each request.
    :param decoders: ``(coding, decoder)`` pairs, e.g. ``[(b"gzip", GzipDecoder)]``; a
        decoder wraps an :class:`IResponse`.
    """

    def __init__(
        self, agent: IAgent, decoders: Sequence[tuple[bytes, Callable[[IResponse], IResponse]]]
    ):
        self._agent = agent
        self._decoders = dict(decoders)
        self._supported = b",".join(name for name, _ in decoders)

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri`` with ``Accept-Encoding`` set."""
        headers = Headers() if headers is None else headers.copy()
        headers.addRawHeader(b"accept-encoding", self._supported)
        d = self._agent.request(method, uri, headers, bodyProducer)
        return d.addCallback(self._handleResponse)

    def _handleResponse(self, response: IResponse) -> IResponse:
        values = response.headers.getRawHeaders(b"content-encoding", [])
        codings = [c.strip().lower() for v in values for c in v.split(b",") if c.strip()]
        if not codings:
            return response
        # Codings apply in order; undo the last one first, and stop at an unknown one.
        while codings and codings[-1] in self._decoders:
            response = self._decoders[codings.pop()](response)
        headers = response.headers.copy()
        if codings:
            headers.setRawHeaders(b"content-encoding", [b",".join(codings)])
        else:
            headers.removeHeader(b"content-encoding")
        response.headers = headers
        return response


# -- cookies -------------------------------------------------------------------------------


class _FakeUrllibRequest:
    """What :class:`http.cookiejar.CookieJar` reads and writes of a request."""

    def __init__(self, uri: bytes, headers: Headers) -> None:
        from glisten.web.client import URI

        self.uri = uri.decode("ascii", "replace")
        parsed = URI.fromBytes(uri)
        self.type = parsed.scheme.decode("ascii")
        self.host = parsed.netloc.decode("ascii", "replace")
        self.origin_req_host = parsed.host.decode("ascii", "replace")
        self.unverifiable = False
        self.headers = {
            name.decode("latin-1").capitalize(): b", ".join(values).decode("latin-1")
            for name, values in headers.getAllRawHeaders()
        }
        self.unredirected: dict[str, str] = {}

    def get_full_url(self) -> str:
        return self.uri

    def get_host(self) -> str:
        return self.host

    def get_type(self) -> str:
        return self.type

    def get_origin_req_host(self) -> str:
        return self.origin_req_host

    def is_unverifiable(self) -> bool:
        return self.unverifiable

    def has_header(self, name: str) -> bool:
        return name.capitalize() in self.headers or name.capitalize() in self.unredirected

    def get_header(self, name: str, default: str | None = None) -> str | None:
        key = name.capitalize()
        return self.headers.get(key, self.unredirected.get(key, default))

    def header_items(self) -> list[tuple[str, str]]:
        return list({**self.headers, **self.unredirected}.items())

    def add_unredirected_header(self, name: str, value: str) -> None:
        self.unredirected[name.capitalize()] = value


class _FakeUrllibResponse:
    """What :class:`http.cookiejar.CookieJar` reads of a response."""

    def __init__(self, response: IResponse) -> None:
        self._headers = response.headers

    def info(self) -> _FakeUrllibResponse:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        values = self._headers.getRawHeaders(name.encode("ascii"))
        if values is None:
            return default
        return [v.decode("latin-1") for v in values]


@implementer(IAgent)
class CookieAgent:
    """Sends cookies from a :class:`http.cookiejar.CookieJar` and stores the ones
    responses set.

    :param agent: The agent that makes each request.
    :param cookieJar: Where cookies are kept.
    """

    def __init__(self, agent: IAgent, cookieJar: CookieJar) -> None:
        self._agent = agent
        self.cookieJar = cookieJar

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        """Request ``uri`` with the jar's cookies for it."""
        headers = Headers() if headers is None else headers.copy()
        lastRequest = _FakeUrllibRequest(uri, headers)
        if not headers.hasHeader(b"cookie"):
            self.cookieJar.add_cookie_header(lastRequest)  # type: ignore[arg-type]
            cookie = lastRequest.get_header("Cookie")
            if cookie is not None:
                headers.setRawHeaders(b"cookie", [cookie.encode("latin-1")])
        d = self._agent.request(method, uri, headers, bodyProducer)

        def extract(response: IResponse) -> IResponse:
            self.cookieJar.extract_cookies(_FakeUrllibResponse(response), lastRequest)  # type: ignore[arg-type]
            return response

        return d.addCallback(extract)
