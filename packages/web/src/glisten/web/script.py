"""Resources made by running Python files, as in ``twisted.web.script``: ``.rpy`` resource
scripts and ``.epy`` page scripts.

A ``.rpy`` file is Python that sets the global ``resource``; it runs (and is compiled) each
time it is requested, unless it calls ``cache()``, which keeps the resource until the file
changes. Scripts see ``registry`` (a :class:`~glisten.web.static.Registry` shared across the
site), ``__file__``, ``cache`` and ``recache``.

They are executed only where configured: in :attr:`glisten.web.static.File.processors`
(``{".rpy": ResourceScript}``), with :class:`ResourceScriptWrapper` or
:class:`ResourceScriptDirectory`, or by ``glisten web --resource-script``. Anyone who can write
such a file where it is served can run code on the server.
"""

from __future__ import annotations

import importlib
import os
import traceback
from typing import Any

from glisten.logger import Logger
from glisten.web import http, resource
from glisten.web._registry import Registry
from glisten.web.iweb import IRequest
from glisten.web.resource import IResource, RenderResult
from glisten.web.server import NOT_DONE_YET

__all__ = [
    "AlreadyCached",
    "CacheScanner",
    "PythonScript",
    "ResourceScript",
    "ResourceScriptDirectory",
    "ResourceScriptWrapper",
    "ResourceTemplate",
    "noRsrc",
]

_log = Logger()

#: What a script that sets no ``resource`` gives.
noRsrc = resource.ErrorPage(
    500,
    "Whoops! Internal Error",
    'The script forgot to assign to the variable "resource".',
)


class AlreadyCached(Exception):
    """Raised inside a script by ``cache()`` when its resource is cached: the script stops
    there and the cached resource is used."""


