"""What the SMTP server and client adapters share: errors, addresses, interfaces, helpers.

Everything here is re-exported by :mod:`glisten.mail.smtp` under Twisted's names.
"""

from __future__ import annotations

import email.utils
import os
import socket
import time
from typing import Any

from zope.interface import Attribute, Interface, implementer

from glisten.cred.credentials import IUsernameHashedPassword
from glisten.mail._smtp import Mailbox, parseMailbox
from glisten.mail._smtp._address import decodeXtext, encodeXtext
from glisten.mail._smtp._sasl import cramVerify

#: This host's name, the default in greetings and ``EHLO``.
DNSNAME = socket.getfqdn().encode("idna") if socket.getfqdn().isascii() else b"localhost"

SUCCESS = frozenset(range(200, 300))


# -- errors --------------------------------------------------------------------------------


class SMTPError(Exception):
    """Base class of glisten.mail.smtp's errors."""


class SMTPClientError(SMTPError):
    """The server refused something, or the session broke, on the client side.

    :ivar code: The reply code (``0`` when there was no reply).
    :ivar resp: The reply text.
    :ivar log: A transcript of the session's last lines, if kept.
    :ivar addresses: Per-recipient results ``[(address, code, resp)]``, if any.
    :ivar isFatal: The connection cannot be used any more.
    :ivar retry: Trying again later may work.
    """

    def __init__(
        self,
        code: int,
        resp: bytes | str,
        log: Any = None,
        addresses: Any = None,
        isFatal: bool = False,
        retry: bool = False,
    ) -> None:
        if isinstance(resp, str):
            resp = resp.encode("utf-8")
        super().__init__(code, resp)
        self.code = code
        self.resp = resp
        self.log = log
        self.addresses = addresses
        self.isFatal = isFatal
        self.retry = retry

    def __str__(self) -> str:
        text = self.resp.decode("utf-8", "replace")
        return f"{self.code} {text}" if self.code > 0 else text

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


class ESMTPClientError(SMTPClientError):
    """An ESMTP-specific failure on the client side."""


class EHLORequiredError(ESMTPClientError):
    """The server does not speak ESMTP, and the client needs it."""


class AUTHRequiredError(ESMTPClientError):
    """Authentication was required, but the server offers no usable mechanism."""


class AUTHDeclinedError(ESMTPClientError):
    """The server refused the credentials."""


class AuthenticationError(ESMTPClientError):
    """Something went wrong during the SASL exchange."""


class TLSRequiredError(ESMTPClientError):
    """TLS was required, but the server does not offer STARTTLS (or it failed)."""


class SMTPTLSError(ESMTPClientError):
    """The TLS negotiation failed."""


class SMTPConnectError(SMTPClientError):
    """The connection failed or the server refused the session."""


class SMTPTimeoutError(SMTPClientError):
    """The server did not answer in time."""


class SMTPProtocolError(SMTPClientError):
    """The server broke the protocol."""


class SMTPDeliveryError(SMTPClientError):
    """The message was not delivered (sender or all recipients refused, or the data)."""


class SMTPServerError(SMTPError):
    """An error a server answers with ``code`` and ``resp``."""

    def __init__(self, code: int, resp: bytes | str) -> None:
        if isinstance(resp, str):
            resp = resp.encode("utf-8")
        super().__init__(code, resp)
        self.code = code
        self.resp = resp

    def __str__(self) -> str:
        return "%.3d %s" % (self.code, self.resp.decode("utf-8", "replace"))


class SMTPAddressError(SMTPServerError):
    """An address was refused: ``code``, ``resp`` and the address are in the reply."""

    def __init__(self, addr: Any, code: int, resp: bytes | str) -> None:
        if not isinstance(addr, Address):
            addr = Address(addr)
        if isinstance(resp, str):
            resp = resp.encode("utf-8")
        super().__init__(code, resp)
        self.addr = addr

    def __str__(self) -> str:
        return "%.3d <%s>... %s" % (self.code, self.addr, self.resp.decode("utf-8", "replace"))


class SMTPBadRcpt(SMTPAddressError):
    """Raise from ``validateTo`` to refuse a recipient (550 by default)."""

    def __init__(
        self,
        addr: Any,
        code: int = 550,
        resp: bytes | str = b"Cannot receive for specified address",
    ) -> None:
        super().__init__(addr, code, resp)


