"""AMP, the Asynchronous Messaging Protocol: typed remote calls over one connection.

Wire-compatible with Twisted's ``twisted.protocols.amp``: boxes of 16-bit length-prefixed
keys and values (see :mod:`glisten.protocols._ampcodec`), requests tagged with ``_ask`` and
``_command``, answers with ``_answer``, errors with ``_error``, ``_error_code`` and
``_error_description``.

Define commands::

    class Sum(amp.Command):
        arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
        response = [(b"total", amp.Integer())]
        errors = {ZeroDivisionError: b"ZERO"}

    class Math(amp.AMP):
        @Sum.responder
        def sum(self, a, b):
            return {"total": a + b}

and call them from the other side: ``d = proto.callRemote(Sum, a=1, b=2)`` fires with
``{"total": 3}``. An exception listed in ``errors`` raised by the responder arrives at the
caller's errback as that exception; anything else closes the connection (as in Twisted).

Malformed or oversized boxes from the peer close the connection, and every call still waiting
for an answer fails. :class:`StartTLS` switches a TCP connection to TLS (glisten's ``ssl``
module, through the transport's ``startTLS`` or :func:`glisten.protocols.tls.startTLS`).
"""

from __future__ import annotations

import datetime
import decimal
import keyword
import pathlib
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from zope.interface import Interface, implementer

from glisten.internet import error as ierror
from glisten.internet import interfaces as iinterfaces
from glisten.internet.defer import Deferred, fail, maybeDeferred
from glisten.internet.protocol import Protocol, connectionDone
from glisten.logger import Logger
from glisten.protocols._ampcodec import (
    MAX_KEY_LENGTH,
    MAX_VALUE_LENGTH,
    AmpBox,
    AmpBoxDecoder,
    AmpError,
    MalformedAmpBox,
    QuitBox,
    TooLong,
)
from glisten.python.failure import Failure
from glisten.python.reflect import accumulateClassDict

__all__ = [
    "ANSWER",
    "ASK",
    "AMP",
    "COMMAND",
    "ERROR",
    "ERROR_CODE",
    "ERROR_DESCRIPTION",
    "MAX_KEY_LENGTH",
    "MAX_VALUE_LENGTH",
    "UNHANDLED_ERROR_CODE",
    "UNKNOWN_ERROR_CODE",
    "AmpBox",
    "AmpError",
    "AmpList",
    "Argument",
    "BadLocalReturn",
    "BinaryBoxProtocol",
    "Box",
    "Boolean",
    "BoxDispatcher",
    "Command",
    "CommandLocator",
    "DateTime",
    "Decimal",
    "Descriptor",
    "Float",
    "IArgumentType",
    "IBoxReceiver",
    "IBoxSender",
    "IResponderLocator",
    "IncompatibleVersions",
    "Integer",
    "InvalidSignature",
    "ListOf",
    "MalformedAmpBox",
    "NoEmptyBoxes",
    "Path",
    "ProtocolSwitchCommand",
    "ProtocolSwitched",
    "QuitBox",
    "RemoteAmpError",
    "SimpleStringLocator",
    "StartTLS",
    "String",
    "TooLong",
    "Unicode",
    "UnhandledCommand",
    "UnknownRemoteError",
    "utc",
]

_log = Logger()

ASK = b"_ask"
ANSWER = b"_answer"
COMMAND = b"_command"
ERROR = b"_error"
ERROR_CODE = b"_error_code"
ERROR_DESCRIPTION = b"_error_description"
UNKNOWN_ERROR_CODE = b"UNKNOWN"
UNHANDLED_ERROR_CODE = b"UNHANDLED"

utc = datetime.UTC


# ------------------------------------------------------------------------------- errors


class IncompatibleVersions(AmpError):
    """The peer speaks a different version of a protocol built on AMP."""


class ProtocolSwitched(Exception):
    """The connection switched to another protocol; AMP calls can no longer be made."""


class NoEmptyBoxes(AmpError):
    """A box with neither a command, an answer nor an error."""


class InvalidSignature(AmpError):
    """A command was called or answered with missing or unexpected arguments."""


class UnhandledCommand(AmpError):
    """The peer has no responder for a command."""


class BadLocalReturn(AmpError):
    """A responder returned something that does not match its command's response."""

    def __init__(self, message: str, enclosed: Failure | None = None) -> None:
        self.message = message
        self.enclosed = enclosed
        super().__init__(message)


class RemoteAmpError(AmpError):
    """An error to send to (or received from) the peer.

    :ivar errorCode: the error code on the wire (bytes).
    :ivar description: the human-readable description (str).
    :ivar fatal: the connection closes after the error is sent.
    :ivar local: the local failure it stands for, if any.
    """

    def __init__(
        self,
        errorCode: bytes,
        description: str | bytes,
        fatal: bool = False,
        local: Failure | None = None,
    ) -> None:
        if isinstance(description, bytes):
            description = description.decode("utf-8", "replace")
        self.errorCode = errorCode
        self.description = description
        self.fatal = fatal
        self.local = local
        super().__init__(f"Code<{errorCode.decode('ascii', 'replace')}>: {description}")


class UnknownRemoteError(RemoteAmpError):
    """The peer failed with an error this side has no mapping for."""

    def __init__(self, description: str | bytes) -> None:
        super().__init__(UNKNOWN_ERROR_CODE, description)


class _ArgumentError(AmpError):
    """The peer sent arguments that do not parse (not a local bug: nothing to log loudly)."""


# ---------------------------------------------------------------------------- arguments


def _name(name: bytes | str) -> tuple[bytes, str]:
    """Return a (wire, keyword) pair for an argument name given as bytes or str."""
    if isinstance(name, bytes):
        return name, _wireNameToPythonIdentifier(name)
    return name.encode("ascii"), _wireNameToPythonIdentifier(name.encode("ascii"))


