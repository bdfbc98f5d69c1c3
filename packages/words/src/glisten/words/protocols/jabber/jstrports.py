"""Twisted's ``jstrports``: the connection descriptions component programs use,
``tcp:HOST:PORT`` and ``unix:PATH``, turned into client services.

(Twisted also maps ``ssl:HOST:PORT`` here, to a client without TLS settings; glisten refuses it:
use an endpoint string, which verifies the server, for TLS.)
"""

from __future__ import annotations

from typing import Any

from glisten.application.internet import TCPClient, UNIXClient
from glisten.application.service import Service

__all__ = ["client", "parse"]


def parse(description: str, factory: Any) -> tuple[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    """Split a description into the reactor method's name and its arguments.

    :param description: ``tcp:HOST:PORT`` (an IPv6 address in brackets) or ``unix:PATH``.
    :param factory: the client factory to connect.
    :return: ``("TCP", ((host, port, factory), {}))`` or ``("UNIX", ((path, factory), {}))``.
    :raises ValueError: neither form.
    """
    kind, _, rest = description.partition(":")
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return "TCP", ((host.removeprefix("[").removesuffix("]"), int(port), factory), {})
    elif kind == "unix" and rest:
        return "UNIX", ((rest, factory), {})
    raise ValueError("a connection description is tcp:HOST:PORT or unix:PATH")


def client(description: str, factory: Any, reactor: Any = None) -> Service:
    """:return: a service that connects ``factory`` as ``description`` says when it starts.

    :param reactor: the reactor (None: the global one, looked up when the service starts).
    :raises ValueError: see :func:`parse`.
    """
    method, (args, kwargs) = parse(description, factory)
    service = TCPClient if method == "TCP" else UNIXClient
    return service(*args, reactor=reactor, **kwargs)
