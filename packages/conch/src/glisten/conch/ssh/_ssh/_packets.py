"""
The binary packet protocol (RFC 4253 section 6) with its ciphers and MACs.

:class:`PacketWriter` turns payloads into packets and :class:`PacketReader` walks received
bytes with an offset, one compaction per call, so cost stays linear. Ciphers:
``chacha20-poly1305@openssh.com`` (ChaCha20 and Poly1305 composed as OpenSSH's PROTOCOL.chacha20poly1305
describes), ``aes128/256-gcm@openssh.com`` (RFC 5647 as OpenSSH uses it), ``aes128/192/256-ctr``
with ``hmac-sha2-256/512`` in plain or encrypt-then-MAC (``-etm@openssh.com``) form.
"""

from __future__ import annotations

import hmac
import os
import struct
from typing import Any

import attrs
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.poly1305 import Poly1305

from glisten.conch.ssh._ssh._errors import (
    DISCONNECT_MAC_ERROR,
    DISCONNECT_PROTOCOL_ERROR,
    SSHProtocolError,
)

_U32 = struct.Struct(">I")
_ZEROS64 = b"\x00" * 64


@attrs.frozen
class CipherSpec:
    """
    What a cipher needs.

    :ivar kind: ``"ctr"``, ``"gcm"`` or ``"chacha"``.
    """

    keySize: int
    ivSize: int
    blockSize: int
    kind: str


@attrs.frozen
class MACSpec:
    """What a MAC needs: key and digest size, hash name, and whether it is encrypt-then-MAC."""

    keySize: int
    digestSize: int
    hashName: str
    etm: bool


CIPHERS: dict[bytes, CipherSpec] = {
    b"chacha20-poly1305@openssh.com": CipherSpec(64, 0, 8, "chacha"),
    b"aes128-gcm@openssh.com": CipherSpec(16, 12, 16, "gcm"),
    b"aes256-gcm@openssh.com": CipherSpec(32, 12, 16, "gcm"),
    b"aes128-ctr": CipherSpec(16, 16, 16, "ctr"),
    b"aes192-ctr": CipherSpec(24, 16, 16, "ctr"),
    b"aes256-ctr": CipherSpec(32, 16, 16, "ctr"),
}

MACS: dict[bytes, MACSpec] = {
    b"hmac-sha2-256-etm@openssh.com": MACSpec(32, 32, "sha256", True),
    b"hmac-sha2-512-etm@openssh.com": MACSpec(64, 64, "sha512", True),
    b"hmac-sha2-256": MACSpec(32, 32, "sha256", False),
    b"hmac-sha2-512": MACSpec(64, 64, "sha512", False),
}


@attrs.define
class DirectionKeys:
    """The negotiated algorithms and derived keys of one direction."""

    cipherName: bytes
    macName: bytes | None
    key: bytes
    iv: bytes
    macKey: bytes