#: The names Twisted capitalizes (its list has Python 2's ``print`` and ``exec``); Python 3's
#: own keywords are added, since they cannot be keyword arguments either.
PYTHON_KEYWORDS = frozenset(
    [
        "and", "del", "for", "is", "raise", "assert", "elif", "from", "lambda", "return",
        "break", "else", "global", "not", "try", "class", "except", "if", "or", "while",
        "continue", "exec", "import", "pass", "yield", "def", "finally", "in", "print",
        *keyword.kwlist,
    ]
)  # fmt: skip


def _wireNameToPythonIdentifier(key: bytes) -> str:
    """The keyword argument name for a wire name, as Twisted maps it: ``-`` becomes ``_``
    and a Python keyword is capitalized (``print`` -> ``Print``)."""
    name = key.decode("ascii").replace("-", "_")
    if name in PYTHON_KEYWORDS:
        return name.title()
    return name


class IArgumentType(Interface):
    """Converts one command argument between a box and Python objects."""

    def fromBox(name: bytes, strings: Any, objects: Any, proto: Any) -> None:
        """Parse argument ``name`` from the box ``strings`` into the dict ``objects``."""

    def toBox(name: bytes, strings: Any, objects: Any, proto: Any) -> None:
        """Serialize argument ``name`` from ``objects`` into the box ``strings``."""


class IBoxSender(Interface):
    """Sends boxes (the protocol below a :class:`BoxDispatcher`)."""

    def sendBox(box: AmpBox) -> None:
        """Send ``box``.

        :raises ProtocolSwitched: the connection no longer carries AMP.
        """

    def unhandledError(failure: Failure) -> None:
        """An error nobody handled; the sender reports it and drops the connection."""


class IBoxReceiver(Interface):
    """Receives the boxes of one connection."""

    def startReceivingBoxes(boxSender: IBoxSender) -> None:
        """The connection is up; answers go out through ``boxSender``."""

    def ampBoxReceived(box: AmpBox) -> None:
        """A box arrived."""

    def stopReceivingBoxes(reason: Failure) -> None:
        """No more boxes will arrive, for ``reason``."""


class IResponderLocator(Interface):
    """Finds the function answering a command."""

    def locateResponder(name: bytes) -> Any:
        """The responder for the command ``name`` (taking and returning a box), or ``None``."""


#: Twisted's other name of :class:`AmpBox`.
Box = AmpBox


@implementer(IArgumentType)
class Argument:
    """Converts one command argument between Python objects and box values.

    Subclasses implement :meth:`fromString` and :meth:`toString` (or the ``*Proto`` variants,
    or :meth:`fromBox`/:meth:`toBox` for arguments spanning several keys).

    :param optional: the argument may be left out (it is then ``None``/absent).
    """

    optional = False

    def __init__(self, optional: bool = False) -> None:
        self.optional = optional

    def fromString(self, inString: bytes) -> Any:
        """Convert a box value to a Python object.

        :raises ValueError: the value is not valid for this type.
        """
        raise NotImplementedError

    def toString(self, inObject: Any) -> bytes:
        """Convert a Python object to a box value."""
        raise NotImplementedError

    def fromStringProto(self, inString: bytes, proto: Any) -> Any:
        return self.fromString(inString)

    def toStringProto(self, inObject: Any, proto: Any) -> bytes:
        return self.toString(inObject)

    def retrieve(self, d: dict[Any, Any], name: Any, proto: Any) -> Any:
        """Take ``name`` out of ``d``; missing optional arguments give ``None``."""
        if self.optional:
            value = d.get(name)
            if value is not None:
                del d[name]
        else:
            value = d.pop(name)
        return value

    def fromBox(
        self, name: bytes, strings: dict[bytes, bytes], objects: dict[str, Any], proto: Any
    ) -> None:
        """Parse argument ``name`` from the box ``strings`` into ``objects``."""
        st = self.retrieve(strings, name, proto)
        pyName = _wireNameToPythonIdentifier(name)
        if self.optional and st is None:
            objects[pyName] = None
        else:
            objects[pyName] = self.fromStringProto(st, proto)

    def toBox(
        self, name: bytes, strings: dict[bytes, bytes], objects: dict[str, Any], proto: Any
    ) -> None:
        """Serialize argument ``name`` from ``objects`` into the box ``strings``."""
        obj = self.retrieve(objects, _wireNameToPythonIdentifier(name), proto)
        if self.optional and obj is None:
            return
        strings[name] = self.toStringProto(obj, proto)


class Integer(Argument):
    """An integer of any size, as decimal ASCII."""

    def fromString(self, inString: bytes) -> int:
        text = inString.strip()
        if not text or len(text) > 4300 or not text.lstrip(b"-+").isdigit():
            raise ValueError(f"not an integer: {inString[:40]!r}")
        return int(text)

    def toString(self, inObject: Any) -> bytes:
        return b"%d" % (inObject,)


class String(Argument):
    """Bytes, unchanged."""

    def fromString(self, inString: bytes) -> bytes:
        return inString

    def toString(self, inObject: Any) -> bytes:
        if not isinstance(inObject, bytes):
            raise TypeError(f"String argument must be bytes, not {type(inObject).__name__}")
        return inObject


class Unicode(Argument):
    """Text, as UTF-8."""

    def fromString(self, inString: bytes) -> str:
        return inString.decode("utf-8")

    def toString(self, inObject: Any) -> bytes:
        if not isinstance(inObject, str):
            raise TypeError(f"Unicode argument must be str, not {type(inObject).__name__}")
        return inObject.encode("utf-8")


class Boolean(Argument):
    """``True`` or ``False``."""

    def fromString(self, inString: bytes) -> bool:
        if inString == b"True":
            return True
        if inString == b"False":
            return False
        raise TypeError(f"Bad boolean value: {inString[:40]!r}")

    def toString(self, inObject: Any) -> bytes:
        return b"True" if inObject else b"False"


