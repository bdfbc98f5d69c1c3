"""
The system's ``crypt`` through :mod:`ctypes`: the hash of ``/etc/shadow`` entries without the
deprecated (and, from Python 3.13, removed) :mod:`crypt` module.

libxcrypt (``libcrypt.so.1``, Debian's ``libcrypt1``) is used for whatever hash methods it was
built with: yescrypt ``$y$``, gost-yescrypt, scrypt ``$7$``, bcrypt ``$2b$``, sha512crypt
``$6$``, sha256crypt ``$5$``, md5crypt ``$1$`` and the old DES ones. ``crypt_rn`` is preferred
(it fails with ``NULL`` and writes only into the buffer it is given, so threads may call it
at once); an older libcrypt that has only ``crypt_r`` is used with a zeroed ``struct
crypt_data`` and its ``*0``/``*1`` failure results treated as failures.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterable

__all__ = ["CryptUnavailable", "Libcrypt", "libcrypt"]

#: Library names tried, in order; ``find_library("crypt")`` after them.
LIBRARY_NAMES = ("libcrypt.so.1", "libcrypt.so.2", "libcrypt.so")
#: Bytes given to ``crypt_rn``/``crypt_r`` as their ``struct crypt_data``: more than either
#: libxcrypt (about 32 KiB) or glibc's old libcrypt (about 128 KiB) needs.
_DATA_SIZE = 256 * 1024
#: libxcrypt refuses longer passphrases (``CRYPT_MAX_PASSPHRASE_SIZE``); so do we, before
#: copying them anywhere.
MAX_PASSPHRASE = 512
#: Longer settings are no hash any method makes.
MAX_SETTING = 512


class CryptUnavailable(RuntimeError):
    """
    No usable ``libcrypt`` here: UNIX password checking cannot work. On Debian and Ubuntu
    the library is the ``libcrypt1`` package (always installed there); elsewhere install
    libxcrypt.
    """


class Libcrypt:
    """
    One loaded ``libcrypt``.

    :param library: the loaded library; it must have ``crypt_rn`` or ``crypt_r``.
    :raises CryptUnavailable: it has neither.
    """

    def __init__(self, library: ctypes.CDLL) -> None:
        self._cryptRn = getattr(library, "crypt_rn", None)
        self._cryptR = getattr(library, "crypt_r", None)
        if self._cryptRn is not None:
            self._cryptRn.argtypes = [
                ctypes.c_char_p,
                ctypes.c_char_p,
                ctypes.c_void_p,
                ctypes.c_int,
            ]
            self._cryptRn.restype = ctypes.c_char_p
        elif self._cryptR is not None:
            self._cryptR.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
            self._cryptR.restype = ctypes.c_char_p
        else:
            raise CryptUnavailable("the libcrypt found has neither crypt_rn nor crypt_r")
        self._gensaltRn = getattr(library, "crypt_gensalt_rn", None)
        if self._gensaltRn is not None:
            self._gensaltRn.argtypes = [
                ctypes.c_char_p,
                ctypes.c_ulong,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
            ]
            self._gensaltRn.restype = ctypes.c_char_p

    def crypt(self, phrase: bytes, setting: bytes) -> bytes | None:
        """
        The hash of ``phrase`` under ``setting`` (a salt, or a whole hash to check against);
        ``None`` when the library refuses them (unknown method, malformed setting, too long).

        A ``phrase`` with a NUL byte is refused: C would see only what comes before it.
        """
        if b"\x00" in phrase or b"\x00" in setting:
            return None
        if len(phrase) > MAX_PASSPHRASE or len(setting) > MAX_SETTING:
            return None
        data = ctypes.create_string_buffer(_DATA_SIZE)
        try:
            if self._cryptRn is not None:
                result: bytes | None = self._cryptRn(phrase, setting, data, _DATA_SIZE)
            else:
                assert self._cryptR is not None
                result = self._cryptR(phrase, setting, data)
            if not result or result.startswith(b"*"):
                # crypt_r's failure tokens are "*0" and "*1"; no hash starts with "*".
                return None
            return bytes(result)
        finally:
            # The buffer held the passphrase and the method's intermediate state.
            ctypes.memset(data, 0, _DATA_SIZE)

    def gensalt(self, prefix: bytes | None = None, count: int = 0) -> bytes | None:
        """
        A new setting for ``prefix`` (``b"$y$"``, ``b"$6$"``...; ``None`` for the library's
        preferred method) with random salt, or ``None`` when the library cannot make one.

        :param count: the method's cost (``0``: its default).
        """
        if self._gensaltRn is None:
            return None
        output = ctypes.create_string_buffer(MAX_SETTING)
        result: bytes | None = self._gensaltRn(prefix, count, None, 0, output, MAX_SETTING)
        return bytes(result) if result and not result.startswith(b"*") else None


def loadLibcrypt(
    names: Iterable[str] = LIBRARY_NAMES,
    findLibrary: Callable[[str], str | None] = ctypes.util.find_library,
) -> Libcrypt:
    """
    Load the system's ``libcrypt``.

    :param names: library names to try first.
    :param findLibrary: asked for ``"crypt"`` when none of ``names`` loads.
    :raises CryptUnavailable: none of them loads, or the one found cannot hash.
    """
    candidates = list(names)
    found = findLibrary("crypt")
    if found is not None:
        candidates.append(found)
    for name in candidates:
        try:
            library = ctypes.CDLL(name)
        except OSError:
            continue
        return Libcrypt(library)
    raise CryptUnavailable(
        "UNIX password checking needs the system's libcrypt (libxcrypt, libcrypt.so.1: "
        "the libcrypt1 package on Debian and Ubuntu), which was not found"
    )


_default: Libcrypt | None = None


def libcrypt() -> Libcrypt:
    """
    The system's ``libcrypt``, loaded on first use.

    :raises CryptUnavailable: it is missing.
    """
    global _default
    if _default is None:
        _default = loadLibcrypt()
    return _default
