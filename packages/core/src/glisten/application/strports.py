"""Services and listening ports from endpoint description strings."""

from __future__ import annotations

from typing import Any

from .internet import StreamServerEndpointService


def service(description: str, factory: Any, reactor: Any = None) -> StreamServerEndpointService:
    """A service listening with ``factory`` on the endpoint ``description`` (``tcp:8080``).

    :raises ValueError: if the description is malformed; the message names the bad field.
    """
    from ..internet.endpoints import serverFromString

    if reactor is None:
        from ..internet import reactor as globalReactor

        reactor = globalReactor
    return StreamServerEndpointService(serverFromString(reactor, description), factory)


def listen(description: str, factory: Any) -> Any:
    """Listen on ``description`` with the global reactor now.

    :return: a Deferred firing with the listening port.
    """
    from ..internet import reactor
    from ..internet.endpoints import serverFromString

    return serverFromString(reactor, description).listen(factory)


__all__ = ["listen", "service"]
