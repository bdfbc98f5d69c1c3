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
_U64 = struct.Struct(">Q")
_ZEROS8 = b"\x00" * 8
_ZEROS64 = b"\x00" * 64
_BYTES = [bytes((i,)) for i in range(256)]


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
    """
    The cipher state of one direction; ``none`` when constructed without keys.

    Every per-packet object is made here once: ChaCha20 contexts get a new nonce per packet
    (``reset_nonce``), since making a cipher context cost more than encrypting a 32 KiB
    packet.
    """

    def __init__(self, keys: DirectionKeys | None, encrypt: bool) -> None:
        self.kind = "none"
        self.blockSize = 8
        self.tagSize = 0
        self.etm = False
        self.macHash = ""
        self.macKey = b""
        #: Bytes of the packet outside the padding's alignment: the length field counts
        #: unless the cipher leaves it out (AEAD and EtM).
        self.overhead = 5
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
            self._header = _chachaContext(keys.key[32:64])
            self._main = _chachaContext(keys.key[:32])
            self.tagSize = 16
        if self.lengthOutsidePadding:
            self.overhead = 1

    @property
    def lengthOutsidePadding(self) -> bool:
        """Whether the length field is left out of the block alignment (AEAD and EtM)."""
        return self.kind in ("gcm", "chacha") or self.etm

    def nextGCMNonce(self) -> bytes:
        nonce = self._fixed + (self._counter & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
        self._counter += 1
        return nonce

    def chachaHeader(self, seq: int) -> Any:
        """The stream that encrypts packet ``seq``'s length field."""
        header = self._header
        header.reset_nonce(_ZEROS8 + _U64.pack(seq))
        return header

    def chachaMain(self, seq: int) -> tuple[Any, bytes]:
        """The stream of packet ``seq``'s body, past that packet's Poly1305 key (returned)."""
        main = self._main
        main.reset_nonce(_ZEROS8 + _U64.pack(seq))
        return main, main.update(_ZEROS64)[:32]

    def mac(self, seq: int, parts: tuple[bytes | memoryview, ...]) -> bytes:
        """The MAC of packet ``seq`` over ``parts`` (one call: cheaper than a keyed HMAC
        object's updates for the many small packets, and a join costs a big one little)."""
        return hmac.digest(self.macKey, b"".join((_U32.pack(seq), *parts)), self.macHash)


def _chachaContext(key: bytes) -> Any:
    # The 16-byte nonce is OpenSSH's: a 64-bit block counter (little-endian) then the 64-bit
    # sequence number (big-endian); encryption and decryption are the same keystream XOR.
    return Cipher(algorithms.ChaCha20(key, _ZEROS8 * 2), None).encryptor()


#: The padding bytes of many packets, taken from one ``os.urandom`` call at a time (small:
#: ``os.urandom`` costs about 8 ns a byte, and a handshake sends only a few packets).
_PAD_POOL = 256


class PacketWriter:
    """
    Frames payloads as packets; owns the outgoing sequence number.

    :ivar sequence: the sequence number of the next packet.
    :ivar bytesSent: bytes written under the current keys (for rekeying).
    :ivar bytesEncoded: bytes encoded in all (never reset).
    """

    def __init__(self) -> None:
        self.sequence = 0
        self.bytesSent = 0
        self.bytesEncoded = 0
        self._c = _Cipher(None, True)
        self._random = b""
        self._randomOffset = 0

    def setKeys(self, keys: DirectionKeys) -> None:
        """Switch to new keys (after sending NEWKEYS)."""
        self._c = _Cipher(keys, True)
        self.bytesSent = 0

    def encode(self, payload: bytes) -> bytes:
        """Frame, encrypt and MAC one payload."""
        out: list[bytes] = []
        self.encodeInto(out, (payload,))
        return b"".join(out)

    def encodeInto(self, out: list[bytes], pieces: tuple[bytes, ...]) -> None:
        """
        Frame, encrypt and MAC the payload made of ``pieces``, appending the packet's bytes
        to ``out``: the pieces are never joined in plaintext (one join of ``out`` makes the
        write), so a 32 KiB data message is copied once, by the cipher.
        """
        c = self._c
        size = sum(map(len, pieces))
        block = c.blockSize
        padLen = block - ((size + c.overhead) % block)
        if padLen < 4:
            padLen += block
        packetLen = 1 + size + padLen
        lenField = _U32.pack(packetLen)
        padByte = _BYTES[padLen]
        offset = self._randomOffset
        if offset + padLen > len(self._random):
            self._random = os.urandom(_PAD_POOL)
            offset = 0
        self._randomOffset = offset + padLen
        padding = self._random[offset : offset + padLen]
        seq = self.sequence
        self.sequence = (seq + 1) & 0xFFFFFFFF
        kind = c.kind
        if kind == "none":
            out.append(lenField + padByte)
            out.extend(pieces)
            out.append(padding)
        elif kind == "chacha":
            main, polyKey = c.chachaMain(seq)
            parts = [c.chachaHeader(seq).update(lenField), main.update(padByte)]
            for piece in pieces:
                parts.append(main.update(piece))
            parts.append(main.update(padding))
            ct = b"".join(parts)
            out.append(ct)
            out.append(Poly1305.generate_tag(polyKey, ct))
        elif kind == "gcm":
            body = b"".join((padByte, *pieces, padding))
            out.append(lenField)
            out.append(c._gcm.encrypt(c.nextGCMNonce(), body, lenField))
        else:
            stream = c._stream
            if c.etm:
                encrypted = stream.update(b"".join((padByte, *pieces, padding)))
                out.append(lenField)
                out.append(encrypted)
                out.append(c.mac(seq, (lenField, encrypted)))
            else:
                plain = b"".join((lenField, padByte, *pieces, padding))
                out.append(stream.update(plain))
                out.append(c.mac(seq, (plain,)))
        written = 4 + packetLen + c.tagSize
        self.bytesSent += written
        self.bytesEncoded += written


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

        Ciphertext is read through a view of the buffer and only the payload is decrypted
        into new bytes (a stream cipher's padding is skipped), so a data packet is not copied.

        :raises SSHProtocolError: bad length, bad padding or a failed MAC.
        """
        c = self._c
        buf = self._buffer
        off = self._offset
        avail = len(buf) - off
        kind = c.kind
        if self._length < 0:
            if kind == "ctr" and not c.etm:
                if avail < c.blockSize:
                    return None
                first = c._stream.update(buf[off : off + c.blockSize])
                length = _U32.unpack_from(first)[0]
                self._checkLength(length, length + 4)
                self._firstBlock = first
            else:
                if avail < 4:
                    return None
                if kind == "chacha":
                    field = c.chachaHeader(self.sequence).update(buf[off : off + 4])
                    length = _U32.unpack(field)[0]
                else:
                    length = _U32.unpack_from(buf, off)[0]
                self._checkLength(length, length if c.lengthOutsidePadding else length + 4)
            self._length = length
        length = self._length
        total = 4 + length + c.tagSize
        if avail < total:
            return None
        seq = self.sequence
        end = off + 4 + length
        # Views of the buffer are only ever temporaries, so none outlives this call (a live
        # one would forbid the buffer to grow).
        with memoryview(buf) as view:
            if kind == "none":
                padLen = self._checkPadding(buf[off + 4], length)
                payload = bytes(view[off + 5 : end - padLen])
            elif kind == "chacha":
                main, polyKey = c.chachaMain(seq)
                try:
                    Poly1305.verify_tag(polyKey, view[off:end], bytes(view[end : off + total]))
                except (InvalidSignature, InvalidTag):
                    raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
                padLen = self._checkPadding(main.update(view[off + 4 : off + 5])[0], length)
                payload = main.update(view[off + 5 : end - padLen])
            elif kind == "gcm":
                try:
                    body = c._gcm.decrypt(
                        c.nextGCMNonce(), view[off + 4 : off + total], view[off : off + 4]
                    )
                except InvalidTag:
                    raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
                padLen = self._checkPadding(body[0], length)
                payload = body[1 : length - padLen]
            elif c.etm:
                if not hmac.compare_digest(c.mac(seq, (view[off:end],)), view[end : off + total]):
                    raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
                stream = c._stream
                padLen = self._checkPadding(stream.update(view[off + 4 : off + 5])[0], length)
                payload = stream.update(view[off + 5 : end - padLen])
                stream.update(view[end - padLen : end])
            else:
                first = self._firstBlock
                assert first is not None
                rest = c._stream.update(view[off + c.blockSize : end])
                if not hmac.compare_digest(c.mac(seq, (first, rest)), view[end : off + total]):
                    raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
                self._firstBlock = None
                padLen = self._checkPadding(first[4], length)
                # The payload starts in the first block (after length and padding length).
                head = first[5:]
                if len(head) >= length - 1 - padLen:
                    payload = head[: length - 1 - padLen]
                else:
                    payload = head + rest[: length - 1 - padLen - len(head)]
        self._offset = off + total
        self._length = -1
        self.sequence = (seq + 1) & 0xFFFFFFFF
        self.bytesReceived += total
        return payload

    @staticmethod
    def _checkPadding(padLen: int, length: int) -> int:
        if padLen < 4 or padLen >= length:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad padding length")
        return padLen
