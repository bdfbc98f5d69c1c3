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
from collections import deque
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
#: A sequence number and a packet's length and padding length: what a plain (not EtM) MAC
#: covers first, packed in one go.
_SEQ_HEADER = struct.Struct(">IIB")
_ZEROS8 = b"\x00" * 8
_ZEROS64 = b"\x00" * 64
_BYTES = [bytes((i,)) for i in range(256)]
_MASK64 = 0xFFFFFFFFFFFFFFFF


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
    packet; AES-GCM's key schedule is kept in one ``AESGCM``; a MAC is one ``hmac.digest``
    call (one C call with the key: cheaper than keyed HMAC objects and their copies).
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
            self.stream: Any = cipher.encryptor() if encrypt else cipher.decryptor()
            assert keys.macName is not None
            mac = MACS[keys.macName]
            self.tagSize = mac.digestSize
            self.etm = mac.etm
            self.macHash = mac.hashName
            self.macKey = keys.macKey
        elif spec.kind == "gcm":
            self.aead = AESGCM(keys.key)
            self.fixed = keys.iv[:4]
            self.counter = int.from_bytes(keys.iv[4:12], "big")
            self.tagSize = 16
        else:
            self.header = _chachaContext(keys.key[32:64])
            self.main = _chachaContext(keys.key[:32])
            self.tagSize = 16
        if self.lengthOutsidePadding:
            self.overhead = 1

    @property
    def lengthOutsidePadding(self) -> bool:
        """Whether the length field is left out of the block alignment (AEAD and EtM)."""
        return self.kind in ("gcm", "chacha") or self.etm

    def nextGCMNonce(self) -> bytes:
        """The nonce of the next packet: the fixed field, then the invocation counter."""
        counter = self.counter
        self.counter = counter + 1
        return self.fixed + _U64.pack(counter & _MASK64)

    def chachaHeader(self, seq: int) -> Any:
        """The stream that encrypts packet ``seq``'s length field."""
        header = self.header
        header.reset_nonce(_ZEROS8 + _U64.pack(seq))
        return header

    def chachaMain(self, seq: int) -> tuple[Any, bytes]:
        """The stream of packet ``seq``'s body, past that packet's Poly1305 key (returned)."""
        main = self.main
        main.reset_nonce(_ZEROS8 + _U64.pack(seq))
        return main, main.update(_ZEROS64)[:32]


#: The ``none`` state both directions start with (it holds nothing that changes: shared).
_NO_CIPHER = _Cipher(None, True)


def _chachaContext(key: bytes) -> Any:
    # The 16-byte nonce is OpenSSH's: a 64-bit block counter (little-endian) then the 64-bit
    # sequence number (big-endian); encryption and decryption are the same keystream XOR.
    return Cipher(algorithms.ChaCha20(key, _ZEROS8 * 2), None).encryptor()


