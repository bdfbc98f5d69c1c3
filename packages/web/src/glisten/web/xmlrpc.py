"""XML-RPC servers, as in ``twisted.web.xmlrpc``: the :class:`XMLRPC` resource, introspection
(:func:`addIntrospection`), :func:`withRequest` and :class:`Fault`.

Subclass :class:`XMLRPC` and define ``xmlrpc_<name>`` methods; they may return a value, a
Deferred or a coroutine, or raise :class:`Fault`::

    class Example(XMLRPC):
        def xmlrpc_add(self, a, b):
            return a + b

Requests are parsed safely: no DTD (so no entity expansion, "billion laughs", and no external
entities), at most :attr:`XMLRPC.maxRequestSize` bytes and :attr:`XMLRPC.maxDepth` levels of
nesting. A request that is not valid XML-RPC gets a fault, never a traceback.

:class:`Proxy` calls XML-RPC servers over the HTTP client :class:`~glisten.web.client.Agent`
(HTTPS verifies certificates and host names); its responses go through the same parser, with
at most :attr:`Proxy.maxResponseSize` bytes read.
"""

from __future__ import annotations

import base64
import inspect
import xmlrpc.client as xmlrpclib
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from xml.parsers import expat

from glisten.internet.defer import CancelledError, Deferred, fail, maybeDeferred
from glisten.internet.protocol import Protocol
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import resource
from glisten.web._httpclient import _BytesProducer
from glisten.web._newclient import (
    RESPONSE_DONE,
    PotentialDataLoss,
    ResponseDone,
    ResponseNeverReceived,
)
from glisten.web.client import Agent
from glisten.web.http_headers import Headers
from glisten.web.iweb import IPolicyForHTTPS, IRequest, IResponse
from glisten.web.server import NOT_DONE_YET

__all__ = [
    "XMLRPC",
    "Binary",
    "Boolean",
    "DateTime",
    "Fault",
    "NoSuchFunction",
    "Proxy",
    "XMLRPCIntrospection",
    "addIntrospection",
    "withRequest",
]

Fault = xmlrpclib.Fault
Binary = xmlrpclib.Binary
Boolean = bool
DateTime = xmlrpclib.DateTime

_log = Logger()
_F = TypeVar("_F", bound=Callable[..., Any])


class NoSuchFunction(Fault):
    """No procedure of that name."""


class _RequestError(Exception):
    """The request is not acceptable XML-RPC (its message never quotes the request)."""


def withRequest(f: _F) -> _F:
    """Mark an ``xmlrpc_`` method to be called with the request as its first argument."""
    f.withRequest = True  # type: ignore[attr-defined]
    return f


def _refuse(*args: object) -> int:
    raise _RequestError("DTDs and entities are not allowed")


def _unmarshal(data: bytes, maxDepth: int, useDateTime: bool) -> xmlrpclib.Unmarshaller:
    """Feed ``data`` to an unmarshaller through expat with DTDs, entities and deep nesting
    refused; the caller closes it.

    :raises _RequestError: The document is refused or not well-formed.
    """
    unmarshaller = xmlrpclib.Unmarshaller(use_datetime=useDateTime)
    # expat hands over text already decoded: tell the unmarshaller not to decode it again.
    unmarshaller.xml(None, None)  # type: ignore[arg-type]
    parser = expat.ParserCreate(None, None)
    depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > maxDepth:
            raise _RequestError("nested too deeply")
        unmarshaller.start(tag, attrs)

    def end(tag: str) -> None:
        depth[0] -= 1
        unmarshaller.end(tag)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = unmarshaller.data
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
    except _RequestError:
        raise
    except Exception:
        raise _RequestError("not well-formed XML-RPC") from None
    return unmarshaller


def parseRequest(
    data: bytes, maxDepth: int, useDateTime: bool = False
) -> tuple[tuple[Any, ...], str]:
    """The parameters and method name of an XML-RPC call.

    :param useDateTime: Give dates as :class:`datetime.datetime`, not :class:`DateTime`.

    :raises _RequestError: It has a DTD, is nested deeper than ``maxDepth``, is not
        well-formed, or is not a method call.
    """
    unmarshaller = _unmarshal(data, maxDepth, useDateTime)
    try:
        params = unmarshaller.close()
    except Exception:
        raise _RequestError("malformed XML-RPC request") from None
    name = unmarshaller.getmethodname()
    if not isinstance(name, str) or not name:
        raise _RequestError("not an XML-RPC method call")
    return tuple(params), name