class Float(Argument):
    """A float, as Python writes it (``inf``, ``-inf`` and ``nan`` included)."""

    def fromString(self, inString: bytes) -> float:
        if len(inString) > 400:
            raise ValueError("float too long")
        return float(inString)

    def toString(self, inObject: Any) -> bytes:
        return repr(float(inObject)).encode("ascii")


class Decimal(Argument):
    """A :class:`decimal.Decimal`, exactly."""

    def fromString(self, inString: bytes) -> decimal.Decimal:
        if len(inString) > 400:
            raise ValueError("decimal too long")
        try:
            return decimal.Decimal(inString.decode("ascii"))
        except decimal.InvalidOperation:
            raise ValueError(f"not a decimal: {inString[:40]!r}") from None

    def toString(self, inObject: Any) -> bytes:
        if not isinstance(inObject, decimal.Decimal):
            raise ValueError(f"{inObject!r} is not a decimal.Decimal")
        return str(inObject).encode("ascii")


class DateTime(Argument):
    """A timezone-aware :class:`datetime.datetime` with microseconds, e.g.
    ``2012-01-23T12:34:56.054321-01:23`` (Twisted's format)."""

    def fromString(self, inString: bytes) -> datetime.datetime:
        s = inString.decode("ascii")
        if len(s) != 32 or s[10] != "T" or s[26] not in "+-":
            raise ValueError(f"invalid date format {s!r}")
        try:
            naive = datetime.datetime.strptime(s[:26], "%Y-%m-%dT%H:%M:%S.%f")
            hours, minutes = int(s[27:29]), int(s[30:32])
        except ValueError:
            raise ValueError(f"invalid date format {s!r}") from None
        if s[29] != ":" or hours > 23 or minutes > 59:
            raise ValueError(f"invalid timezone in {s!r}")
        offset = datetime.timedelta(hours=hours, minutes=minutes)
        if s[26] == "-":
            offset = -offset
        return naive.replace(tzinfo=datetime.timezone(offset))

    def toString(self, inObject: Any) -> bytes:
        offset = inObject.utcoffset()
        if offset is None:
            raise ValueError("DateTime values must be timezone-aware")
        sign = "+"
        if offset < datetime.timedelta(0):
            sign = "-"
            offset = -offset
        minutes = int(offset.total_seconds()) // 60
        return (
            "%04i-%02i-%02iT%02i:%02i:%02i.%06i%s%02i:%02i"
            % (
                inObject.year,
                inObject.month,
                inObject.day,
                inObject.hour,
                inObject.minute,
                inObject.second,
                inObject.microsecond,
                sign,
                minutes // 60,
                minutes % 60,
            )
        ).encode("ascii")


class Path(Unicode):
    """A filesystem path, as UTF-8 text; parsed to :class:`pathlib.Path`."""

    def fromString(self, inString: bytes) -> pathlib.Path:  # type: ignore[override]
        return pathlib.Path(inString.decode("utf-8"))

    def toString(self, inObject: Any) -> bytes:
        return str(pathlib.Path(inObject)).encode("utf-8")


class Descriptor(Integer):
    """A file descriptor, passed over a Unix socket alongside the box (the box carries its
    sequence number). The connection's transport must be a Unix stream socket."""

    def fromStringProto(self, inString: bytes, proto: Any) -> int:
        return int(proto._getDescriptor(int(inString)))

    def toStringProto(self, inObject: Any, proto: Any) -> bytes:
        return self.toString(proto._sendFileDescriptor(inObject))


_H = struct.Struct("!H")


class ListOf(Argument):
    """A list of values of one argument type, each preceded by a 16-bit length.

    :param elementType: the :class:`Argument` of the elements.
    """

    def __init__(self, elementType: Argument, optional: bool = False) -> None:
        super().__init__(optional)
        self.elementType = elementType

    def fromString(self, inString: bytes) -> list[Any]:
        result = []
        offset = 0
        size = len(inString)
        while offset < size:
            if size - offset < 2:
                raise ValueError("truncated ListOf element length")
            (length,) = _H.unpack_from(inString, offset)
            end = offset + 2 + length
            if end > size:
                raise ValueError("truncated ListOf element")
            result.append(self.elementType.fromString(inString[offset + 2 : end]))
            offset = end
        return result

    def toString(self, inObject: Any) -> bytes:
        parts = []
        for obj in inObject:
            serialized = self.elementType.toString(obj)
            if len(serialized) > MAX_VALUE_LENGTH:
                raise TooLong(False, True, None, len(serialized))
            parts.append(_H.pack(len(serialized)) + serialized)
        return b"".join(parts)


class AmpList(Argument):
    """A list of dicts, each made of the given sub-arguments, serialized as nested boxes.

    :param subargs: ``[(name, Argument), ...]`` like a command's ``arguments``.
    """

    def __init__(self, subargs: list[tuple[bytes | str, Argument]], optional: bool = False) -> None:
        super().__init__(optional)
        self.subargs = [(_name(name)[0], arg) for name, arg in subargs]

    def fromStringProto(self, inString: bytes, proto: Any) -> list[dict[str, Any]]:
        decoder = AmpBoxDecoder(maxBoxSize=MAX_VALUE_LENGTH)
        try:
            boxes = decoder.feed(inString)
        except AmpError as e:
            raise ValueError(f"bad AmpList: {e}") from None
        if decoder.pending():
            raise ValueError("truncated AmpList")
        return [_stringsToObjects(box, self.subargs, proto) for box in boxes]

    def toStringProto(self, inObject: Any, proto: Any) -> bytes:
        return b"".join(
            _objectsToStrings(dict(objects), self.subargs, AmpBox(), proto).serialize()
            for objects in inObject
        )


