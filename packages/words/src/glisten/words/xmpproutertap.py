"""The ``glisten xmpp-router`` command: an XEP-0114 component router, as Twisted's
``twistd xmpp-router``.

``glisten xmpp-router --secret-file FILE`` listens on ``tcp:5347:interface=127.0.0.1`` and
routes stanzas between the components that connect with that secret, by the domain of each
stanza's ``to``. Unlike Twisted, there is no default secret: one must be given, and the default
address is the loopback interface only.
"""

from __future__ import annotations

import argparse
from typing import Any

from zope.interface import implementer

from glisten.application.internet import StreamServerEndpointService
from glisten.application.service import IService, IServiceMaker, MultiService
from glisten.internet.main import getReactor

__all__ = ["XMPPRouterServiceMaker", "makeService", "serviceMaker"]


def _readSecret(options: argparse.Namespace) -> str:
    if options.secret_file:
        try:
            with open(options.secret_file, encoding="utf-8") as f:
                secret = f.read().strip()
        except OSError as e:
            raise ValueError(
                f"--secret-file: cannot read {options.secret_file!r}: {e.strerror}"
            ) from None
    else:
        secret = options.secret or ""
    if not secret:
        raise ValueError("a component secret is required: --secret-file FILE or --secret TEXT")
    return secret


def makeService(options: argparse.Namespace, reactor: Any = None) -> MultiService:
    """Build the router service the options describe.

    :raises ValueError: with a message for the user.
    """
    from glisten.internet.endpoints import serverFromString
    from glisten.words.protocols.jabber import component

    reactor = getReactor(reactor)
    router = component.Router()
    factory = component.XMPPComponentServerFactory(router, _readSecret(options))
    factory.logTraffic = bool(options.verbose)
    top = MultiService()
    endpoint = serverFromString(reactor, options.port)
    StreamServerEndpointService(endpoint, factory).setServiceParent(top)
    top.router = router  # type: ignore[attr-defined]
    return top


@implementer(IServiceMaker)
class XMPPRouterServiceMaker:
    """The ``xmpp-router`` plugin of the ``glisten`` command."""

    tapname = "xmpp-router"
    description = "An XMPP component router (XEP-0114)."

    def addArguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--port",
            default="tcp:5347:interface=127.0.0.1",
            metavar="ENDPOINT",
            help="where components connect (default tcp:5347:interface=127.0.0.1)",
        )
        parser.add_argument("--secret-file", metavar="FILE", help="a file holding the secret")
        parser.add_argument(
            "--secret", metavar="TEXT", help="the secret (visible in the process list)"
        )
        parser.add_argument("-v", "--verbose", action="store_true", help="log all traffic")

    def makeService(self, options: argparse.Namespace, reactor: Any = None) -> IService:
        return makeService(options, reactor)


#: The object the ``glisten.plugins`` entry point ``xmpp-router`` names.
serviceMaker = XMPPRouterServiceMaker()
