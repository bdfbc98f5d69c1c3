"""Template flattening: glisten.web.template against twisted.web.template.

Run with ``hatch run python benchmarks/web_template.py`` (optionally with words selecting
cases). Each case renders ``n`` pages with ``flattenString``; a page is described in its
docstring.
"""

from __future__ import annotations

import os
from typing import Any

from _harness import Case, main


def _template(impl: str) -> Any:
    if impl == "glisten":
        from glisten.web import template
    else:
        from twisted.web import template  # type: ignore[no-redef]
    return template


def _defer(impl: str) -> Any:
    if impl == "glisten":
        from glisten.internet import defer
    else:
        from twisted.internet import defer  # type: ignore[no-redef]
    return defer


if os.environ.get("GLISTEN_BENCH_IMPL") in ("glisten", "twisted"):
    _template(os.environ["GLISTEN_BENCH_IMPL"])

NS = "http://twistedmatrix.com/ns/twisted.web.template/0.1"
TEMPLATE = f"""<html xmlns:t="{NS}"><head><title t:render="title" /></head>
<body><table><tr t:render="rows"><td><t:slot name="name"/></td>
<td class="n"><t:attr name="title"><t:slot name="name"/></t:attr><t:slot name="value"/></td></tr>
</table></body></html>"""


def _flatten(impl: str, root: Any) -> bytes:
    results: list[Any] = []
    _template(impl).flattenString(None, root).addBoth(results.append)
    out = results[0]
    assert isinstance(out, bytes), out
    return out


def _tableElement(impl: str, rows: int, deferred: bool) -> Any:
    t = _template(impl)
    succeed = _defer(impl).succeed
    data = [(f"row <{i}>", i * 3) for i in range(rows)]

    class Table(t.Element):
        loader = t.XMLString(TEMPLATE)

        @t.renderer
        def title(self, request: Any, tag: Any) -> Any:
            return tag("A table & its rows")

        @t.renderer
        def rows(self, request: Any, tag: Any) -> Any:
            for name, value in data:
                filled = tag.clone().fillSlots(name=name, value=str(value))
                yield succeed(filled) if deferred else filled

    return Table()


def table100(impl: str, n: int) -> None:
    """An XML template with a renderer yielding 100 rows, each with 3 slots (one in an
    attribute) and escaped text."""
    element = _tableElement(impl, 100, False)
    for _ in range(n):
        _flatten(impl, element)


def table100Deferred(impl: str, n: int) -> None:
    """The same page with every row behind a fired Deferred."""
    element = _tableElement(impl, 100, True)
    for _ in range(n):
        _flatten(impl, element)


def stanTree(impl: str, n: int) -> None:
    """A tree built with ``tags``: 50 list items with a link each, attributes to escape."""
    tags = _template(impl).tags
    for _ in range(n):
        tree = tags.ul(
            [tags.li(tags.a(href=f'/item?id={i}&x="y"')(f"item <{i}>")) for i in range(50)]
        )
        _flatten(impl, tree)


CASES = [
    Case("template: 100-row table page", table100),
    Case("template: 100 rows behind Deferreds", table100Deferred),
    Case("template: tags tree, 50 links", stanTree),
]

if __name__ == "__main__":
    main(CASES)