class SMTPBadSender(SMTPAddressError):
    """Raise from ``validateFrom`` to refuse a sender (550 by default)."""

    def __init__(
        self, addr: Any, code: int = 550, resp: bytes | str = b"Sender not acceptable"
    ) -> None:
        super().__init__(addr, code, resp)


class AddressError(SMTPError):
    """A string is not a valid mail address."""


# -- addresses -----------------------------------------------------------------------------


class Address:
    """A mail address ``local@domain``, as Twisted's ``smtp.Address``.

    :param addr: ``bytes``/``str`` (``<a@b>`` or ``a@b``), another :class:`Address`, or a
        :class:`User` (its destination).
    :param defaultDomain: The domain to use when ``addr`` has none.
    :ivar local: The local part (``bytes``, quotes kept).
    :ivar domain: The domain (``bytes``).
    :raises AddressError: if ``addr`` is not a mailbox.
    """

    local: bytes
    domain: bytes
    addrstr: bytes

    def __init__(self, addr: Any, defaultDomain: bytes | str | None = None) -> None:
        if isinstance(addr, User):
            addr = addr.dest
        if isinstance(addr, Address):
            self.local, self.domain = addr.local, addr.domain
            self.addrstr = addr.addrstr
            return
        if isinstance(addr, Mailbox):
            self.local, self.domain = addr.local, addr.domain
            self.addrstr = bytes(addr)
            return
        if isinstance(addr, str):
            addr = addr.encode("utf-8")
        if not isinstance(addr, bytes):
            raise AddressError(f"cannot make an address of {type(addr).__name__}")
        text = addr.strip()
        if text.startswith(b"<") and text.endswith(b">"):
            text = text[1:-1]
        self.addrstr = text
        if not text:
            self.local = self.domain = b""
            return
        if b"@" not in text:
            if defaultDomain is None:
                self.local, self.domain = text, b""
                if not all(33 <= c < 127 or c >= 128 for c in text):
                    raise AddressError("invalid address")
                return
            if isinstance(defaultDomain, str):
                defaultDomain = defaultDomain.encode("idna")
            text = text + b"@" + defaultDomain
        box = parseMailbox(text, utf8=True)
        if box is None:
            raise AddressError("invalid address")
        self.local, self.domain = box.local, box.domain

    def dequote(self, addr: bytes) -> bytes:
        """Remove the quotes of a quoted-string local part."""
        return Mailbox(addr, b"").unquotedLocal

    def __bytes__(self) -> bytes:
        if self.domain:
            return self.local + b"@" + self.domain
        return self.local

    def __str__(self) -> str:
        return bytes(self).decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Address):
            return (self.local, self.domain.lower()) == (other.local, other.domain.lower())
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.local, self.domain.lower()))


class User:
    """A recipient during a transaction, as Twisted's ``smtp.User``.

    :ivar dest: The recipient :class:`Address`.
    :ivar helo: ``(name given in HELO/EHLO, client IP)``.
    :ivar protocol: The :class:`SMTP` instance.
    :ivar orig: The sender :class:`Address`.
    :ivar params: The recipient's DSN parameters (``glisten.mail._smtp.RcptParams``).
    """

    def __init__(
        self, destination: Any, helo: Any, protocol: Any, orig: Any, params: Any = None
    ) -> None:
        self.dest = Address(destination)
        self.helo = helo
        self.protocol = protocol
        self.orig = orig if isinstance(orig, Address) else Address(orig)
        self.params = params

    def __getstate__(self) -> dict[str, Any]:
        return {"dest": self.dest, "helo": self.helo, "protocol": None, "orig": self.orig}

    def __str__(self) -> str:
        return str(self.dest)

    def __bytes__(self) -> bytes:
        return bytes(self.dest)


# -- interfaces ----------------------------------------------------------------------------


class IMessage(Interface):
    """A message being received for one (or more) recipients."""

    def lineReceived(line: bytes) -> None:
        """One line of the message, without its CRLF and with transparency dots removed."""

    def eomReceived() -> Any:
        """The message is complete: return a Deferred that fires once it is safe (stored
        durably); a failure makes the server refuse the message."""

    def connectionLost() -> None:
        """The message was abandoned: throw away what arrived."""


