"""
``ckeygen``: make, inspect and convert SSH keys, with Twisted's ``ckeygen`` options.

- ``ckeygen -t ed25519 -f FILE [-N PASS] [-C COMMENT]``: make a key (``FILE`` mode 0600 and
  ``FILE.pub``); ``-t ecdsa -b 384``, ``-t rsa -b 3072``.
- ``ckeygen -l -f FILE [-o sha256-base64]``: the fingerprint, as ``ssh-keygen -l`` shows it.
- ``ckeygen -y -f FILE [-P PASS]``: the public key of a private key.
- ``ckeygen -p -f FILE [-P OLD] [-N NEW]``: change the passphrase.
- ``ckeygen -e -f FILE``: the public key in RFC 4716 form (``ssh-keygen -e``).
- ``ckeygen --convert PEM|v1 -f FILE``: rewrite a private key as PEM (PKCS#8) or OpenSSH's
  own format, keeping its passphrase.
- ``ckeygen -s CA -I ID [-h] [-n PRINCIPALS] [-V VALIDITY] [-z SERIAL] [-O OPTION]... KEY.pub``:
  issue OpenSSH certificates (``KEY-cert.pub``), as ``ssh-keygen -s``: ``-h`` for a host
  certificate; ``-V`` as ``+1h``, ``-5m:+52w``, ``20300101:20310101`` or ``always:forever``;
  ``-O clear``, ``no-pty`` (and the other ``no-*``/``permit-*``), ``force-command=CMD``,
  ``source-address=CIDRS``, ``verify-required``, ``critical:NAME[=V]``, ``extension:NAME[=V]``.
- ``ckeygen -k -f KRL [-u] [-s CA.pub] [-z VERSION] FILE...``: write an OpenSSH key revocation
  list (``ssh-keygen -k``; ``-u`` adds to an existing one). Each ``FILE`` holds public keys
  and certificates to revoke (a certificate by its serial, or its key ID when it has none)
  or ``ssh-keygen``'s specification lines: ``serial: N[-M]`` and ``id: KEY_ID`` (for the CA
  of ``-s``), ``key:``, ``sha1:``, ``sha256:`` followed by a public key, ``hash: SHA256:...``.
- ``ckeygen -Q -f KRL FILE...``: whether each key or certificate is revoked (``ssh-keygen
  -Q``; exit status 1 when one is).

Passphrases not given on the command line are asked for on the terminal.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import getpass
import os
import re
import sys
import time
from collections.abc import Sequence

from glisten.conch.checkers import parseExpiryTime
from glisten.conch.ssh.keys import (
    CERT_HOST,
    CERT_USER,
    DEFAULT_USER_EXTENSIONS,
    BadKeyError,
    EncryptedKeyError,
    FingerprintFormats,
    Key,
)
from glisten.conch.ssh.krl import KeyRevocationList, KRLError
from glisten.python.filepath import FilePath

__all__ = ["run"]

_TYPES = {"ed25519": (None,), "ecdsa": (256, 384, 521), "rsa": None}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ckeygen", description="Make and manage SSH keys.", add_help=False
    )
    p.add_argument("--help", action="help", help="show this help and exit")
    p.add_argument("-t", "--type", choices=sorted(_TYPES), help="make a key of this type")
    p.add_argument("-b", "--bits", type=int, help="key size (ecdsa 256/384/521, rsa >= 2048)")
    p.add_argument("-f", "--filename", help="the private key file")
    p.add_argument("-C", "--comment", help="comment for a new key's public line")
    p.add_argument("-N", "--newpass", help="the new passphrase")
    p.add_argument("-P", "--pass", dest="passphrase", help="the current passphrase")
    p.add_argument("--no-passphrase", "--nopass", action="store_true", help="no passphrase")
    p.add_argument(
        "-o",
        "--format",
        default=FingerprintFormats.SHA256_BASE64,
        choices=[FingerprintFormats.MD5_HEX, FingerprintFormats.SHA256_BASE64],
        help="fingerprint format",
    )
    p.add_argument("--private-key-subtype", choices=["PEM", "v1"], default="v1")
    group = p.add_mutually_exclusive_group()
    group.add_argument("-l", "--fingerprint", action="store_true", help="show the fingerprint")
    group.add_argument("-p", "--changepass", action="store_true", help="change the passphrase")
    group.add_argument("-y", "--showpub", action="store_true", help="show the public key")
    group.add_argument("-e", "--export", action="store_true", help="public key as RFC 4716")
    group.add_argument("--convert", choices=["PEM", "v1"], help="rewrite the private key")
    group.add_argument("-k", dest="krl", action="store_true", help="write a revocation list")
    group.add_argument("-Q", dest="query", action="store_true", help="check keys against a KRL")
    p.add_argument("-u", dest="update", action="store_true", help="-k: add to the KRL")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-s", "--sign", metavar="CA", help="issue certificates with this CA key")
    p.add_argument("-I", "--identity", help="the certificate's key ID")
    p.add_argument("-n", "--principals", help="comma-separated user or host names")
    p.add_argument("-h", "--host", action="store_true", help="a host certificate")
    p.add_argument("-V", "--validity", default="always:forever", help="validity interval")
    p.add_argument("-z", "--serial", type=int, default=0, help="serial number (-k: KRL version)")
    p.add_argument("-O", dest="certOptions", action="append", default=[], help="option")
    p.add_argument("keys", nargs="*", metavar="KEY.pub", help="public keys to certify (-s)")
    return p


class _Failed(Exception):
    """A message for the user; exit status 1."""


def _load(path: str, passphrase: str | None) -> tuple[Key, str | None]:
    """The key in ``path`` and the passphrase that opened it (asked for when needed)."""
    try:
        return Key.fromFile(path), None
    except EncryptedKeyError:
        pass
    except (OSError, BadKeyError) as e:
        raise _Failed(f"cannot read {path}: {e}") from None
    if passphrase is None:
        passphrase = getpass.getpass("Enter passphrase: ")
    try:
        return Key.fromFile(path, passphrase=passphrase), passphrase
    except (BadKeyError, EncryptedKeyError):
        raise _Failed("wrong passphrase") from None


def _newPassphrase(options: argparse.Namespace) -> str | None:
    if options.no_passphrase:
        return None
    if options.newpass is not None:
        return options.newpass or None
    first = getpass.getpass("Enter new passphrase (empty for none): ")
    if first != getpass.getpass("Enter same passphrase again: "):
        raise _Failed("passphrases do not match")
    return first or None


def _save(key: Key, path: str, passphrase: str | None, subtype: str, comment: str) -> None:
    kind = "openssh" if subtype == "v1" else "pem"
    data = key.toString(kind, comment=comment or None, passphrase=passphrase)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _fingerprintLine(key: Key, name: str, fmt: str) -> str:
    fp = key.fingerprint(fmt)
    if fmt == FingerprintFormats.SHA256_BASE64:
        fp = "SHA256:" + fp
    kind = key.type().upper() + ("-SK" if key.securityKeyApplication() is not None else "")
    return f"{key.size()} {fp} {name} ({kind})"


def _generate(options: argparse.Namespace) -> None:
    bits = options.bits
    allowed = _TYPES[options.type]
    if allowed is not None and bits not in allowed and bits is not None:
        raise _Failed(f"{options.type} keys come in {', '.join(map(str, allowed))} bits")
    if options.type == "rsa" and bits is not None and bits < 2048:
        raise _Failed("RSA keys need 2048 bits or more")
    path = options.filename or os.path.expanduser(f"~/.ssh/id_{options.type}")
    if os.path.exists(path):
        raise _Failed(f"{path} exists; not overwriting it")
    key = Key.generate(options.type, bits)
    comment = options.comment or ""
    _save(key, path, _newPassphrase(options), options.private_key_subtype, comment)
    line = key.public().toString("openssh")
    with open(path + ".pub", "wb") as f:
        f.write(line + (b" " + comment.encode() if comment else b"") + b"\n")
    if not options.quiet:
        print(f"Your identification has been saved in {path}")
        print(f"Your public key has been saved in {path}.pub")
        print("The key fingerprint is:")
        print(_fingerprintLine(key, comment or path, options.format))


#: ``-O`` names of the standard extensions (OpenSSH spells X11 in capitals).
_PERMITS = {
    "permit-x11-forwarding": "permit-X11-forwarding",
    "permit-agent-forwarding": "permit-agent-forwarding",
    "permit-port-forwarding": "permit-port-forwarding",
    "permit-pty": "permit-pty",
    "permit-user-rc": "permit-user-rc",
}
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _timeSpec(text: str, now: float, forever: bool) -> int:
    """One end of ``-V``: ``+1h``/``-5m`` from now, an absolute date, ``always``/``forever``."""
    if text == ("forever" if forever else "always"):
        return (1 << 64) - 1 if forever else 0
    relative = re.fullmatch(r"([+-])(\d+)([smhdw]?)", text)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        return max(0, int(now + sign * int(relative.group(2)) * _UNITS[relative.group(3)]))
    absolute = parseExpiryTime(text.encode("ascii", "replace"))
    if absolute is None:
        raise _Failed(f"bad validity time: {text}")
    return int(absolute)


def _validity(text: str, now: float) -> tuple[int, int]:
    """``-V`` as OpenSSH reads it: ``FROM:TO``, or only ``TO`` (valid from now)."""
    start, sep, end = text.partition(":")
    if not sep:
        return int(now), _timeSpec(text, now, True)
    return _timeSpec(start, now, False), _timeSpec(end, now, True)


def _certificateOptions(
    specs: list[str], host: bool
) -> tuple[dict[bytes | str, bytes | str], dict[bytes | str, bytes | str]]:
    critical: dict[bytes | str, bytes | str] = {}
    # Names as bytes throughout, so -O permit-pty after the defaults is not a second entry.
    extensions: dict[bytes | str, bytes | str] = {} if host else dict(DEFAULT_USER_EXTENSIONS)
    for spec in specs:
        name, _, value = spec.partition("=")
        lower = name.lower()
        if lower == "clear":
            extensions.clear()
        elif lower in ("force-command", "source-address") and value:
            critical[lower.encode()] = value.encode()
        elif lower == "verify-required":
            critical[b"verify-required"] = b""
        elif lower in _PERMITS:
            extensions[_PERMITS[lower].encode()] = b""
        elif lower.startswith("no-") and "permit-" + lower[3:] in _PERMITS:
            extensions.pop(_PERMITS["permit-" + lower[3:]].encode(), None)
        elif lower.startswith("critical:") and len(name) > 9:
            critical[name[9:].encode()] = value.encode()
        elif lower.startswith("extension:") and len(name) > 10:
            extensions[name[10:].encode()] = value.encode()
        else:
            raise _Failed(f"unknown certificate option: {spec}")
    return critical, extensions


def _signCertificates(options: argparse.Namespace) -> None:
    if not options.identity or not options.keys:
        raise _Failed("give -I ID and the public keys to certify")
    ca, _ = _load(options.sign, options.passphrase)
    validAfter, validBefore = _validity(options.validity, time.time())
    critical, extensions = _certificateOptions(options.certOptions, options.host)
    principals = [p for p in (options.principals or "").split(",") if p]
    for path in options.keys:
        try:
            key = Key.fromFile(path)
        except (OSError, BadKeyError) as e:
            raise _Failed(f"cannot read {path}: {e}") from None
        cert = ca.signCertificate(
            key,
            CERT_HOST if options.host else CERT_USER,
            options.identity,
            principals,
            validAfter,
            validBefore,
            critical,
            extensions,
            options.serial,
        )
        base = path[: -len(".pub")] if path.endswith(".pub") else path
        with open(base + "-cert.pub", "wb") as f:
            f.write(cert.toString("openssh", comment=os.path.basename(path)) + b"\n")
        if not options.quiet:
            print(f"Signed {'host' if options.host else 'user'} key {base}-cert.pub")


class _Revocations:
    """What the files given to ``-k`` revoke, gathered for :class:`KeyRevocationList`."""

    def __init__(self, ca: Key | None) -> None:
        self.ca = ca
        self.keys: list[Key] = []
        self.sha1: list[Key] = []
        self.sha256: list[Key] = []
        self.hashes: list[bytes] = []
        self.serials: dict[Key, list[int | tuple[int, int]]] = {}
        self.keyIds: dict[Key | None, list[bytes]] = {}

    def _needCA(self, what: str) -> Key:
        if self.ca is None:
            raise _Failed(f"revoking certificates by {what} needs the CA key (-s)")
        return self.ca

    def _serial(self, text: str) -> int | tuple[int, int]:
        low, dash, high = text.partition("-")
        try:
            numbers = (int(low), int(high) if dash else int(low))
        except ValueError:
            raise _Failed(f"bad serial: {text}") from None
        if not 0 < numbers[0] <= numbers[1] < 1 << 64:
            raise _Failed(f"bad serial: {text}")
        return numbers[0] if numbers[0] == numbers[1] else numbers

    def line(self, line: str) -> None:
        """Add one line of a specification or key file."""
        keyword, colon, rest = line.partition(":")
        keyword, rest = keyword.strip().lower(), rest.strip()
        if colon and keyword == "serial":
            self.serials.setdefault(self._needCA("serial"), []).append(self._serial(rest))
        elif colon and keyword == "id":
            self.keyIds.setdefault(self._needCA("key ID"), []).append(rest.encode("utf-8"))
        elif colon and keyword in ("key", "sha1", "sha256"):
            key = _parsePublic(rest)
            {"key": self.keys, "sha1": self.sha1, "sha256": self.sha256}[keyword].append(key)
        elif colon and keyword == "hash":
            self.hashes.append(_sha256Fingerprint(rest))
        else:
            key = _parsePublic(line)
            cert = key.certificate
            if cert is None:
                self.keys.append(key)
            elif cert.serial:
                self.serials.setdefault(cert.signatureKey, []).append(cert.serial)
            else:
                self.keyIds.setdefault(cert.signatureKey, []).append(cert.keyId)

    def revocationList(self, version: int) -> KeyRevocationList:
        return KeyRevocationList(
            keys=self.keys,
            sha256Keys=self.sha256,
            serials=self.serials,
            keyIds=self.keyIds,
            version=version,
            sha1Keys=self.sha1,
            sha256Hashes=self.hashes,
        )


def _parsePublic(text: str) -> Key:
    try:
        return Key.fromString(text.encode("utf-8")).public()
    except BadKeyError:
        raise _Failed("not a public key") from None


def _sha256Fingerprint(text: str) -> bytes:
    """The raw hash of an ``SHA256:base64`` fingerprint."""
    if not text.startswith("SHA256:"):
        raise _Failed("only SHA256: fingerprints can be revoked by hash")
    encoded = text[len("SHA256:") :]
    try:
        digest = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _Failed("bad SHA256 fingerprint") from None
    if len(digest) != 32:
        raise _Failed("bad SHA256 fingerprint")
    return digest


def _writeRevocationList(options: argparse.Namespace) -> None:
    if not options.filename or not options.keys:
        raise _Failed("give the KRL file with -f and the keys or specifications to revoke")
    ca = None
    if options.sign is not None:
        try:
            ca = Key.fromFile(options.sign).public()
        except (OSError, BadKeyError) as e:
            raise _Failed(f"cannot read the CA key {options.sign}: {e}") from None
    revocations = _Revocations(ca)
    for path in options.keys:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise _Failed(f"cannot read {path}: {e}") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            try:
                revocations.line(line)
            except _Failed as e:
                raise _Failed(f"{path}:{number}: {e}") from None
        if not options.quiet:
            print(f"Revoking from {path}")
    krl = revocations.revocationList(options.serial)
    if options.update:
        try:
            existing = KeyRevocationList.fromFile(options.filename)
        except (OSError, KRLError) as e:
            raise _Failed(f"cannot read the KRL {options.filename}: {e}") from None
        krl = existing.union(krl, version=options.serial or existing.version + 1)
    try:
        # A sibling renamed over the KRL: sshd never reads a half-written one.
        FilePath(options.filename).setContent(krl.toBytes())
    except OSError as e:
        raise _Failed(f"cannot write the KRL {options.filename}: {e}") from None


def _queryRevocationList(options: argparse.Namespace) -> int:
    if not options.filename or not options.keys:
        raise _Failed("give the KRL file with -f and the keys to check")
    try:
        krl = KeyRevocationList.fromFile(options.filename)
    except (OSError, KRLError) as e:
        raise _Failed(f"cannot read the KRL {options.filename}: {e}") from None
    status = 0
    for path in options.keys:
        try:
            key = Key.fromFile(path)
        except (OSError, BadKeyError) as e:
            raise _Failed(f"cannot read {path}: {e}") from None
        revoked = krl.isRevoked(key)
        print(f"{path}: {'REVOKED' if revoked else 'ok'}")
        status = status or int(revoked)
    return status


def _main(options: argparse.Namespace) -> int:
    if options.krl:
        _writeRevocationList(options)
        return 0
    if options.query:
        return _queryRevocationList(options)
    if options.sign is not None:
        _signCertificates(options)
        return 0
    if options.type is not None:
        _generate(options)
        return 0
    if not options.filename:
        raise _Failed("give the key file with -f")
    path = options.filename
    if options.fingerprint:
        key: Key
        try:
            key = Key.fromFile(path)
        except EncryptedKeyError:
            key = Key.fromFile(path + ".pub")
        print(_fingerprintLine(key, path, options.format))
    elif options.showpub or options.export:
        key, _ = _load(path, options.passphrase)
        sys.stdout.buffer.write(
            key.public().toString("rfc4716" if options.export else "openssh") + b"\n"
        )
    elif options.changepass:
        key, _ = _load(path, options.passphrase)
        _save(key, path, _newPassphrase(options), options.private_key_subtype, "")
        if not options.quiet:
            print("Your identification has been saved with the new passphrase.")
    elif options.convert:
        key, passphrase = _load(path, options.passphrase)
        _save(key, path, passphrase, options.convert, "")
        if not options.quiet:
            print(f"{path} rewritten as {options.convert}.")
    else:
        raise _Failed("nothing to do: give -t, -l, -y, -e, -p, --convert, -k or -Q")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``ckeygen``; return the exit status."""
    given = list(sys.argv[1:] if argv is None else argv)
    # ``-V -5m:+1h`` (as ssh-keygen takes it): argparse would read the value as an option.
    args: list[str] = []
    while given:
        arg = given.pop(0)
        args.append("-V" + given.pop(0) if arg == "-V" and given else arg)
    options = _parser().parse_args(args)
    try:
        return _main(options)
    except _Failed as e:
        print(f"ckeygen: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run())