#: Reads shorter than this that arrive behind unread bytes are appended to one buffer.
_SMALL_READ = 4096

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
        self._c = _NO_CIPHER
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
        to ``out`` (one join of ``out`` makes the write).

        A 32 KiB data message is copied by the cipher and, for all but ChaCha20 (which
        encrypts piece by piece), once before it: AES-GCM needs its plaintext in one buffer,
        and that one buffer is also what a plain MAC covers. Tags are appended separately,
        never joined to the ciphertext here.
        """
        c = self._c
        size = sum(map(len, pieces))
        block = c.blockSize
        padLen = block - ((size + c.overhead) % block)
        if padLen < 4:
            padLen += block
        packetLen = 1 + size + padLen
        offset = self._randomOffset
        pool = self._random
        if offset + padLen > len(pool):
            pool = self._random = os.urandom(_PAD_POOL)
            offset = 0
        self._randomOffset = offset + padLen
        padding = pool[offset : offset + padLen]
        seq = self.sequence
        self.sequence = (seq + 1) & 0xFFFFFFFF
        kind = c.kind
        if kind == "gcm":
            lenField = _U32.pack(packetLen)
            body = b"".join((_BYTES[padLen], *pieces, padding))
            counter = c.counter
            c.counter = counter + 1
            out.append(lenField)
            out.append(c.aead.encrypt(c.fixed + _U64.pack(counter & _MASK64), body, lenField))
        elif kind == "chacha":
            # A stream cipher: each piece is encrypted as it is (the plaintext is never
            # joined), and the tag reads the encrypted pieces one by one.
            main, polyKey = c.chachaMain(seq)
            tag = Poly1305(polyKey)
            encrypted = c.chachaHeader(seq).update(_U32.pack(packetLen))
            tag.update(encrypted)
            out.append(encrypted)
            for piece in (_BYTES[padLen], *pieces, padding):
                encrypted = main.update(piece)
                tag.update(encrypted)
                out.append(encrypted)
            out.append(tag.finalize())
        elif kind == "ctr":
            stream = c.stream
            if c.etm:
                lenField = _U32.pack(packetLen)
                encrypted = stream.update(b"".join((_BYTES[padLen], *pieces, padding)))
                out.append(lenField)
                out.append(encrypted)
                out.append(
                    hmac.digest(
                        c.macKey, b"".join((_U32.pack(seq), lenField, encrypted)), c.macHash
                    )
                )
            else:
                # The sequence number leads the joined plaintext: the MAC reads it all, the
                # cipher a view past it.
                plain = b"".join((_SEQ_HEADER.pack(seq, packetLen, padLen), *pieces, padding))
                out.append(stream.update(memoryview(plain)[4:]))
                out.append(hmac.digest(c.macKey, plain, c.macHash))
        else:
            out.append(_U32.pack(packetLen) + _BYTES[padLen])
            out.extend(pieces)
            out.append(padding)
        written = 4 + packetLen + c.tagSize
        self.bytesSent += written
        self.bytesEncoded += written


class PacketReader:
    """
    Reads packets out of received bytes; owns the incoming sequence number.

    Received bytes are read where they are: what :meth:`feed` is given is kept as it is (not
    copied into a buffer), and only a packet split between two reads is gathered into one.

    :param maxPacketSize: the largest ``packet_length`` accepted.
    :ivar sequence: the sequence number of the next packet.
    :ivar bytesReceived: bytes read under the current keys (for rekeying).
    """

    def __init__(self, maxPacketSize: int) -> None:
        self.sequence = 0
        self.bytesReceived = 0
        self.maxPacketSize = maxPacketSize
        self._c = _NO_CIPHER
        #: The bytes being read (as received, or a split packet gathered) and where.
        self._buffer: bytes | bytearray = b""
        self._offset = 0
        #: Bytes received after them, not looked at yet (``_laterOffset`` into the first).
        self._later: deque[bytes | bytearray] = deque()
        self._laterOffset = 0
        self._laterSize = 0
        self._firstBlock: bytes | None = None
        self._length = -1
        #: Where AES-GCM and plain-MAC packets are decrypted (made once, grown rarely): a
        #: plain MAC's packet lies there after its sequence number, so the MAC reads one buffer.
        self._scratch = bytearray()

    def setKeys(self, keys: DirectionKeys) -> None:
        """Switch to new keys (after receiving NEWKEYS)."""
        self._c = _Cipher(keys, False)
        self.bytesReceived = 0

    def feed(self, data: bytes) -> None:
        """Add received bytes (kept as they are: bytes do not change under us)."""
        if type(data) is not bytes:
            data = bytes(data)
        if not data:
            return
        later = self._later
        if self._offset == len(self._buffer) and not later:
            self._buffer = data
            self._offset = 0
            return
        self._laterSize += len(data)
        if len(data) < _SMALL_READ:
            # Small reads are joined (a peer dripping bytes must not cost an object each).
            last = later[-1] if later else None
            if type(last) is bytearray:
                last += data
                return
            later.append(bytearray(data))
            return
        later.append(data)

    def pending(self) -> int:
        """How many received bytes have not been read into packets yet."""
        return len(self._buffer) - self._offset + self._laterSize - self._laterOffset

    def takeRemaining(self) -> bytes:
        """Remove and return the bytes not read yet (the version exchange's leftovers)."""
        later = list(self._later)
        if later:
            later[0] = later[0][self._laterOffset :]
        rest = b"".join((self._buffer[self._offset :], *later))
        self._buffer = b""
        self._offset = 0
        self._later.clear()
        self._laterOffset = 0
        self._laterSize = 0
        return rest

    def _gather(self, size: int) -> bool:
        """
        Make the next ``size`` unread bytes one stretch of :attr:`_buffer`; ``False`` when
        fewer have come. Only what that takes is copied: a packet split between two reads is
        gathered, and the bytes after it are then read where they are.
        """
        buf = self._buffer
        off = self._offset
        have = len(buf) - off
        later = self._later
        if have == 0 and later:
            buf = self._buffer = later.popleft()
            self._laterSize -= len(buf)
            off = self._offset = self._laterOffset
            self._laterOffset = 0
            have = len(buf) - off
        if have >= size:
            return True
        if have + self._laterSize - self._laterOffset < size:
            return False
        gathered = bytearray(memoryview(buf)[off:])
        while len(gathered) < size:
            piece = later[0]
            start = self._laterOffset
            take = min(size - len(gathered), len(piece) - start)
            gathered += memoryview(piece)[start : start + take]
            if start + take == len(piece):
                later.popleft()
                self._laterSize -= len(piece)
                self._laterOffset = 0
            else:
                self._laterOffset = start + take
        self._buffer = gathered
        self._offset = 0
        return True

    def _readLength(self, c: _Cipher) -> int:
        """Read (and check) the next packet's length field; -1 if it has not all come."""
        if c.kind == "ctr" and not c.etm:
            if not self._gather(c.blockSize):
                return -1
            off = self._offset
            first = c.stream.update(self._buffer[off : off + c.blockSize])
            length = _U32.unpack_from(first)[0]
            aligned = length + 4
            self._firstBlock = first
        else:
            if not self._gather(4):
                return -1
            buf = self._buffer
            off = self._offset
            if c.kind == "chacha":
                length = _U32.unpack(c.chachaHeader(self.sequence).update(buf[off : off + 4]))[0]
            else:
                length = _U32.unpack_from(buf, off)[0]
            aligned = length if c.lengthOutsidePadding else length + 4
        if length < 5 or length > self.maxPacketSize:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad packet length")
        if aligned % c.blockSize:
            raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "packet not a multiple of the block")
        self._length = length
        return length

    def next(self) -> tuple[int, bytes] | None:
        """
        Read the next packet: its message number and the rest of its payload, or ``None``
        when more bytes are needed.

        Ciphertext is read through a view of the received bytes and only the payload after
        its message number is made into new bytes (so the layers above need not slice a
        data message again); a stream cipher's padding is skipped.

        :raises SSHProtocolError: bad length, bad padding, an empty payload or a failed MAC.
        """
        c = self._c
        length = self._length
        if length < 0:
            length = self._readLength(c)
            if length < 0:
                return None
        total = 4 + length + c.tagSize
        if len(self._buffer) - self._offset < total and not self._gather(total):
            return None
        buf = self._buffer
        off = self._offset
        seq = self.sequence
        end = off + 4 + length
        kind = c.kind
        # Views of the buffer are only ever temporaries, so none outlives this call (a live
        # one would forbid the buffer to grow).
        with memoryview(buf) as view:
            if kind == "gcm":
                message, payload = self._openGCM(c, view, off, length)
            elif kind == "chacha":
                main, polyKey = c.chachaMain(seq)
                try:
                    Poly1305.verify_tag(polyKey, view[off:end], bytes(view[end : off + total]))
                except (InvalidSignature, InvalidTag):
                    raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
                head = main.update(view[off + 4 : off + 6])
                size = _payloadSize(head[0], length)
                message = head[1]
                payload = main.update(view[off + 6 : off + 5 + size])
            elif kind == "ctr":
                if c.etm:
                    mac = hmac.digest(
                        c.macKey, b"".join((_U32.pack(seq), view[off:end])), c.macHash
                    )
                    if not hmac.compare_digest(mac, view[end : off + total]):
                        raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
                    stream = c.stream
                    head = stream.update(view[off + 4 : off + 6])
                    size = _payloadSize(head[0], length)
                    message = head[1]
                    payload = stream.update(view[off + 6 : off + 5 + size])
                    stream.update(view[off + 5 + size : end])
                else:
                    message, payload = self._openPlainMAC(c, view, off, length, seq)
            else:
                size = _payloadSize(buf[off + 4], length)
                message = buf[off + 5]
                payload = bytes(view[off + 6 : off + 5 + size])
        self._offset = off + total
        self._length = -1
        self.sequence = (seq + 1) & 0xFFFFFFFF
        self.bytesReceived += total
        return message, payload

    def _scratchOf(self, size: int) -> bytearray:
        """The scratch buffer, at least ``size`` bytes long (grown with room to spare)."""
        scratch = self._scratch
        if len(scratch) < size:
            scratch = self._scratch = bytearray(size + 4096)
        return scratch

    def _openGCM(self, c: _Cipher, view: memoryview, off: int, length: int) -> tuple[int, bytes]:
        """
        Check and decrypt an AES-GCM packet into the scratch buffer (a new bytes object
        would be zero-filled first), then copy out its payload.
        """
        counter = c.counter
        c.counter = counter + 1
        with memoryview(self._scratchOf(length)) as plain:
            try:
                c.aead.decrypt_into(
                    c.fixed + _U64.pack(counter & _MASK64),
                    view[off + 4 : off + 4 + length + 16],
                    view[off : off + 4],
                    plain[:length],
                )
            except InvalidTag:
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed") from None
            size = _payloadSize(plain[0], length)
            return plain[1], bytes(plain[2 : 1 + size])

    def _openPlainMAC(
        self, c: _Cipher, view: memoryview, off: int, length: int, seq: int
    ) -> tuple[int, bytes]:
        """
        Decrypt and check a packet whose MAC covers the plaintext (``hmac-sha2-*`` without
        EtM): its rest is decrypted into the scratch buffer right after the sequence number
        and the first block, so the MAC reads them in place and the payload is copied once.
        """
        first = self._firstBlock
        assert first is not None
        blockSize = c.blockSize
        packetEnd = 8 + length
        # update_into wants room for a block more than it is given.
        with memoryview(self._scratchOf(packetEnd + blockSize)) as plain:
            _U32.pack_into(plain, 0, seq)
            plain[4 : 4 + blockSize] = first
            c.stream.update_into(view[off + blockSize : off + 4 + length], plain[4 + blockSize :])
            mac = hmac.digest(c.macKey, plain[:packetEnd], c.macHash)
            if not hmac.compare_digest(mac, view[off + 4 + length : off + 4 + length + c.tagSize]):
                raise SSHProtocolError(DISCONNECT_MAC_ERROR, "MAC check failed")
            self._firstBlock = None
            size = _payloadSize(first[4], length)
            return first[5], bytes(plain[10 : 9 + size])


def _payloadSize(padLen: int, length: int) -> int:
    """The payload's size, message number included; the padding length checked."""
    if padLen < 4 or padLen >= length:
        raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "bad padding length")
    size = length - 1 - padLen
    if size < 1:
        raise SSHProtocolError(DISCONNECT_PROTOCOL_ERROR, "empty packet")
    return size
