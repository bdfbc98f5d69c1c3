"""Small HTML helpers, as in ``twisted.web.html``: escaping and a few list and block builders.

Every helper escapes what it is given: the results are safe to put in a page whatever the
input held. New code should prefer :mod:`glisten.web.template`.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _escape

__all__ = ["PRE", "UL", "escape", "linkList"]


def escape(text: str | bytes) -> str:
    """``text`` with ``&``, ``<``, ``>``, ``"`` and ``'`` replaced by character references,
    safe in element content and in quoted attribute values."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _escape(text, quote=True)


def PRE(text: str | bytes) -> str:
    """``text`` escaped in a ``<pre>`` block."""
    return "<pre>" + escape(text) + "</pre>"


def UL(lst: Iterable[str | bytes]) -> str:
    """An unordered list of the (escaped) items."""
    items = "".join(f"<li> {escape(item)} </li>\n" for item in lst)
    return f"<ul>\n{items}</ul>\n"


def linkList(lst: Iterable[tuple[str | bytes, str | bytes]]) -> str:
    """An unordered list of links from ``(href, text)`` pairs, both escaped.

    URLs whose scheme can run script (``javascript:``, ``vbscript:``, ``data:``) are
    written as ``#``: a link list is often built from user data.
    """
    items = []
    for href, text in lst:
        hrefText = href.decode("utf-8", "replace") if isinstance(href, bytes) else href
        scheme = hrefText.strip().split(":", 1)[0].lower() if ":" in hrefText else ""
        if scheme.strip().replace("\t", "") in ("javascript", "vbscript", "data"):
            hrefText = "#"
        items.append(f'<li> <a href="{escape(hrefText)}">{escape(text)}</a></li>\n')
    return "<ul>\n" + "".join(items) + "</ul>\n"
