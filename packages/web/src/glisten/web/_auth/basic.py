"""HTTP Basic authentication (RFC 7617): :class:`BasicCredentialFactory`."""

from __future__ import annotations

import base64
import binascii

from zope.interface import implementer

from glisten.cred import credentials, error
from glisten.web.iweb import ICredentialFactory, IRequest


@implementer(ICredentialFactory)
class BasicCredentialFactory:
    """Reads ``Authorization: Basic`` credentials as
    :class:`~glisten.cred.credentials.UsernamePassword`.

    Basic sends the password in the clear on every request: use it only over TLS.

    :param authenticationRealm: The realm the challenge names.
    """

    scheme = b"basic"

    def __init__(self, authenticationRealm: bytes | str) -> None:
        self.authenticationRealm = (
            authenticationRealm.encode("utf-8")
            if isinstance(authenticationRealm, str)
            else authenticationRealm
        )

    def getChallenge(self, request: IRequest) -> dict[str, bytes | str]:
        """The parameters of the ``WWW-Authenticate: Basic`` challenge."""
        return {"realm": self.authenticationRealm, "charset": "UTF-8"}

    def decode(self, response: bytes, request: IRequest) -> credentials.UsernamePassword:
        """The credentials in ``response`` (what follows ``Basic``).

        :raises glisten.cred.error.LoginFailed: It is not base64 of ``user:password``.
        """
        try:
            decoded = base64.b64decode(response.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise error.LoginFailed("Invalid credentials") from None
        username, sep, password = decoded.partition(b":")
        if not sep:
            raise error.LoginFailed("Invalid credentials")
        return credentials.UsernamePassword(username, password)
