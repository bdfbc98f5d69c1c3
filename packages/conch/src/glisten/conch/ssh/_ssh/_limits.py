"""Limits and algorithm preferences of the SSH core."""

from __future__ import annotations

import attrs

from glisten.conch.ssh._ssh import _mlkem


@attrs.frozen
class Limits:
    """
    Bounds on what a peer may send, and when keys are renewed.

    :ivar maxVersionLineLength: the longest identification line, CR LF included (RFC 4253
        allows 255).
    :ivar maxVersionLines: how many lines a server may send before its identification (a
        client never may); Twisted accepted them without end (CVE-2022-21716).
    :ivar maxPacketSize: the largest ``packet_length`` accepted (RFC 4253 asks for 35000 at
        least; OpenSSH allows 256 KiB).
    :ivar maxQueuedPackets: how many outgoing packets may wait for a key exchange to end.
    :ivar rekeyBytes: renew keys after this many bytes in either direction.
    :ivar rekeyInterval: renew keys after this many seconds (the adapter's clock).
    :ivar gexMinBits: group exchange: the smallest group accepted (client) or offered (server).
    :ivar gexPreferredBits: group exchange: the size a client asks for.
    :ivar gexMaxBits: group exchange: the largest group asked for or offered (larger groups
        cost the server more for every handshake).
    """

    maxVersionLineLength: int = 255
    maxVersionLines: int = 64
    maxPacketSize: int = 256 * 1024
    maxQueuedPackets: int = 65536
    rekeyBytes: int = 1 << 30
    rekeyInterval: float = 3600.0
    gexMinBits: int = 2048
    gexPreferredBits: int = 3072
    gexMaxBits: int = 8192


#: Key exchange methods by preference. The hybrid post-quantum ``mlkem768x25519-sha256`` comes
#: first, as in OpenSSH 10, where ``cryptography`` has ML-KEM (:data:`._mlkem.AVAILABLE`): it
#: adds about 0.2 ms of CPU to an in-memory handshake over curve25519's 0.5 ms (both sides:
#: a server's share 0.12 ms against 0.07, a client's 0.23 against 0.07).
#: ``sntrup761x25519`` comes after curve25519: a client's order decides, so OpenSSH 9 clients
#: (which list it first) get it from a glisten server, whose share of it (an encapsulation)
#: costs about 2 ms of CPU, while a glisten client keeps curve25519 unless told otherwise,
#: since its share (a key generation in pure Python) costs about 70 ms.
#: ``sntrup761x25519-sha512`` is OpenSSH 9.9's name for it.
DEFAULT_KEX = (b"mlkem768x25519-sha256",) * _mlkem.AVAILABLE + (
    b"curve25519-sha256",
    b"curve25519-sha256@libssh.org",
    b"sntrup761x25519-sha512@openssh.com",
    b"sntrup761x25519-sha512",
    b"ecdh-sha2-nistp256",
    b"ecdh-sha2-nistp384",
    b"ecdh-sha2-nistp521",
    b"diffie-hellman-group-exchange-sha256",
    b"diffie-hellman-group16-sha512",
    b"diffie-hellman-group18-sha512",
    b"diffie-hellman-group14-sha256",
)
DEFAULT_HOST_KEYS = (
    b"ssh-ed25519",
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
    b"rsa-sha2-512",
    b"rsa-sha2-256",
)
DEFAULT_CIPHERS = (
    b"chacha20-poly1305@openssh.com",
    b"aes128-ctr",
    b"aes192-ctr",
    b"aes256-ctr",
    b"aes128-gcm@openssh.com",
    b"aes256-gcm@openssh.com",
)
DEFAULT_MACS = (
    b"hmac-sha2-256-etm@openssh.com",
    b"hmac-sha2-512-etm@openssh.com",
    b"hmac-sha2-256",
    b"hmac-sha2-512",
)
#: Public key signature algorithms accepted by default (``ssh-rsa``, SHA-1, is opt-in), the
#: security-key (FIDO) ones last, as OpenSSH's ``server-sig-algs`` lists them.
DEFAULT_PUBLIC_KEY_ALGORITHMS = (
    b"ssh-ed25519",
    b"ecdsa-sha2-nistp256",
    b"ecdsa-sha2-nistp384",
    b"ecdsa-sha2-nistp521",
    b"rsa-sha2-512",
    b"rsa-sha2-256",
    b"sk-ssh-ed25519@openssh.com",
    b"sk-ecdsa-sha2-nistp256@openssh.com",
)


@attrs.frozen
class Algorithms:
    """
    The algorithms offered, in order of preference.

    Pass ``hostKeys=DEFAULT_HOST_KEYS + (b"ssh-rsa",)`` to opt in to SHA-1 RSA signatures.
    """

    kex: tuple[bytes, ...] = DEFAULT_KEX
    hostKeys: tuple[bytes, ...] = DEFAULT_HOST_KEYS
    ciphers: tuple[bytes, ...] = DEFAULT_CIPHERS
    macs: tuple[bytes, ...] = DEFAULT_MACS
    compressions: tuple[bytes, ...] = (b"none",)