def _stringsToObjects(
    strings: Mapping[bytes, bytes], arglist: Iterable[tuple[bytes, Argument]], proto: Any
) -> dict[str, Any]:
    """Parse the arguments of ``arglist`` from a box.

    :raises _ArgumentError: an argument is missing or does not parse.
    """
    remaining = dict(strings)
    objects: dict[str, Any] = {}
    for name, argument in arglist:
        try:
            argument.fromBox(name, remaining, objects, proto)
        except KeyError:
            raise _ArgumentError(f"missing argument {name.decode('ascii', 'replace')}") from None
        except (ValueError, TypeError, UnicodeDecodeError, OverflowError) as e:
            raise _ArgumentError(f"bad value for {name.decode('ascii', 'replace')}: {e}") from None
    return objects


def _objectsToStrings(
    objects: dict[str, Any], arglist: Iterable[tuple[bytes, Argument]], strings: AmpBox, proto: Any
) -> AmpBox:
    """Serialize the arguments of ``arglist`` from ``objects`` into ``strings``.

    :raises InvalidSignature: a required argument is missing.
    """
    myObjects = dict(objects)
    for name, argument in arglist:
        try:
            argument.toBox(name, strings, myObjects, proto)
        except KeyError:
            raise InvalidSignature(f"missing argument {name.decode('ascii')!r}") from None
    return strings


# ------------------------------------------------------------------------------ commands


class _CommandMeta(type):
    """Fills in a command's name and its error tables."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        if "commandName" not in attrs:
            attrs["commandName"] = name.encode("ascii")
        for key in ("errors", "fatalErrors"):
            if key in attrs and not isinstance(attrs[key], dict):
                # Twisted accepts a list of (exception, code) pairs.
                attrs[key] = dict(attrs[key])
        cls = super().__new__(mcs, name, bases, attrs)
        # As Twisted: names on the wire are bytes; a str is a mistake caught here, not at
        # the first call.
        if not isinstance(cls.commandName, bytes):  # type: ignore[attr-defined]
            raise TypeError(f"Command names must be byte strings, got: {cls.commandName!r}")  # type: ignore[attr-defined]
        for what, key in (("Argument", "arguments"), ("Response", "response")):
            for argName, _ in getattr(cls, key, ()):
                if not isinstance(argName, bytes):
                    raise TypeError(f"{what} names must be byte strings, got: {argName!r}")
        errors: dict[type[BaseException], bytes] = {}
        fatalErrors: dict[type[BaseException], bytes] = {}
        accumulateClassDict(cls, "errors", errors)
        accumulateClassDict(cls, "fatalErrors", fatalErrors)
        for table in (errors, fatalErrors):
            for code in table.values():
                if not isinstance(code, bytes):
                    raise TypeError(f"Error names must be byte strings, got: {code!r}")
        allErrors = {**errors, **fatalErrors}
        cls.allErrors = allErrors  # type: ignore[attr-defined]
        reverse: dict[bytes, type[BaseException]] = {v: k for k, v in allErrors.items()}
        cls.reverseErrors = reverse  # type: ignore[attr-defined]
        return cls


class Command(metaclass=_CommandMeta):
    """A remote command: subclass it and set the class attributes.

    :cvar arguments: ``[(name, Argument), ...]`` sent with the command.
    :cvar response: ``[(name, Argument), ...]`` of the answer.
    :cvar errors: ``{ExceptionClass: b"CODE"}``: exceptions of the responder that are sent to
        the caller (who gets the same exception class back).
    :cvar fatalErrors: like ``errors``, but the connection is closed after sending them.
    :cvar requiresAnswer: ``False`` for fire-and-forget commands (the call returns ``None``).
    :cvar commandName: the name on the wire (default: the class name).
    """

    arguments: ClassVar[list[tuple[Any, Argument]]] = []
    response: ClassVar[list[tuple[Any, Argument]]] = []
    errors: ClassVar[dict[type[BaseException], bytes]] = {}
    fatalErrors: ClassVar[dict[type[BaseException], bytes]] = {}
    commandType: ClassVar[type[AmpBox]] = AmpBox
    responseType: ClassVar[type[AmpBox]] = AmpBox
    requiresAnswer: ClassVar[bool] = True
    commandName: ClassVar[bytes]
    allErrors: ClassVar[dict[type[BaseException], bytes]]
    reverseErrors: ClassVar[dict[bytes, type[BaseException]]]

    def __init__(self, **kw: Any) -> None:
        self.structured = kw
        known = {_wireNameToPythonIdentifier(name) for name, _ in self.arguments}
        unexpected = set(kw) - known
        if unexpected:
            raise InvalidSignature(f"unexpected arguments: {', '.join(sorted(unexpected))}")
        missing = [
            _wireNameToPythonIdentifier(name)
            for name, argument in self.arguments
            if not argument.optional and _wireNameToPythonIdentifier(name) not in kw
        ]
        if missing:
            raise InvalidSignature(f"missing arguments: {', '.join(missing)}")

    @classmethod
    def makeArguments(cls, objects: dict[str, Any], proto: Any) -> AmpBox:
        """Serialize call arguments into a box."""
        return _objectsToStrings(objects, cls.arguments, cls.commandType(), proto)

    @classmethod
    def parseArguments(cls, box: Mapping[bytes, bytes], proto: Any) -> dict[str, Any]:
        """Parse call arguments from a box."""
        return _stringsToObjects(box, cls.arguments, proto)

    @classmethod
    def makeResponse(cls, objects: dict[str, Any], proto: Any) -> AmpBox:
        """Serialize a responder's result into a box.

        :raises BadLocalReturn: it is not a dict matching :attr:`response`.
        """
        if not isinstance(objects, dict):
            raise BadLocalReturn(f"{cls.__name__} responder returned {objects!r}, not a dict")
        try:
            return _objectsToStrings(objects, cls.response, cls.responseType(), proto)
        except (InvalidSignature, TypeError, ValueError) as e:
            raise BadLocalReturn(f"{cls.__name__} responder returned a bad response: {e}") from e

    @classmethod
    def parseResponse(cls, box: Mapping[bytes, bytes], proto: Any) -> dict[str, Any]:
        """Parse an answer box."""
        return _stringsToObjects(box, cls.response, proto)

    @classmethod
    def responder(cls, methodfunc: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator: make ``methodfunc`` (a method of a :class:`CommandLocator`) answer this
        command."""
        commands = list(getattr(methodfunc, "_ampResponderFor", ()))
        commands.append(cls)
        methodfunc._ampResponderFor = commands  # type: ignore[attr-defined]
        return methodfunc

    def _doCommand(self, proto: Any) -> Deferred[Any] | None:
        box = self.makeArguments(self.structured, proto)
        d = proto._sendBoxCommand(self.commandName, box, self.requiresAnswer)
        if not self.requiresAnswer:
            return None
        d.addCallback(self._parseAnswer, proto)
        d.addErrback(self._massageError)
        return d

    @classmethod
    def _parseAnswer(cls, box: Mapping[bytes, bytes], proto: Any) -> dict[str, Any]:
        try:
            return cls.parseResponse(box, proto)
        except _ArgumentError as e:
            raise MalformedAmpBox(f"bad answer to {cls.commandName!r}: {e}") from None

    @classmethod
    def _massageError(cls, failure: Failure) -> Failure:
        failure.trap(RemoteAmpError)
        remote = failure.value
        assert isinstance(remote, RemoteAmpError)
        errorType = cls.reverseErrors.get(remote.errorCode)
        if errorType is None:
            if remote.errorCode == UNHANDLED_ERROR_CODE:
                return Failure(UnhandledCommand(remote.description))
            return Failure(UnknownRemoteError(remote.description))
        return Failure(errorType(remote.description))


