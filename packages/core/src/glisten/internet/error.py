"""
The exceptions of the reactor and transports, named as in Twisted's ``twisted.internet.error``.
"""

from __future__ import annotations

import errno
import socket

from glisten.internet.interfaces import IAddress


class BindError(Exception):
    """
    An address could not be bound.
    """

    def __str__(self) -> str:
        s = (self.__doc__ or self.__class__.__name__).strip().splitlines()[0].rstrip(".")
        if self.args:
            s = "{}: {}".format(s, " ".join(str(a) for a in self.args))
        return s + "."


class CannotListenError(BindError):
    """
    Could not listen on a port.

    :ivar interface: the interface asked for.
    :ivar port: the port asked for.
    :ivar socketError: the underlying error.
    """

    def __init__(self, interface: str, port: object, socketError: BaseException) -> None:
        BindError.__init__(self, interface, port, socketError)
        self.interface = interface
        self.port = port
        self.socketError = socketError

    def __str__(self) -> str:
        iface = self.interface or "any"
        return f"Couldn't listen on {iface}:{self.port}: {self.socketError}."


class MulticastJoinError(Exception):
    """
    Joining a multicast group failed.
    """


class MessageLengthError(Exception):
    """
    A datagram was too long to send or receive.
    """

    def __str__(self) -> str:
        s = "Message is too long to send"
        if self.args:
            s = "{}: {}".format(s, " ".join(str(a) for a in self.args))
        return s + "."


class DNSLookupError(OSError):
    """
    A hostname could not be resolved.
    """

    def __str__(self) -> str:
        s = "DNS lookup failed"
        if self.args:
            s = "{}: {}".format(s, " ".join(str(a) for a in self.args))
        return s + "."


class ConnectInProgressError(Exception):
    """
    A connection attempt is already under way.
    """


class ConnectError(Exception):
    """
    A connection attempt failed.

    :ivar osError: the errno, when known.
    """

    def __init__(self, osError: object = None, string: str = "") -> None:
        self.osError = osError
        Exception.__init__(self, string)

    def __str__(self) -> str:
        s = (self.__doc__ or self.__class__.__name__).strip().splitlines()[0].rstrip(".")
        if self.osError:
            s = f"{s}: {self.osError}"
        if self.args[0]:
            s = f"{s}: {self.args[0]}"
        return s + "."


class ConnectBindError(ConnectError):
    """
    Could not bind the local address of a connection.
    """


class UnknownHostError(ConnectError):
    """
    The host to connect to is unknown.
    """


class NoRouteError(ConnectError):
    """
    No route to host.
    """


class ConnectionRefusedError(ConnectError):
    """
    Connection was refused by other side.
    """


class TCPTimedOutError(ConnectError):
    """
    TCP connection timed out.
    """


class BadFileError(ConnectError):
    """
    File used for UNIX socket is no good.
    """


class ServiceNameUnknownError(ConnectError):
    """
    Service name given as port is unknown.
    """


class UserError(ConnectError):
    """
    User aborted connection.
    """


class TimeoutError(UserError):
    """
    User timeout caused connection failure.
    """


class SSLError(ConnectError):
    """
    An SSL error occurred.
    """


class VerifyError(Exception):
    """
    Could not verify something that was supposed to be signed.
    """


class PeerVerifyError(VerifyError):
    """
    The peer rejected our verify error.
    """


class CertificateError(Exception):
    """
    We did not find a certificate where we expected to find one.
    """


_errnoMapping: dict[int, type[ConnectError]] = {
    errno.ENETUNREACH: NoRouteError,
    errno.EHOSTUNREACH: NoRouteError,
    errno.ECONNREFUSED: ConnectionRefusedError,
    errno.ETIMEDOUT: TCPTimedOutError,
}


def getConnectError(e: BaseException | tuple[object, ...]) -> ConnectError:
    """
    Translate a socket error into the matching :class:`ConnectError`.

    :param e: an ``OSError`` or an ``(errno, message)`` pair.
    :return: the ConnectError subclass instance describing it.
    """
    if isinstance(e, tuple):
        number, string = e[0], str(e[1]) if len(e) > 1 else ""
    elif isinstance(e, socket.gaierror):
        return UnknownHostError(string=str(e))
    elif isinstance(e, OSError):
        number, string = e.errno, e.strerror or str(e)
    else:
        return ConnectError(string=str(e))
    klass = _errnoMapping.get(number, ConnectError) if isinstance(number, int) else ConnectError
    return klass(number, string)


class ConnectionClosed(Exception):
    """
    Connection was closed, whether cleanly or non-cleanly.
    """


class ConnectionLost(ConnectionClosed):
    """
    Connection to the other side was lost in a non-clean fashion.
    """

    def __str__(self) -> str:
        s = (self.__doc__ or "").strip().splitlines()[0].rstrip(".")
        if self.args:
            s = "{}: {}".format(s, " ".join(str(a) for a in self.args))
        return s + "."