def parseResponse(data: bytes, maxDepth: int, useDateTime: bool = False) -> Any:
    """The value of an XML-RPC method response, parsed as safely as requests are.

    :raises Fault: The response is a fault.
    :raises xmlrpc.client.ResponseError: It has a DTD, is nested deeper than ``maxDepth``,
        is not well-formed or holds no value (the message never quotes the response).
    """
    try:
        unmarshaller = _unmarshal(data, maxDepth, useDateTime)
    except _RequestError as e:
        raise xmlrpclib.ResponseError(f"refused XML-RPC response: {e}") from None
    try:
        params = unmarshaller.close()
    except Fault:
        raise
    except Exception:
        raise xmlrpclib.ResponseError("malformed XML-RPC response") from None
    if unmarshaller.getmethodname() is not None or len(params) != 1:
        raise xmlrpclib.ResponseError("not an XML-RPC method response")
    return params[0]


class XMLRPC(resource.Resource):
    """A resource whose ``xmlrpc_<name>`` methods answer XML-RPC calls (POST).

    :param allowNone: Allow ``None`` (the ``<nil/>`` extension) in responses.
    :param useDateTime: Give ``dateTime.iso8601`` parameters as :class:`datetime.datetime`
        rather than :class:`DateTime`.
    :ivar separator: Between a sub-handler's prefix and the procedure name.
    :ivar maxRequestSize: The largest request body accepted, in bytes.
    :ivar maxDepth: The deepest nesting of elements accepted.
    """

    separator = "."
    isLeaf = True
    #: Fault code for an unknown procedure.
    NOT_FOUND = 8001
    #: Fault code for a procedure that failed (or a request that could not be read).
    FAILURE = 8002
    maxRequestSize = 1024 * 1024
    maxDepth = 64

    def __init__(self, allowNone: bool = False, useDateTime: bool = False) -> None:
        super().__init__()
        self.subHandlers: dict[str, XMLRPC] = {}
        self.allowNone = allowNone
        self.useDateTime = useDateTime

    def putSubHandler(self, prefix: str, handler: XMLRPC) -> None:
        """Serve ``handler``'s procedures as ``<prefix><separator><name>``."""
        self.subHandlers[prefix] = handler

    def getSubHandler(self, prefix: str) -> XMLRPC | None:
        """The sub-handler for ``prefix``, or ``None``."""
        return self.subHandlers.get(prefix)

    def getSubHandlerPrefixes(self) -> list[str]:
        """The prefixes of the sub-handlers."""
        return list(self.subHandlers)

    def render_POST(self, request: IRequest) -> int:
        """Read the call, run the procedure, and answer (always 200 with a response or a
        fault, as XML-RPC has it)."""
        request.content.seek(0)
        data = request.content.read(self.maxRequestSize + 1)
        try:
            if len(data) > self.maxRequestSize:
                raise _RequestError("request too large")
            args, functionPath = parseRequest(data, self.maxDepth, self.useDateTime)
            function = self.lookupProcedure(functionPath)
        except Fault as fault:
            self._cbRender(fault, request)
            return NOT_DONE_YET
        except _RequestError as e:
            self._cbRender(Fault(self.FAILURE, f"Can't deserialize input: {e}"), request)
            return NOT_DONE_YET
        if getattr(function, "withRequest", False):
            d = maybeDeferred(function, request, *args)
        else:
            d = maybeDeferred(function, *args)
        d.addCallback(_awaitCoroutine)
        d.addErrback(self._ebRender)
        d.addCallback(self._cbRender, request)
        return NOT_DONE_YET

    def _cbRender(self, result: Any, request: IRequest) -> None:
        if getattr(request, "_disconnected", False) or getattr(request, "finished", False):
            return
        if not isinstance(result, Fault):
            result = (result,)
        try:
            try:
                content = xmlrpclib.dumps(result, methodresponse=True, allow_none=self.allowNone)
            except Exception as e:
                fault = Fault(self.FAILURE, f"Can't serialize output: {e}")
                content = xmlrpclib.dumps(fault, methodresponse=True, allow_none=self.allowNone)
            body = content.encode("utf-8")
            request.setHeader(b"content-type", b"text/xml; charset=utf-8")
            request.setHeader(b"content-length", b"%d" % len(body))
            request.write(body)
        except Exception:
            _log.failure("Writing an XML-RPC response failed")
        request.finish()

    def _ebRender(self, failure: Failure) -> Fault:
        if isinstance(failure.value, Fault):
            return failure.value
        _log.failure("XML-RPC procedure failed", failure=failure)
        return Fault(self.FAILURE, "error")

    def lookupProcedure(self, procedurePath: str) -> Callable[..., Any]:
        """The callable for a procedure name, looked up through sub-handlers.

        :raises NoSuchFunction: There is none.
        """
        if self.separator in procedurePath:
            prefix, procedurePath = procedurePath.split(self.separator, 1)
            handler = self.getSubHandler(prefix)
            if handler is None:
                raise NoSuchFunction(self.NOT_FOUND, f"no such subHandler {prefix}")
            return handler.lookupProcedure(procedurePath)
        f = getattr(self, "xmlrpc_" + procedurePath, None)
        if f is None or not callable(f):
            raise NoSuchFunction(self.NOT_FOUND, f"procedure {procedurePath} not found")
        result: Callable[..., Any] = f
        return result

    def listProcedures(self) -> list[str]:
        """The names of this handler's procedures (without sub-handlers'): base classes'
        first, each class's in the order it defines them, as in Twisted."""
        names: dict[str, None] = {}
        for cls in reversed(type(self).__mro__):
            for name, value in vars(cls).items():
                if name.startswith("xmlrpc_") and callable(value):
                    names[name[len("xmlrpc_") :]] = None
        return list(names)


