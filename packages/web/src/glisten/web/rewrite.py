"""Rewriting request paths before a resource tree sees them, as in ``twisted.web.rewrite``.

A rule is a callable that changes ``request.postpath`` (and ``request.path``) in place::

    root = RewriterResource(site, tildeToUsers, alias(b"docs", b"static/manual"))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glisten.web import resource
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, RenderResult

__all__ = ["RewriterResource", "alias", "tildeToUsers"]

#: A rewrite rule: changes a request's remaining path in place.
RewriteRule = Callable[[Any], None]


def _setPath(request: Any) -> None:
    request.path = b"/" + b"/".join(request.prepath + request.postpath)


class RewriterResource(resource.Resource):
    """Applies rewrite rules to each request, then hands it to ``orig``.

    :param orig: The resource whose tree serves the rewritten paths.
    :param rewriteRules: Applied in order.
    """

    def __init__(self, orig: IResource, *rewriteRules: RewriteRule) -> None:
        super().__init__()
        self.resource = orig
        self.rewriteRules = list(rewriteRules)

    def _rewrite(self, request: Any) -> None:
        for rule in self.rewriteRules:
            rule(request)

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        req: Any = request
        # Put the segment back, so the rules see the whole remaining path.
        req.postpath.insert(0, path)
        req.prepath.pop()
        self._rewrite(req)
        if not req.postpath:
            return self.resource
        segment = req.postpath.pop(0)
        req.prepath.append(segment)
        return self.resource.getChildWithDefault(segment, request)

    def render(self, request: IRequest) -> RenderResult:
        self._rewrite(request)
        return self.resource.render(request)


def tildeToUsers(request: Any) -> None:
    """``/~name/...`` becomes ``/users/name/...``."""
    if request.postpath and request.postpath[0][:1] == b"~":
        request.postpath[:1] = [b"users", request.postpath[0][1:]]
        _setPath(request)


def alias(aliasPath: bytes, sourcePath: bytes) -> RewriteRule:
    """A rule serving ``sourcePath`` (and below) at ``aliasPath``: ``alias(b"a/b", b"c")``
    makes ``/a/b/x`` show ``/c/x``.

    :param aliasPath: The path clients use, without leading slash.
    :param sourcePath: The path in the tree, without leading slash.
    """
    source = sourcePath.split(b"/")
    aliased = aliasPath.split(b"/")

    def rewriter(request: Any) -> None:
        if request.postpath[: len(aliased)] == aliased:
            # In place: the resource walk holds this very list.
            request.postpath[:] = source + request.postpath[len(aliased) :]
            _setPath(request)

    return rewriter
