"""The PRECIS profiles RFC 7622 uses for JIDs (RFC 8264, RFC 8265), on ``unicodedata``.

The standard library has no PRECIS, so the derived property of each code point (RFC 8264
section 8-9) is computed here from its general category and normalisation. Approximations,
all on the strict side: the Bidi Rule (RFC 5893) is not checked, code points that need
contextual rules (CONTEXTJ, CONTEXTO: ZERO WIDTH (NON-)JOINER, MIDDLE DOT, GREEK KERAIA, HEBREW
GERESH/GERSHAYIM, KATAKANA MIDDLE DOT) are refused, and "default ignorable" code points are
recognised by category (format characters, variation selectors, Hangul fillers) rather than
from Unicode's DerivedCoreProperties. Domain parts go through IDNA2008 with UTS #46 mapping.
"""

from __future__ import annotations

import unicodedata

import idna

__all__ = ["PrecisError", "prepareDomain", "prepareLocal", "prepareResource"]


class PrecisError(ValueError):
    """A string cannot be prepared; the message names the part and the rule, not the text."""


_EXCEPTIONS_PVALID = frozenset("\u00df\u03c2\u06fd\u06fe\u0f0b\u3007")
_EXCEPTIONS_DISALLOWED = frozenset(
    "\u0640\u07fa\u302e\u302f\u3031\u3032\u3033\u3034\u3035\u303b"
    # CONTEXTO and CONTEXTJ code points: refused (their context rules are not implemented).
    "\u00b7\u0375\u05f3\u05f4\u30fb\u200c\u200d"
)
_LETTER_DIGITS = frozenset({"Ll", "Lu", "Lo", "Nd", "Lm", "Mn", "Mc"})
_OTHER_FREE = frozenset(
    {"Lt", "Nl", "No", "Me", "Zs", "Sm", "Sc", "Sk", "So", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po"}
)
# Localpart characters RFC 7622 section 3.3.1 excludes beyond the IdentifierClass.
_LOCAL_EXCLUDED = frozenset("\"&'/:<>@")
_MAX_PART = 1023


def _ignorable(cp: int, category: str) -> bool:
    if category == "Cf":
        return True
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or 0x180B <= cp <= 0x180F:
        return True  # variation selectors, Mongolian free variation selectors
    if cp in (0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, 0x17B4, 0x17B5):
        return True
    return (cp & 0xFFFE) == 0xFFFE or 0xFDD0 <= cp <= 0xFDEF  # noncharacters


def _allowed(ch: str, freeform: bool) -> bool:
    if ch in _EXCEPTIONS_PVALID:
        return True
    if ch in _EXCEPTIONS_DISALLOWED:
        return False
    cp = ord(ch)
    category = unicodedata.category(ch)
    if category == "Cn":
        return False  # unassigned
    if 0x21 <= cp <= 0x7E:
        return True  # ASCII7
    if _ignorable(cp, category) or category in ("Cc", "Cs", "Co"):
        return False
    if 0x1100 <= cp <= 0x11FF or 0xA960 <= cp <= 0xA97F or 0xD7B0 <= cp <= 0xD7FF:
        return False  # old Hangul jamo
    if unicodedata.normalize("NFKC", ch) != ch:
        return freeform  # HasCompat: ID_DIS, FREE_PVAL
    if category in _LETTER_DIGITS:
        return True
    if category in _OTHER_FREE:
        return freeform
    return False


def _checkLength(value: str, what: str) -> None:
    if not value:
        raise PrecisError(f"the {what} is empty")
    if len(value.encode("utf-8")) > _MAX_PART:
        raise PrecisError(f"the {what} is longer than {_MAX_PART} bytes")


def _widthMap(ch: str) -> str:
    decomposition = unicodedata.decomposition(ch)
    if decomposition.startswith(("<wide>", "<narrow>")):
        return unicodedata.normalize("NFKC", ch)
    return ch


def prepareLocal(value: str) -> str:
    """Enforce the UsernameCaseMapped profile (RFC 8265 section 3.3) and RFC 7622's extra
    exclusions on a localpart.

    :return: the localpart in its canonical form.
    :raises PrecisError: it is empty, too long or holds a disallowed character.
    """
    if not value.isascii():
        value = "".join(_widthMap(ch) for ch in value)
    value = unicodedata.normalize("NFC", value.lower())
    _checkLength(value, "localpart")
    for ch in value:
        if ch in _LOCAL_EXCLUDED or not _allowed(ch, False):
            raise PrecisError("the localpart contains a disallowed character")
    return value


def prepareResource(value: str) -> str:
    """Enforce the OpaqueString profile (RFC 8265 section 4.2) on a resourcepart.

    :return: the resourcepart in its canonical form.
    :raises PrecisError: it is empty, too long or holds a disallowed character.
    """
    if not value.isascii():
        value = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in value)
        value = unicodedata.normalize("NFC", value)
    _checkLength(value, "resourcepart")
    for ch in value:
        if not _allowed(ch, True):
            raise PrecisError("the resourcepart contains a disallowed character")
    return value


def prepareDomain(value: str) -> str:
    """Prepare a domainpart (RFC 7622 section 3.2): an IP literal, or a name checked and
    mapped by IDNA2008 (UTS #46) and kept in Unicode, lower case, without a final dot.

    :return: the domainpart in its canonical form.
    :raises PrecisError: it is empty, too long or not a valid domain name.
    """
    if value.endswith("."):
        value = value[:-1]
    _checkLength(value, "domainpart")
    if value.startswith("[") and value.endswith("]"):
        import ipaddress

        try:
            return "[" + str(ipaddress.IPv6Address(value[1:-1])) + "]"
        except ValueError:
            raise PrecisError("the domainpart is not a valid IPv6 literal") from None
    if value.isascii():
        lowered = value.lower()
        if all(ch.isalnum() or ch in "-." for ch in lowered) and all(
            0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")
            for label in lowered.split(".")
        ):
            if not lowered.startswith("xn--") and ".xn--" not in lowered:
                return lowered
    try:
        ascii = idna.encode(value, uts46=True).decode("ascii")
        return idna.decode(ascii)
    except idna.IDNAError:
        raise PrecisError("the domainpart is not a valid domain name") from None
