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

The ``Proxy`` client is not here yet: it needs the HTTP client Agent.
"""

from __future__ import annotations

import inspect
import xmlrpc.client as xmlrpclib
from collections.abc import Callable
from typing import Any, TypeVar
from xml.parsers import expat

from glisten.internet.defer import Deferred, maybeDeferred
from glisten.logger import Logger
from glisten.python.failure import Failure
from glisten.web import resource
from glisten.web.iweb import IRequest
from glisten.web.server import NOT_DONE_YET

__all__ = [
    "XMLRPC",
    "Binary",
    "Boolean",
    "DateTime",
    "Fault",
    "NoSuchFunction",
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


def parseRequest(
    data: bytes, maxDepth: int, useDateTime: bool = False
) -> tuple[tuple[Any, ...], str]:
    """The parameters and method name of an XML-RPC call.

    :param useDateTime: Give dates as :class:`datetime.datetime`, not :class:`DateTime`.

    :raises _RequestError: It has a DTD, is nested deeper than ``maxDepth``, is not
        well-formed, or is not a method call.
    """
    unmarshaller = xmlrpclib.Unmarshaller(use_datetime=useDateTime)
    # expat hands over text already decoded: tell the unmarshaller not to decode it again.
    unmarshaller.xml(None, None)  # type: ignore[arg-type]
    parser = expat.ParserCreate(None, None)
    depth = [0]

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > maxDepth:
            raise _RequestError("request nested too deeply")
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
        params = unmarshaller.close()
    except _RequestError:
        raise
    except Exception:
        raise _RequestError("malformed XML-RPC request") from None
    name = unmarshaller.getmethodname()
    if not isinstance(name, str) or not name:
        raise _RequestError("not an XML-RPC method call")
    return tuple(params), name


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