class _Cipher:
    """The cipher state of one direction; ``none`` when constructed without keys."""

    def __init__(self, keys: DirectionKeys | None, encrypt: bool) -> None:
        self.kind = "none"
        self.blockSize = 8
        self.tagSize = 0
        self.etm = False
        self.macHash = ""
        self.macKey = b""
        if keys is None:
            return
        spec = CIPHERS[keys.cipherName]
        self.kind = spec.kind
        self.blockSize = spec.blockSize
        if spec.kind == "ctr":
            cipher = Cipher(algorithms.AES(keys.key), modes.CTR(keys.iv))
            self._stream: Any = cipher.encryptor() if encrypt else cipher.decryptor()
            assert keys.macName is not None
            mac = MACS[keys.macName]
            self.tagSize = mac.digestSize
            self.etm = mac.etm
            self.macHash = mac.hashName
            self.macKey = keys.macKey
        elif spec.kind == "gcm":
            self._gcm = AESGCM(keys.key)
            self._fixed = keys.iv[:4]
            self._counter = int.from_bytes(keys.iv[4:12], "big")
            self.tagSize = 16
        else:
            self._mainKey = keys.key[:32]
            self._headerKey = keys.key[32:64]
            self.tagSize = 16

    @property
    def lengthOutsidePadding(self) -> bool:
        """Whether the length field is left out of the block alignment (AEAD and EtM)."""
        return self.kind in ("gcm", "chacha") or self.etm

    def nextGCMNonce(self) -> bytes:
        nonce = self._fixed + (self._counter & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        self._counter += 1
        return nonce


def _chachaIV(counter: int, seq: int) -> bytes:
    return counter.to_bytes(8, "little") + seq.to_bytes(8, "big")


def _chachaStream(key: bytes, seq: int) -> Any:
    return Cipher(algorithms.ChaCha20(key, _chachaIV(0, seq)), None).encryptor()


class PacketWriter:
    """
    Frames payloads as packets; owns the outgoing sequence number.

    :ivar sequence: the sequence number of the next packet.
    :ivar bytesSent: bytes written under the current keys (for rekeying).
    """

    def __init__(self) -> None:
        self.sequence = 0
        self.bytesSent = 0
        self._c = _Cipher(None, True)

    def setKeys(self, keys: DirectionKeys) -> None:
        """Switch to new keys (after sending NEWKEYS)."""
        self._c = _Cipher(keys, True)
        self.bytesSent = 0

    def encode(self, payload: bytes) -> bytes:
        """Frame, encrypt and MAC one payload."""
        c = self._c
        block = c.blockSize
        overhead = 1 if c.lengthOutsidePadding else 5
        padLen = block - ((len(payload) + overhead) % block)
        if padLen < 4:
            padLen += block
        packetLen = 1 + len(payload) + padLen
        body = bytes((padLen,)) + payload + os.urandom(padLen)
        seq = self.sequence
        self.sequence = (seq + 1) & 0xFFFFFFFF
        lenField = _U32.pack(packetLen)
        kind = c.kind
        if kind == "none":
            out = lenField + body
        elif kind == "chacha":
            encLen = _chachaStream(c._headerKey, seq).update(lenField)
            main = _chachaStream(c._mainKey, seq)
            polyKey = main.update(_ZEROS64)[:32]
            ct = encLen + main.update(body)
            out = ct + Poly1305.generate_tag(polyKey, ct)
        elif kind == "gcm":
            out = lenField + c._gcm.encrypt(c.nextGCMNonce(), body, lenField)
        elif c.etm:
            ct = lenField + c._stream.update(body)
            out = ct + hmac.digest(c.macKey, _U32.pack(seq) + ct, c.macHash)
        else:
            plain = lenField + body
            out = c._stream.update(plain) + hmac.digest(c.macKey, _U32.pack(seq) + plain, c.macHash)
        self.bytesSent += len(out)
        return out


class PacketReader:
    """
    Reads packets out of received bytes; owns the incoming sequence number.

    :param maxPacketSize: the largest ``packet_length`` accepted.
    :ivar sequence: the sequence number of the next packet.
    :ivar bytesReceived: bytes read under the current keys (for rekeying).
    """

    def __init__(self, maxPacketSize: int) -> None:
        self.sequence = 0
        self.bytesReceived = 0
        self.maxPacketSize = maxPacketSize
        self._c = _Cipher(None, False)
        self._buffer = bytearray()
        self._offset = 0
        self._firstBlock: bytes | None = None
        self._length = -1

    def setKeys(self, keys: DirectionKeys) -> None:
        """Switch to new keys (after receiving NEWKEYS)."""
        self._c = _Cipher(keys, False)
        self.bytesReceived = 0

    def feed(self, data: bytes) -> None:
        """Add received bytes."""
        if self._offset and self._offset == len(self._buffer):
            self._buffer.clear()
            self._offset = 0
        elif self._offset > 65536:
            del self._buffer[: self._offset]
            self._offset = 0
        self._buffer += data

    def pending(self) -> int:
        """How many received bytes have not been read into packets yet."""
        return len(self._buffer) - self._offset

    def takeRemaining(self) -> bytes:
        """Remove and return the bytes not read yet (the version exchange's leftovers)."""
        rest = bytes(self._buffer[self._offset :])
        self._buffer.clear()
        self._offset = 0
        return rest

    def _checkLength(self, length: int, aligned: int) -> None:
        c = self._c
        if length < 5 or length > self.maxPacketSize:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad packet length")
        if aligned % c.blockSize:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "packet not a multiple of the block")

    def next(self) -> bytes | None:
        """
        Read the next packet's payload, or ``None`` when more bytes are needed.

        :raises SSHProtocolError: bad length, bad padding or a failed MAC.
        """
        c = self._c
        buf = self._buffer
        off = self._offset
        avail = len(buf) - off
        if self._length < 0:
            if c.kind == "ctr" and not c.etm:
                if avail < c.blockSize:
                    return None
                first = c._stream.update(bytes(buf[off : off + c.blockSize]))
                length = _U32.unpack_from(first)[0]
                self._checkLength(length, length + 4)
                self._firstBlock = first
            else:
                if avail < 4:
                    return None
                if c.kind == "chacha":
                    seq = self.sequence
                    length = _U32.unpack(
                        _chachaStream(c._headerKey, seq).update(bytes(buf[off : off + 4]))
                    )[0]
                else:
                    length = _U32.unpack_from(buf, off)[0]
                self._checkLength(length, length if c.lengthOutsidePadding else length + 4)
            self._length = length
        length = self._length
        total = 4 + length + c.tagSize
        if avail < total:
            return None
        seq = self.sequence
        kind = c.kind
        if kind == "none":
            body = bytes(buf[off + 4 : off + 4 + length])
        elif kind == "chacha":
            ct = bytes(buf[off : off + 4 + length])
            tag = bytes(buf[off + 4 + length : off + total])
            main = _chachaStream(c._mainKey, seq)
            polyKey = main.update(_ZEROS64)[:32]
            try:
                Poly1305.verify_tag(polyKey, ct, tag)
            except (InvalidSignature, InvalidTag):
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
            body = main.update(ct[4:])
        elif kind == "gcm":
            lenField = bytes(buf[off : off + 4])
            try:
                body = c._gcm.decrypt(c.nextGCMNonce(), bytes(buf[off + 4 : off + total]), lenField)
            except InvalidTag:
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
        elif c.etm:
            ct = bytes(buf[off : off + 4 + length])
            tag = bytes(buf[off + 4 + length : off + total])
            expected = hmac.digest(c.macKey, _U32.pack(seq) + ct, c.macHash)
            if not hmac.compare_digest(expected, tag):
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
            body = c._stream.update(ct[4:])
        else:
            first = self._firstBlock
            assert first is not None
            rest = c._stream.update(bytes(buf[off + c.blockSize : off + 4 + length]))
            plain = first + rest
            tag = bytes(buf[off + 4 + length : off + total])
            expected = hmac.digest(c.macKey, _U32.pack(seq) + plain, c.macHash)
            if not hmac.compare_digest(expected, tag):
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
            body = plain[4:]
            self._firstBlock = None
        self._offset = off + total
        self._length = -1
        self.sequence = (seq + 1) & 0xFFFFFFFF
        self.bytesReceived += total
        padLen = body[0]
        if padLen < 4 or padLen >= length:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad padding length")
        return body[1 : length - padLen]