class CacheScanner:
    """The ``cache()`` and ``recache()`` a script calls.

    :param path: The script.
    :param registry: Where its resource is cached.
    """

    def __init__(self, path: str, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self.doCache = False

    def cache(self) -> None:
        """Use the cached resource if there is one (stopping the script), else cache what
        the script makes."""
        cached = self.registry.getCachedPath(self.path)
        if cached is not None:
            raise AlreadyCached(cached)
        self.recache()

    def recache(self) -> None:
        """Cache what the script makes, replacing what was cached."""
        self.doCache = True


def _runFile(path: str, namespace: dict[str, Any]) -> None:
    with open(path, "rb") as f:
        source = f.read()
    exec(compile(source, path, "exec"), namespace, namespace)


def _scriptResource(path: str, rsrc: object) -> IResource:
    if not resource.IResource.providedBy(rsrc):
        raise TypeError(f"{path}: 'resource' is {type(rsrc).__name__}, not a resource")
    return rsrc


def ResourceScript(path: str, registry: Registry) -> IResource:
    """Run the ``.rpy`` file ``path`` and return the ``resource`` it sets.

    :param path: The script.
    :param registry: Shared with the script as ``registry``; caches its resource if it calls
        ``cache()``.
    :return: The resource, or :data:`noRsrc` if it set none.
    """
    scanner = CacheScanner(path, registry)
    namespace: dict[str, Any] = {
        "__file__": path,
        "__name__": "__rpy__",
        "resource": noRsrc,
        "registry": registry,
        "cache": scanner.cache,
        "recache": scanner.recache,
    }
    try:
        _runFile(path, namespace)
    except AlreadyCached as cached:
        result: IResource = cached.args[0]
        return result
    rsrc = _scriptResource(path, namespace["resource"])
    if scanner.doCache and rsrc is not noRsrc:
        registry.cachePath(path, rsrc)
    return rsrc


def ResourceTemplate(path: str, registry: Registry) -> IResource:
    """Run the Quixote PTL template module ``path`` (``.ptl``: Python whose ``@ptl_html``
    functions build escaped HTML) and return the ``resource`` it sets. It runs on every
    request, like an uncached ``.rpy`` script.

    :param path: The template module.
    :param registry: Shared with it as ``registry``.
    :raises ImportError: Quixote is not installed (``pip install quixote``).
    """
    try:
        compiler: Any = importlib.import_module("quixote.ptl.ptl_compile")
    except ImportError:
        raise ImportError("ResourceTemplate needs Quixote's PTL: pip install quixote") from None
    namespace: dict[str, Any] = {
        "__file__": path,
        "__name__": "__ptl__",
        "resource": noRsrc,
        "registry": registry,
    }
    with open(path, "rb") as f:
        code = compiler.compile_template(f, path)
    exec(code, namespace, namespace)
    return _scriptResource(path, namespace["resource"])


class ResourceScriptWrapper(resource.Resource):
    """A ``.rpy`` script as a resource: it runs for each request (unless it caches), so
    edits show at once.

    :param path: The script.
    :param registry: Shared with the script; a new one if ``None``.
    """

    def __init__(self, path: str, registry: Registry | None = None) -> None:
        super().__init__()
        self.path = path
        self.registry = registry or Registry()

    def render(self, request: IRequest) -> RenderResult:
        return ResourceScript(self.path, self.registry).render(request)

    def getChildWithDefault(self, path: bytes, request: IRequest) -> IResource:
        rsrc = ResourceScript(self.path, self.registry)
        if rsrc.isLeaf:
            # The script's resource is where the walk stops: it gets this segment too.
            prepath: list[bytes] = getattr(request, "prepath", [])
            postpath: list[bytes] = getattr(request, "postpath", [])
            if prepath:
                postpath.insert(0, prepath.pop())
            return rsrc
        return rsrc.getChildWithDefault(path, request)


class ResourceScriptDirectory(resource.Resource):
    """A folder of ``.rpy`` scripts: ``/name`` runs ``name`` in the folder; subfolders are
    folders of scripts too. The folder itself is not listed (403).

    :param pathname: The folder.
    :param registry: Shared with the scripts; a new one if ``None``.
    """

    def __init__(self, pathname: str, registry: Registry | None = None) -> None:
        super().__init__()
        self.path = pathname
        self.registry = registry or Registry()

    def getChild(self, path: bytes, request: IRequest) -> IResource:
        name = os.fsdecode(path)
        if not name:
            return self
        if name in (".", "..") or "/" in name or "\0" in name or name[0] == ".":
            return resource.NoResource()
        fn = os.path.join(self.path, name)
        if os.path.isdir(fn):
            return ResourceScriptDirectory(fn, self.registry)
        if os.path.exists(fn):
            return ResourceScript(fn, self.registry)
        return resource.NoResource()

    def render(self, request: IRequest) -> bytes:
        return resource.ForbiddenResource().render(request)


class PythonScript(resource.Resource):
    """An ``.epy`` page: a Python file run for each request with ``request`` in its
    globals, writing the response itself with ``request.write``; the request is finished
    when it returns.

    If the script raises, the failure is logged; the client sees the traceback (escaped)
    only when the site's ``displayTracebacks`` is on (Twisted always shows it).

    :param filename: The script.
    :param registry: Shared with the script as ``registry``.
    """

    isLeaf = True

    def __init__(self, filename: str, registry: Registry) -> None:
        super().__init__()
        self.filename = filename
        self.registry = registry

    def render(self, request: IRequest) -> int:
        namespace: dict[str, Any] = {
            "request": request,
            "__file__": self.filename,
            "__name__": "__epy__",
            "registry": self.registry,
        }
        try:
            _runFile(self.filename, namespace)
        except FileNotFoundError:
            request.write(resource.NoResource("File not found.").render(request))
        except Exception:
            _log.failure("Error running {script}", script=self.filename)
            site = getattr(request, "site", None)
            if getattr(request, "startedWriting", False):
                pass
            elif site is not None and getattr(site, "displayTracebacks", False):
                request.setResponseCode(http.INTERNAL_SERVER_ERROR)
                request.write(
                    resource.ErrorPage(
                        http.INTERNAL_SERVER_ERROR, "Script error", traceback.format_exc()
                    ).render(request)
                )
            else:
                request.write(
                    resource.ErrorPage(
                        http.INTERNAL_SERVER_ERROR,
                        "Script error",
                        "The page could not be produced.",
                    ).render(request)
                )
        if not getattr(request, "finished", False):
            request.finish()
        return NOT_DONE_YET