class IMessageDelivery(Interface):
    """Decides who may send and receive; builds the :class:`IMessage` for each recipient."""

    def receivedHeader(helo: Any, origin: Any, recipients: Any) -> bytes:
        """:return: the ``Received:`` header line to put on top of the message."""

    def validateFrom(helo: Any, origin: Any) -> Any:
        """Accept the sender (return it, or a Deferred of it) or raise :class:`SMTPBadSender`."""

    def validateTo(user: Any) -> Any:
        """Accept a recipient: return a no-argument callable making its :class:`IMessage`
        (or a Deferred of one); raise :class:`SMTPBadRcpt` to refuse."""


class IMessageDeliveryFactory(Interface):
    """Makes an :class:`IMessageDelivery` per transaction."""

    def getMessageDelivery() -> Any:
        """:return: an :class:`IMessageDelivery`."""


class IClientAuthentication(Interface):
    """A SASL mechanism on the client side (Twisted's name)."""

    def getName() -> bytes:
        """:return: the mechanism name."""

    def challengeResponse(secret: bytes, challenge: bytes) -> bytes:
        """:return: the answer to ``challenge``."""


class ICramMD5Credentials(IUsernameHashedPassword):
    """CRAM-MD5 credentials: checked against a clear-text password."""

    challenge = Attribute("The challenge the server sent.")
    response = Attribute("The hex digest the client answered.")


@implementer(ICramMD5Credentials)
class CramMD5Credentials:
    """The answer to a CRAM-MD5 challenge (RFC 2195).

    ``checkPassword`` recomputes the HMAC with the stored clear-text password and compares in
    constant time; a checker that stores only hashes cannot verify these, and the server does
    not offer CRAM-MD5 unless configured to.
    """

    def __init__(self, username: bytes, challenge: bytes, response: bytes) -> None:
        self.username = username
        self.challenge = challenge
        self.response = response

    def checkPassword(self, password: bytes | str) -> bool:
        if isinstance(password, str):
            password = password.encode("utf-8")
        return cramVerify(password, self.challenge, self.response)


# -- helpers -------------------------------------------------------------------------------


def rfc822date(timeinfo: Any = None, local: int = 1) -> bytes:
    """:return: a date for mail headers (RFC 5322), now by default."""
    if timeinfo is None:
        timeinfo = time.time()
    if isinstance(timeinfo, tuple):
        timeinfo = time.mktime(timeinfo) if local else time.mktime(timeinfo) - time.timezone
    return email.utils.formatdate(timeinfo, localtime=bool(local)).encode("ascii")


def messageid(uniq: Any = None, N: Any = None) -> bytes:
    """:return: a fresh, unique ``Message-ID`` value in angle brackets."""
    token = os.urandom(12).hex()
    suffix = b"" if uniq is None else b"." + str(uniq).encode("ascii", "replace")
    return b"<%d.%s%s@%s>" % (int(time.time()), token.encode("ascii"), suffix, DNSNAME)


def quoteaddr(addr: Any) -> bytes:
    """:return: ``addr`` as ``<local@domain>``, for ``MAIL FROM`` and ``RCPT TO``."""
    if isinstance(addr, (Address, User)):
        return b"<" + bytes(Address(addr)) + b">"
    if isinstance(addr, str):
        addr = addr.encode("utf-8")
    _, parsed = email.utils.parseaddr(addr.decode("utf-8", "replace"))
    if not parsed:
        return b"<" + addr.strip(b"<> ") + b">"
    return b"<" + parsed.encode("utf-8") + b">"


def xtext_encode(s: bytes | str, errors: Any = None) -> tuple[bytes, int]:
    """RFC 3461 xtext: ``(encoded, length consumed)``, as Twisted's codec function."""
    data = s.encode("utf-8") if isinstance(s, str) else s
    return encodeXtext(data), len(s)


def xtext_decode(s: bytes, errors: Any = None) -> tuple[str, int]:
    """Decode RFC 3461 xtext: ``(decoded, length consumed)``.

    :raises ValueError: for malformed xtext.
    """
    decoded = decodeXtext(bytes(s))
    if decoded is None:
        raise ValueError("malformed xtext")
    return decoded.decode("utf-8", "replace"), len(s)
