"""Services and listening ports from endpoint description strings."""

from __future__ import annotations

from typing import Any

from glisten.internet.main import getReactor

from .internet import StreamServerEndpointService


def service(description: str, factory: Any, reactor: Any = None) -> StreamServerEndpointService:
    """A service listening with ``factory`` on the endpoint ``description`` (``tcp:8080``).

    :raises ValueError: if the description is malformed; the message names the bad field.
    """
    from ..internet.endpoints import serverFromString

    return StreamServerEndpointService(serverFromString(getReactor(reactor), description), factory)


def listen(description: str, factory: Any) -> Any:
    """Listen on ``description`` with the global reactor now.

    :return: a Deferred firing with the listening port.
    """
    from ..internet.endpoints import serverFromString

    return serverFromString(getReactor(), description).listen(factory)


__all__ = ["listen", "service"]