# ------------------------------------------------------------------------------ StartTLS

_TLS_KEYS = (b"tls_localCertificate", b"tls_verifyAuthorities")


class _NoCertificate:
    """Stands for "no certificate of my own": only the peer is (optionally) verified."""

    def __init__(self, client: bool) -> None:
        self.client = client

    def options(self, *authorities: Any) -> Any:
        """TLS options verifying the peer against ``authorities`` (if any are given)."""
        from glisten.internet.ssl import CertificateOptions

        if not authorities:
            return CertificateOptions()
        return CertificateOptions(verify=True, requireCertificate=False, caCerts=list(authorities))


class _LocalArgument(String):
    """An argument that stays on this side: passed to the local TLS setup, never sent."""

    def fromBox(
        self, name: bytes, strings: dict[bytes, bytes], objects: dict[str, Any], proto: Any
    ) -> None:
        pass

    def toBox(
        self, name: bytes, strings: dict[bytes, bytes], objects: dict[str, Any], proto: Any
    ) -> None:
        obj = self.retrieve(objects, _wireNameToPythonIdentifier(name), proto)
        if obj is not None:
            dict.__setitem__(strings, name, obj)


class _TLSBox(AmpBox):
    """The answer to :class:`StartTLS`: sent in clear text, then TLS starts."""

    __slots__ = ()

    def _sendTo(self, proto: Any) -> None:
        box = AmpBox({k: v for k, v in self.items() if k not in _TLS_KEYS})
        box._sendTo(proto)
        proto._startTLS(
            self.get(b"tls_localCertificate", _NoCertificate(False)),
            self.get(b"tls_verifyAuthorities"),
        )


class StartTLS(Command):
    """Switch the connection to TLS (Twisted's AMP ``StartTLS``).

    The caller passes ``tls_localCertificate`` (a
    :class:`glisten.internet.ssl.PrivateCertificate`, optional) and ``tls_verifyAuthorities``
    (a list of :class:`glisten.internet.ssl.Certificate` to verify the peer against, optional);
    the responder returns the same two keys for its side. Neither is sent on the wire. The
    TCP client of the connection is the TLS client. As in Twisted, a side that gives no
    authorities does not verify its peer.
    """

    commandName = b"StartTLS"
    arguments = [
        (b"tls_localCertificate", _LocalArgument(optional=True)),
        (b"tls_verifyAuthorities", _LocalArgument(optional=True)),
    ]
    response = [
        (b"tls_localCertificate", _LocalArgument(optional=True)),
        (b"tls_verifyAuthorities", _LocalArgument(optional=True)),
    ]
    responseType = _TLSBox

    def __init__(
        self,
        *,
        tls_localCertificate: Any = None,
        tls_verifyAuthorities: Any = None,
        **kw: Any,
    ) -> None:
        Command.__init__(self, **kw)
        self.certificate = (
            tls_localCertificate if tls_localCertificate is not None else _NoCertificate(True)
        )
        self.authorities = tls_verifyAuthorities

    def _doCommand(self, proto: Any) -> Deferred[Any] | None:
        d = Command._doCommand(self, proto)
        # Hold back boxes sent meanwhile: they must go out encrypted.
        proto._prepareTLS(self.certificate, self.authorities)

        def actuallyStart(response: Any) -> Any:
            proto._startTLS(self.certificate, self.authorities)
            return response

        assert d is not None
        return d.addCallback(actuallyStart)


# ---------------------------------------------------------------------- protocol switch