def _awaitCoroutine(result: Any) -> Any:
    if inspect.iscoroutine(result):
        return Deferred.fromCoroutine(result)
    return result


class XMLRPCIntrospection(XMLRPC):
    """The ``system.*`` procedures of the XML-RPC introspection convention:
    ``listMethods``, ``methodHelp`` and ``methodSignature``.

    :param parent: The handler described.
    """

    def __init__(self, parent: XMLRPC) -> None:
        super().__init__()
        self._xmlrpc_parent = parent

    def xmlrpc_listMethods(self) -> list[str]:
        """Return a list of the method names implemented by this server."""
        functions: list[str] = []
        todo: list[tuple[XMLRPC, str]] = [(self._xmlrpc_parent, "")]
        while todo:
            obj, prefix = todo.pop(0)
            functions.extend(prefix + name for name in obj.listProcedures())
            todo.extend(
                (obj.getSubHandler(name), prefix + name + obj.separator)  # type: ignore[misc]
                for name in obj.getSubHandlerPrefixes()
            )
        return functions

    xmlrpc_listMethods.signature = [["array"]]  # type: ignore[attr-defined]

    def xmlrpc_methodHelp(self, method: str) -> str:
        """Return a documentation string describing the use of the given method."""
        function = self._xmlrpc_parent.lookupProcedure(method)
        return inspect.getdoc(function) or ""

    xmlrpc_methodHelp.signature = [["string", "string"]]  # type: ignore[attr-defined]

    def xmlrpc_methodSignature(self, method: str) -> list[list[str]] | str:
        """Return a list of type signatures: each is a list of types, the return type
        first, then the parameters'; "" when unknown."""
        function = self._xmlrpc_parent.lookupProcedure(method)
        signature: list[list[str]] | str = getattr(function, "signature", None) or ""
        return signature

    xmlrpc_methodSignature.signature = [["array", "string"], ["string", "string"]]  # type: ignore[attr-defined]


def addIntrospection(xmlrpc: XMLRPC) -> None:
    """Serve ``system.listMethods``, ``system.methodHelp`` and ``system.methodSignature``
    for ``xmlrpc``."""
    xmlrpc.putSubHandler("system", XMLRPCIntrospection(xmlrpc))


