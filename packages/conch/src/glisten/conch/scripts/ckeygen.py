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

Passphrases not given on the command line are asked for on the terminal.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Sequence

from glisten.conch.ssh.keys import BadKeyError, EncryptedKeyError, FingerprintFormats, Key

__all__ = ["run"]

_TYPES = {"ed25519": (None,), "ecdsa": (256, 384, 521), "rsa": None}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ckeygen", description="Make and manage SSH keys.")
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
    p.add_argument("-q", "--quiet", action="store_true")
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
    return f"{key.size()} {fp} {name} ({key.type().upper()})"


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


def _main(options: argparse.Namespace) -> None:
    if options.type is not None:
        _generate(options)
        return
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
        raise _Failed("nothing to do: give -t, -l, -y, -e, -p or --convert")


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``ckeygen``; return the exit status."""
    options = _parser().parse_args(argv)
    try:
        _main(options)
    except _Failed as e:
        print(f"ckeygen: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run())