class _SwitchBox(AmpBox):
    """The answer to a :class:`ProtocolSwitchCommand`: once sent, the connection carries
    the inner protocol."""

    __slots__ = ("innerProto",)

    def __init__(self, innerProto: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.innerProto = innerProto

    def __repr__(self) -> str:
        return f"_SwitchBox({self.innerProto!r}, **{dict.__repr__(self)})"

    def _sendTo(self, proto: Any) -> None:
        proto.sendBox(self)
        proto._switchTo(self.innerProto)


class ProtocolSwitchCommand(Command):
    """A command after whose successful answer the connection stops carrying AMP.

    The caller passes the factory of the protocol to switch to (``callRemote(Cmd,
    factory, **args)``); its protocol gets the connection once the answer arrives. The
    responder returns the protocol instance to switch to instead of a dict. AMP boxes sent
    after the switch (or while it is pending) raise :class:`ProtocolSwitched`.
    """

    def __init__(self, _protoToSwitchToFactory: Any, **kw: Any) -> None:
        self.protoToSwitchToFactory = _protoToSwitchToFactory
        super().__init__(**kw)

    @classmethod
    def makeResponse(cls, innerProto: Any, proto: Any) -> AmpBox:
        return _SwitchBox(innerProto)

    def _doCommand(self, proto: Any) -> Deferred[Any] | None:
        d = super()._doCommand(proto)
        assert d is not None
        proto._lockForSwitch()
        factory = self.protoToSwitchToFactory

        def switchNow(result: Any) -> Any:
            inner = factory.buildProtocol(proto.transport.getPeer())
            proto._switchTo(inner, factory)
            return result

        def handle(failure: Failure) -> Failure:
            proto._unlockFromSwitch()
            factory.clientConnectionFailed(
                None, Failure(ierror.ConnectionLost("AMP protocol switch refused"))
            )
            return failure

        return d.addCallbacks(switchNow, handle)


# ------------------------------------------------------------------------------ locators


@implementer(IResponderLocator)
class CommandLocator:
    """Finds the responder for a command among methods decorated with
    ``@SomeCommand.responder``."""

    _commandDispatch: ClassVar[dict[bytes, tuple[type[Command], Callable[..., Any]]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dispatch: dict[bytes, tuple[type[Command], Callable[..., Any]]] = {}
        for base in reversed(cls.__mro__[1:]):
            dispatch.update(getattr(base, "_commandDispatch", {}))
        for value in cls.__dict__.values():
            for command in getattr(value, "_ampResponderFor", ()):
                dispatch[command.commandName] = (command, value)
        cls._commandDispatch = dispatch

    def locateResponder(self, name: bytes) -> Callable[[AmpBox], Deferred[AmpBox]] | None:
        """Return a callable that answers a box of command ``name``, or ``None``."""
        entry = self._commandDispatch.get(name)
        if entry is None:
            return None
        command, function = entry
        return self._wrapWithSerialization(function.__get__(self, type(self)), command)

    def _wrapWithSerialization(
        self, aCallable: Callable[..., Any], command: type[Command]
    ) -> Callable[[AmpBox], Deferred[AmpBox]]:
        def doit(box: AmpBox) -> Deferred[AmpBox]:
            try:
                kw = command.parseArguments(box, self)
            except _ArgumentError as e:
                return fail(RemoteAmpError(UNKNOWN_ERROR_CODE, str(e), fatal=True))

            def checkKnownErrors(failure: Failure) -> Failure:
                key = failure.trap(*command.allErrors) if command.allErrors else None
                if key is None:
                    return failure
                code = command.allErrors[key]  # type: ignore[index]
                fatal = key in command.fatalErrors
                return Failure(RemoteAmpError(code, str(failure.value), fatal=fatal, local=failure))

            def makeResponseFor(objects: Any) -> AmpBox:
                return command.makeResponse(objects, self)

            d = maybeDeferred(aCallable, **kw)
            d.addCallback(makeResponseFor)
            d.addErrback(checkKnownErrors)
            return d

        return doit


class SimpleStringLocator:
    """Finds responders by method name: ``amp_COMMANDNAME(box) -> dict``, with raw boxes."""

    baseDispatchPrefix = "amp_"

    def locateResponder(self, name: bytes) -> Callable[[AmpBox], Any] | None:
        try:
            method = getattr(self, self.baseDispatchPrefix + name.decode("ascii").upper())
        except (AttributeError, UnicodeDecodeError):
            return None

        def doit(box: AmpBox) -> Deferred[AmpBox]:
            return maybeDeferred(method, box).addCallback(AmpBox)

        return doit


# ---------------------------------------------------------------------------- dispatcher


@implementer(IBoxReceiver)
class BoxDispatcher:
    """Sends commands and routes received boxes: answers and errors to the waiting calls,
    commands to the responders found by ``locator``.

    :param locator: finds responders (``locateResponder(name)``).
    """

    _failAllReason: Failure | None = None
    boxSender: Any = None

    def __init__(self, locator: Any) -> None:
        self.locator = locator
        self.boxSender = None
        self._outstandingRequests: dict[bytes, Deferred[Any]] = {}
        self._counter = 0

    def startReceivingBoxes(self, boxSender: Any) -> None:
        """The connection is up: boxes go out through ``boxSender``."""
        self.boxSender = boxSender

    def stopReceivingBoxes(self, reason: Failure) -> None:
        """The connection is gone: fail every call still waiting."""
        self.failAllOutgoing(reason)

    def failAllOutgoing(self, reason: Failure) -> None:
        """Fail every outstanding call with ``reason``; later calls fail at once."""
        self._failAllReason = reason
        outstanding, self._outstandingRequests = self._outstandingRequests, {}
        for d in outstanding.values():
            d.errback(reason)

    def _nextTag(self) -> bytes:
        self._counter += 1
        return b"%x" % (self._counter,)

    def _sendBoxCommand(
        self, command: bytes, box: AmpBox, requiresAnswer: bool = True
    ) -> Deferred[Any] | None:
        if self._failAllReason is not None:
            return fail(self._failAllReason) if requiresAnswer else None
        if self.boxSender is None:
            return (
                fail(ierror.ConnectionClosed("AMP connection is not established"))
                if requiresAnswer
                else None
            )
        box[COMMAND] = command
        result: Deferred[Any] | None = None
        if requiresAnswer:
            tag = self._nextTag()
            box[ASK] = tag
            result = Deferred()
            self._outstandingRequests[tag] = result
        try:
            box._sendTo(self.boxSender)
        except BaseException:
            if requiresAnswer:
                self._outstandingRequests.pop(box[ASK], None)
                return fail(Failure())
            raise
        return result

    def callRemoteString(
        self, command: bytes, requiresAnswer: bool = True, **kw: bytes
    ) -> Deferred[AmpBox] | None:
        """Send ``command`` with raw bytes arguments; the Deferred fires with the raw box."""
        return self._sendBoxCommand(command, AmpBox(kw), requiresAnswer)

    def callRemote(self, commandType: type[Command], *a: Any, **kw: Any) -> Deferred[Any] | None:
        """Call ``commandType`` on the peer with keyword arguments.

        :return: a Deferred firing with the response dict (``None`` if the command requires
            no answer).
        """
        try:
            co = commandType(*a, **kw)
        except InvalidSignature:
            return fail(Failure())
        try:
            return co._doCommand(self)
        except (InvalidSignature, TypeError, ValueError, TooLong):
            return fail(Failure())

    def unhandledError(self, failure: Failure) -> None:
        """Something went wrong processing a box; the box sender logs it and disconnects."""
        self.boxSender.unhandledError(failure)

    def _answerReceived(self, box: AmpBox) -> None:
        question = self._outstandingRequests.pop(box[ANSWER], None)
        if question is None:
            raise MalformedAmpBox(f"answer to unknown request {box[ANSWER]!r}")
        question.callback(box)

    def _errorReceived(self, box: AmpBox) -> None:
        question = self._outstandingRequests.pop(box[ERROR], None)
        if question is None:
            raise MalformedAmpBox(f"error for unknown request {box[ERROR]!r}")
        code = box.get(ERROR_CODE, UNKNOWN_ERROR_CODE)
        description = box.get(ERROR_DESCRIPTION, b"")
        question.errback(RemoteAmpError(code, description))

    def _commandReceived(self, box: AmpBox) -> None:
        ask = box.get(ASK)

        def formatAnswer(answerBox: AmpBox) -> AmpBox:
            answerBox[ANSWER] = ask  # type: ignore[assignment]
            return answerBox

        def formatError(failure: Failure) -> AmpBox:
            errorBox: AmpBox
            if failure.check(RemoteAmpError):
                remote = failure.value
                assert isinstance(remote, RemoteAmpError)
                code = remote.errorCode
                description = remote.description.encode("utf-8")[:MAX_VALUE_LENGTH]
                errorBox = QuitBox() if remote.fatal else AmpBox()
                if remote.local is None and remote.errorCode != UNHANDLED_ERROR_CODE:
                    _log.warn("Bad AMP request from peer: {why}", why=remote.description)
            else:
                errorBox = QuitBox()
                _log.failure("Unhandled error in AMP responder", failure=failure)
                code = UNKNOWN_ERROR_CODE
                description = b"Unknown Error"
            errorBox[ERROR] = ask  # type: ignore[assignment]
            errorBox[ERROR_DESCRIPTION] = description
            errorBox[ERROR_CODE] = code
            return errorBox

        deferred = self.dispatchCommand(box)
        if ask is not None:
            deferred.addCallbacks(formatAnswer, formatError)
            deferred.addCallback(self._safeEmit)
        else:
            deferred.addErrback(self._logDropped)
        deferred.addErrback(self.unhandledError)

    def _logDropped(self, failure: Failure) -> None:
        if failure.check(RemoteAmpError) and getattr(failure.value, "local", None) is None:
            _log.warn("Bad AMP request from peer: {why}", why=str(failure.value))
            return
        _log.failure("Error in AMP command that requires no answer", failure=failure)

    def _safeEmit(self, box: AmpBox) -> None:
        if self.boxSender is None or self._failAllReason is not None:
            return
        box._sendTo(self.boxSender)

    def dispatchCommand(self, box: AmpBox) -> Deferred[AmpBox]:
        """Find the responder for ``box`` and return a Deferred of its answer box."""
        cmd = box[COMMAND]
        responder = self.locator.locateResponder(cmd)
        if responder is None:
            return fail(
                RemoteAmpError(
                    UNHANDLED_ERROR_CODE,
                    f"Unhandled Command: {cmd.decode('ascii', 'replace')!r}",
                    False,
                )
            )
        return maybeDeferred(responder, box)

    def ampBoxReceived(self, box: AmpBox) -> None:
        """Route a received box.

        :raises NoEmptyBoxes: it is neither command, answer nor error.
        """
        if ANSWER in box:
            self._answerReceived(box)
        elif ERROR in box:
            self._errorReceived(box)
        elif COMMAND in box:
            self._commandReceived(box)
        else:
            raise NoEmptyBoxes(box)


# ------------------------------------------------------------------------------ protocol


@implementer(IBoxSender, iinterfaces.IFileDescriptorReceiver)
class BinaryBoxProtocol(Protocol):
    """Parses boxes from the connection and hands them to ``boxReceiver``.

    :cvar maxBoxSize: bytes one received box may take (default 1 MiB).
    :cvar maxKeys: keys one received box may have.
    """

    maxBoxSize = 2**20
    maxKeys = 1024
    _decoder: AmpBoxDecoder | None = None
    _startingTLSBuffer: list[AmpBox] | None = None
    hostCertificate: Any = None
    #: The protocol the connection was switched to (see :class:`ProtocolSwitchCommand`).
    innerProtocol: Any = None
    innerProtocolClientFactory: Any = None
    _locked = False

    def __init__(self, boxReceiver: Any) -> None:
        self.boxReceiver = boxReceiver
        self._sendingDescriptorCounter = 0
        self._receivingDescriptorCounter = 0
        self._descriptors: dict[int, int] = {}

    def makeConnection(self, transport: Any) -> None:
        self._decoder = AmpBoxDecoder(self.maxBoxSize, self.maxKeys)
        self.boxReceiver.startReceivingBoxes(self)
        Protocol.makeConnection(self, transport)

    def dataReceived(self, data: bytes) -> None:
        inner = self.innerProtocol
        if inner is not None:
            inner.dataReceived(data)
            return
        decoder = self._decoder
        if decoder is None or self.transport is None or self.transport.disconnecting:
            return
        try:
            boxes = decoder.feed(data)
        except (AmpError, ValueError) as e:
            self._protocolError(e)
            return
        for index, box in enumerate(boxes):
            if self._decoder is None or self.transport.disconnecting:
                return
            try:
                self.boxReceiver.ampBoxReceived(box)
            except AmpError as e:
                self._protocolError(e)
                return
            inner = self.innerProtocol
            if inner is not None:
                # Switched: what followed this box belongs to the new protocol.
                rest = decoder.remainderAfter(index)
                self._decoder = None
                if rest:
                    inner.dataReceived(rest)
                return

    def _lockForSwitch(self) -> None:
        """A protocol switch was asked for: no more boxes may be sent."""
        if self._locked:
            raise ProtocolSwitched("a protocol switch is already pending")
        self._locked = True

    def _unlockFromSwitch(self) -> None:
        """The switch was refused: boxes may be sent again."""
        if self.innerProtocol is not None:
            raise ProtocolSwitched("Protocol already switched.  Cannot unlock.")
        self._locked = False

    def _switchTo(self, newProto: Any, clientFactory: Any = None) -> None:
        """Hand the connection to ``newProto`` (bytes already received after the switch
        box are given to it by :meth:`dataReceived`)."""
        self._locked = True
        self.innerProtocol = newProto
        self.innerProtocolClientFactory = clientFactory
        newProto.makeConnection(self.transport)

    def fileDescriptorReceived(self, descriptor: int) -> None:
        """A descriptor arrived (for a :class:`Descriptor` argument): keep it by number."""
        self._descriptors[self._receivingDescriptorCounter] = descriptor
        self._receivingDescriptorCounter += 1

    def _getDescriptor(self, index: int) -> int:
        """The descriptor a :class:`Descriptor` argument refers to.

        :raises ValueError: no descriptor with that number arrived.
        """
        try:
            return self._descriptors.pop(index)
        except KeyError:
            raise ValueError(f"no file descriptor number {index} was received") from None

    def _sendFileDescriptor(self, descriptor: int) -> int:
        """Send ``descriptor`` over the (Unix) transport; return its sequence number."""
        self.transport.sendFileDescriptor(descriptor)
        index = self._sendingDescriptorCounter
        self._sendingDescriptorCounter += 1
        return index

    def _protocolError(self, reason: BaseException) -> None:
        """The peer broke the protocol: drop the connection and fail waiting calls."""
        _log.info("Dropping AMP connection: {reason}", reason=str(reason))
        self._decoder = None
        self.boxReceiver.stopReceivingBoxes(Failure(reason))
        self.transport.loseConnection()

    def sendBox(self, box: AmpBox) -> None:
        """Write ``box`` to the transport.

        :raises ProtocolSwitched: the connection is gone.
        """
        if self.transport is None:
            raise ProtocolSwitched("no transport to send boxes with")
        if self._locked and not isinstance(box, _SwitchBox):
            raise ProtocolSwitched("This connection has switched: no AMP traffic allowed.")
        if self._startingTLSBuffer is not None:
            self._startingTLSBuffer.append(box)
            return
        self.transport.write(box.serialize())

    def _prepareTLS(self, certificate: Any, verifyAuthorities: Any) -> None:
        """StartTLS was sent: buffer outgoing boxes until TLS is on."""
        self._startingTLSBuffer = []

    def _startTLS(self, certificate: Any, verifyAuthorities: Any) -> None:
        """Start TLS on the transport (this side is the TLS client if it is the TCP client),
        then send the boxes held back meanwhile."""
        self.hostCertificate = certificate
        options = certificate.options(*(verifyAuthorities or ()))
        startTLS = getattr(self.transport, "startTLS", None)
        if startTLS is not None:
            startTLS(options)
        else:
            from glisten.internet import tcp
            from glisten.protocols.tls import startTLS as startTLSOn

            startTLSOn(self.transport, options, client=isinstance(self.transport, tcp.Client))
        held, self._startingTLSBuffer = self._startingTLSBuffer, None
        for box in held or ():
            self.sendBox(box)

    @property
    def peerCertificate(self) -> Any:
        """The peer's certificate once TLS is on (``getPeerCertificate`` of the transport)."""
        return self.transport.getPeerCertificate()

    def unhandledError(self, failure: Failure) -> None:
        """Log ``failure`` and drop the connection."""
        _log.failure(
            "Amp server or network failure unhandled by client application.", failure=failure
        )
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        Protocol.connectionLost(self, reason)
        inner = self.innerProtocol
        if inner is not None:
            inner.connectionLost(reason)
            if self.innerProtocolClientFactory is not None:
                self.innerProtocolClientFactory.clientConnectionLost(None, reason)
        decoder, self._decoder = self._decoder, None
        if decoder is not None and decoder.pending():
            reason = Failure(ierror.ConnectionLost("Connection lost in the middle of a box"))
        self.boxReceiver.stopReceivingBoxes(reason)


class AMP(BinaryBoxProtocol, BoxDispatcher, CommandLocator, SimpleStringLocator):
    """An AMP connection: send commands with :meth:`callRemote`, answer them with
    ``@Command.responder`` methods (or ``amp_NAME`` methods)."""

    def __init__(self, boxReceiver: Any = None, locator: Any = None) -> None:
        if boxReceiver is None:
            boxReceiver = self
        if locator is None:
            locator = self
        BoxDispatcher.__init__(self, locator)
        BinaryBoxProtocol.__init__(self, boxReceiver)

    def locateResponder(self, name: bytes) -> Callable[[AmpBox], Any] | None:
        """Find a ``@Command.responder`` method, else an ``amp_NAME`` method."""
        responder = CommandLocator.locateResponder(self, name)
        if responder is None:
            responder = SimpleStringLocator.locateResponder(self, name)
        return responder

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at 0x{id(self):x}>"