class Proxy:
    """Calls the procedures of an XML-RPC server: ``proxy.callRemote("add", 1, 2)``.

    :param url: The server's URL (``http`` or ``https``); a ``user:password@`` in it is
        used for Basic authentication unless ``user``/``password`` are given.
    :param user: The user name for Basic authentication.
    :param password: Its password.
    :param allowNone: Allow ``None`` (``<nil/>``) among the arguments.
    :param useDateTime: Give dates in results as :class:`datetime.datetime`.
    :param connectTimeout: Seconds to wait for the connection.
    :param reactor: The reactor (the global one when ``None``).
    :param contextFactory: The TLS policy for ``https`` (a glisten extension, e.g. for a
        private authority); certificates and host names are verified by default.
    :ivar maxResponseSize: The largest response body read, in bytes; a larger one fails
        the call and drops the connection.
    :ivar maxDepth: The deepest nesting of elements accepted in a response.
    """

    maxResponseSize = 16 * 1024 * 1024
    maxDepth = 64

    def __init__(
        self,
        url: bytes | str,
        user: bytes | str | None = None,
        password: bytes | str | None = None,
        allowNone: bool = False,
        useDateTime: bool = False,
        connectTimeout: float = 30.0,
        reactor: Any = None,
        contextFactory: IPolicyForHTTPS | None = None,
    ) -> None:
        if isinstance(url, str):
            url = url.encode("ascii")
        parts = urlsplit(url)
        self.secure = parts.scheme == b"https"
        self.user: bytes | None = None
        self.password: bytes | None = None
        userinfo, at, hostport = parts.netloc.rpartition(b"@")
        if at:
            name, colon, secret = userinfo.partition(b":")
            self.user = name
            self.password = secret if colon else None
        self.host = parts.hostname or b""
        self.port = parts.port
        self.path = parts.path or b"/"
        if user is not None:
            self.user = user.encode("utf-8") if isinstance(user, str) else user
        if password is not None:
            self.password = password.encode("utf-8") if isinstance(password, str) else password
        self.allowNone = allowNone
        self.useDateTime = useDateTime
        self.connectTimeout = connectTimeout
        # The URL requested: the credentials go in a header, never in the request line.
        self._url = urlunsplit((parts.scheme, hostport, self.path, parts.query, b""))
        self._agent = Agent(reactor, contextFactory=contextFactory, connectTimeout=connectTimeout)

    def callRemote(self, method: str, *args: Any) -> Deferred[Any]:
        """Call ``method`` with ``args``.

        :return: Fires with the result; fails with :class:`Fault` when the server answers
            with one, ``ValueError(status, phrase)`` for a status other than 200,
            ``xmlrpc.client.ResponseError`` for a response that is not acceptable XML-RPC
            or is larger than :attr:`maxResponseSize`, or the HTTP client's errors.
            Cancelling it drops the connection.
        """
        try:
            body = xmlrpclib.dumps(args, methodname=method, allow_none=self.allowNone)
        except Exception as e:
            return fail(e)
        headers = Headers(
            {b"content-type": [b"text/xml; charset=utf-8"], b"user-agent": [b"glisten XML-RPC"]}
        )
        if self.user is not None:
            credentials = self.user + b":" + (self.password or b"")
            headers.addRawHeader(b"authorization", b"Basic " + base64.b64encode(credentials))
        d = self._agent.request(b"POST", self._url, headers, _BytesProducer(body.encode("utf-8")))
        result: Deferred[Any] = d.addCallback(self._cbResponse).addErrback(_cancelled)
        return result

    def _cbResponse(self, response: IResponse) -> Deferred[Any]:
        if response.code != 200:
            _discard(response)
            return fail(ValueError(b"%d" % response.code, response.phrase))
        if isinstance(response.length, int) and response.length > self.maxResponseSize:
            _discard(response)
            return fail(xmlrpclib.ResponseError("XML-RPC response too large"))

        def cancel(_: Deferred[bytes]) -> None:
            reader.stop()

        body: Deferred[bytes] = Deferred(cancel)
        reader = _BodyReader(self.maxResponseSize, body)
        response.deliverBody(reader)
        return body.addCallback(parseResponse, self.maxDepth, self.useDateTime)


def _discard(response: IResponse) -> None:
    """Drop the body of a response the call does not read (and its connection)."""
    ignored: Deferred[bytes] = Deferred()
    ignored.addErrback(lambda _: None)
    response.deliverBody(_BodyReader(0, ignored))


def _cancelled(failure: Failure) -> Failure:
    """A call cancelled before its response came fails with CancelledError, as Twisted's
    does (the Agent reports it inside :class:`ResponseNeverReceived`)."""
    error = failure.value
    if isinstance(error, ResponseNeverReceived) and all(
        reason.check(CancelledError) for reason in error.reasons
    ):
        return Failure(CancelledError())
    return failure


class _BodyReader(Protocol):
    """Reads a response body of at most ``limit`` bytes into ``done``; a larger one stops
    the response (its connection is dropped) and fails ``done``."""

    def __init__(self, limit: int, done: Deferred[bytes]) -> None:
        self._limit = limit
        self._done = done
        self._pieces: list[bytes] = []
        self._size = 0

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.stopProducing()

    def connectionMade(self) -> None:
        if self._limit == 0:
            self.stop()

    def dataReceived(self, data: bytes) -> None:
        if self._done.called:
            return
        self._size += len(data)
        if self._size > self._limit:
            self._done.errback(xmlrpclib.ResponseError("XML-RPC response too large"))
            self.stop()
            return
        self._pieces.append(data)

    def connectionLost(self, reason: Failure = RESPONSE_DONE) -> None:
        if self._done.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            # A body cut short is caught by the parser: it is not well-formed.
            self._done.callback(b"".join(self._pieces))
        else:
            self._done.errback(reason)
