"""HTTP authentication in front of resources, as in ``twisted.web.guard``.

Wrap a :class:`~glisten.cred.portal.Portal` whose realm returns resources::

    wrapper = HTTPAuthSessionWrapper(
        Portal(realm, [checker]),
        [DigestCredentialFactory(b"sha-256", b"example.com"), BasicCredentialFactory(b"example.com")],
    )

Requests without valid credentials get ``401 Unauthorized`` with one ``WWW-Authenticate``
challenge per factory. Secrets are compared in constant time throughout.
"""

from glisten.web._auth.basic import BasicCredentialFactory
from glisten.web._auth.digest import DigestCredentialFactory, DigestedCredentials
from glisten.web._auth.wrapper import HTTPAuthSessionWrapper, UnauthorizedResource

__all__ = [
    "BasicCredentialFactory",
    "DigestCredentialFactory",
    "DigestedCredentials",
    "HTTPAuthSessionWrapper",
    "UnauthorizedResource",
]
