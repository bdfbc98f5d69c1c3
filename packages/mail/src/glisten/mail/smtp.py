"""Simple Mail Transfer Protocol (RFC 5321) with ESMTP extensions: Twisted's
``twisted.mail.smtp`` API over glisten's sans-I/O codec (:mod:`glisten.mail._smtp`).

Servers: :class:`SMTP`, :class:`ESMTP` and :class:`SMTPFactory`, with an
:class:`IMessageDelivery` deciding senders and recipients and making an :class:`IMessage` per
recipient. Clients: :class:`SMTPClient`, :class:`ESMTPClient`, the sender factories and
:func:`sendmail`.

Where glisten differs from Twisted, on purpose: AUTH is only offered under TLS unless
``ESMTP.authOverPlaintext`` is set; plaintext pipelined after ``STARTTLS`` is thrown away
(CVE-2011-0411); message text with bare CR or LF is refused and outgoing text is normalised to
CRLF (no "SMTP smuggling"); STARTTLS on the client verifies the server's certificate.
"""

from glisten.mail._smtp import Limits
from glisten.mail._smtpclient import (
    CramMD5ClientAuthenticator,
    ESMTPClient,
    ESMTPSender,
    ESMTPSenderFactory,
    LOGINAuthenticator,
    PLAINAuthenticator,
    SenderMixin,
    SMTPClient,
    SMTPSender,
    SMTPSenderFactory,
    sendmail,
)
from glisten.mail._smtpcommon import (
    DNSNAME,
    SUCCESS,
    Address,
    AddressError,
    AUTHDeclinedError,
    AuthenticationError,
    AUTHRequiredError,
    CramMD5Credentials,
    EHLORequiredError,
    ESMTPClientError,
    IClientAuthentication,
    ICramMD5Credentials,
    IMessage,
    IMessageDelivery,
    IMessageDeliveryFactory,
    SMTPAddressError,
    SMTPBadRcpt,
    SMTPBadSender,
    SMTPClientError,
    SMTPConnectError,
    SMTPDeliveryError,
    SMTPError,
    SMTPProtocolError,
    SMTPServerError,
    SMTPTimeoutError,
    SMTPTLSError,
    TLSRequiredError,
    User,
    messageid,
    quoteaddr,
    rfc822date,
    xtext_decode,
    xtext_encode,
)
from glisten.mail._smtpserver import ESMTP, SMTP, LOGINCredentials, PLAINCredentials, SMTPFactory

__all__ = [
    "DNSNAME",
    "ESMTP",
    "SMTP",
    "SUCCESS",
    "AUTHDeclinedError",
    "AUTHRequiredError",
    "Address",
    "AddressError",
    "AuthenticationError",
    "CramMD5ClientAuthenticator",
    "CramMD5Credentials",
    "EHLORequiredError",
    "ESMTPClient",
    "ESMTPClientError",
    "ESMTPSender",
    "ESMTPSenderFactory",
    "IClientAuthentication",
    "ICramMD5Credentials",
    "IMessage",
    "IMessageDelivery",
    "IMessageDeliveryFactory",
    "LOGINAuthenticator",
    "LOGINCredentials",
    "Limits",
    "PLAINAuthenticator",
    "PLAINCredentials",
    "SMTPAddressError",
    "SMTPBadRcpt",
    "SMTPBadSender",
    "SMTPClient",
    "SMTPClientError",
    "SMTPConnectError",
    "SMTPDeliveryError",
    "SMTPError",
    "SMTPFactory",
    "SMTPProtocolError",
    "SMTPSender",
    "SMTPSenderFactory",
    "SMTPServerError",
    "SMTPTLSError",
    "SMTPTimeoutError",
    "SenderMixin",
    "TLSRequiredError",
    "User",
    "messageid",
    "quoteaddr",
    "rfc822date",
    "sendmail",
    "xtext_decode",
    "xtext_encode",
]