class ConnectionAborted(ConnectionLost):
    """
    Connection was aborted locally, using abortConnection.
    """


class ConnectionDone(ConnectionClosed):
    """
    Connection was closed cleanly.
    """

    def __str__(self) -> str:
        s = (self.__doc__ or "").strip().splitlines()[0].rstrip(".")
        if self.args:
            s = "{}: {}".format(s, " ".join(str(a) for a in self.args))
        return s + "."


class FileDescriptorOverrun(ConnectionLost):
    """
    More file descriptors were received than the protocol could handle; the connection is closed
    because the descriptors cannot be matched with the data any more.
    """


class ConnectionFdescWentAway(ConnectionLost):
    """
    The file descriptor was closed under us.
    """


class AlreadyCalled(ValueError):
    """
    Tried to cancel an already-called event.
    """


class AlreadyCancelled(ValueError):
    """
    Tried to cancel an already-cancelled event.
    """


class PotentialZombieWarning(Warning):
    """
    Emitted when a child process might not be reaped.
    """


class ProcessDone(ConnectionDone):
    """
    A process has ended without apparent errors.
    """

    def __init__(self, status: int | None) -> None:
        Exception.__init__(self, "process finished with exit code 0")
        self.exitCode = 0
        self.signal: int | None = None
        self.status = status


class ProcessTerminated(ConnectionLost):
    """
    A process has ended with a probable error condition.

    :ivar exitCode: the exit code, or None if killed by a signal.
    :ivar signal: the signal number, or None.
    :ivar status: the raw wait status.
    """

    def __init__(
        self, exitCode: int | None = None, signal: int | None = None, status: int | None = None
    ) -> None:
        self.exitCode = exitCode
        self.signal = signal
        self.status = status
        s = "process ended"
        if exitCode is not None:
            s += f" with exit code {exitCode}"
        if signal is not None:
            s += f" by signal {signal}"
        Exception.__init__(self, s)


class ProcessExitedAlready(Exception):
    """
    The process has already exited, and the operation requested can no longer be performed.
    """


class NotConnectingError(RuntimeError):
    """
    The Connector was not connecting when it was asked to stop connecting.
    """


class NotListeningError(RuntimeError):
    """
    The Port was not listening when it was asked to stop listening.
    """


class ReactorNotRunning(RuntimeError):
    """
    An operation that needs a running reactor was attempted on one that is not running.
    """


class ReactorNotRestartable(RuntimeError):
    """
    A reactor that cannot be restarted was asked to run again.
    """


class ReactorAlreadyRunning(RuntimeError):
    """
    The reactor was asked to run while already running.
    """


class ReactorAlreadyInstalledError(AssertionError):
    """
    A reactor was installed while one already is.
    """


class ConnectingCancelledError(Exception):
    """
    A connection attempt was cancelled.

    :ivar address: the IAddress that was being connected to.
    """

    def __init__(self, address: IAddress) -> None:
        Exception.__init__(self, address)
        self.address = address


class NoProtocol(Exception):
    """
    The factory returned no protocol for a connection.
    """


class UnsupportedAddressFamily(Exception):
    """
    An address family was given that the operation does not support.
    """


class UnsupportedSocketType(Exception):
    """
    A socket type was given that the operation does not support.
    """


class AlreadyListened(Exception):
    """
    A port that can listen only once was asked to listen again.
    """


class InvalidAddressError(ValueError):
    """
    An address was malformed.

    :ivar address: the address.
    :ivar message: why it is invalid.
    """

    def __init__(self, address: object, message: str) -> None:
        ValueError.__init__(self, address, message)
        self.address = address
        self.message = message


__all__ = [
    "AlreadyCalled",
    "AlreadyCancelled",
    "AlreadyListened",
    "BadFileError",
    "BindError",
    "CannotListenError",
    "CertificateError",
    "ConnectBindError",
    "ConnectError",
    "ConnectInProgressError",
    "ConnectingCancelledError",
    "ConnectionAborted",
    "ConnectionClosed",
    "ConnectionDone",
    "ConnectionFdescWentAway",
    "ConnectionLost",
    "ConnectionRefusedError",
    "DNSLookupError",
    "FileDescriptorOverrun",
    "InvalidAddressError",
    "MessageLengthError",
    "MulticastJoinError",
    "NoProtocol",
    "NoRouteError",
    "NotConnectingError",
    "NotListeningError",
    "PeerVerifyError",
    "PotentialZombieWarning",
    "ProcessDone",
    "ProcessExitedAlready",
    "ProcessTerminated",
    "ReactorAlreadyInstalledError",
    "ReactorAlreadyRunning",
    "ReactorNotRestartable",
    "ReactorNotRunning",
    "SSLError",
    "ServiceNameUnknownError",
    "TCPTimedOutError",
    "TimeoutError",
    "UnknownHostError",
    "UnsupportedAddressFamily",
    "UnsupportedSocketType",
    "UserError",
    "VerifyError",
    "getConnectError",
]
