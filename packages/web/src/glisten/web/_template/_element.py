"""Renderable elements: :class:`Element` and the :func:`renderer` decorator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from zope.interface import implementer

from glisten.web.error import MissingRenderMethod, MissingTemplateLoader
from glisten.web.iweb import IRenderable, IRequest, ITemplateLoader

_F = TypeVar("_F", bound=Callable[..., Any])

_RENDERER_MARK = "_glistenTemplateRenderer"


def renderer(function: _F) -> _F:
    """Expose a method of an :class:`Element` as a renderer, under its own name.

    A renderer is called as ``method(request, tag)`` for each tag whose ``render`` names it;
    ``tag`` is a copy it may change and return, and whatever it returns (any flattenable:
    tags, strings, Deferreds, coroutines...) takes the tag's place. Only decorated methods can
    be named from a template, so a template cannot call arbitrary methods.
    """
    setattr(function, _RENDERER_MARK, True)
    return function


@implementer(IRenderable)
class Element:
    """A part of a page: a template (its :attr:`loader`) and the renderers it names.

    :param loader: The template; overrides the class attribute.
    :ivar loader: An :class:`~glisten.web.iweb.ITemplateLoader`.
    """

    loader: ITemplateLoader | None = None

    def __init__(self, loader: ITemplateLoader | None = None) -> None:
        if loader is not None:
            self.loader = loader

    def lookupRenderMethod(self, name: str) -> Callable[[IRequest | None, Any], Any]:
        """The renderer called ``name``.

        :raises glisten.web.error.MissingRenderMethod: There is no method of that name
            decorated with :func:`renderer`.
        """
        method = getattr(self, name, None)
        if method is None or not getattr(method, _RENDERER_MARK, False):
            raise MissingRenderMethod(self, name)
        result: Callable[[IRequest | None, Any], Any] = method
        return result

    def render(self, request: IRequest | None) -> Any:
        """The template's nodes.

        :raises glisten.web.error.MissingTemplateLoader: There is no :attr:`loader`.
        """
        loader = self.loader
        if loader is None:
            raise MissingTemplateLoader(self)
        return loader.load()
