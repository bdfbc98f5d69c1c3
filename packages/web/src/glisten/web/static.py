"""Static files and directory listings: :class:`File`, as in ``twisted.web.static``.

Serves a folder and nothing outside it: path segments ``..``, ``.``, or with a slash, backslash
or NUL are refused, and a symbolic link that resolves outside the served folder is answered
like a missing file. Supports index files, MIME types, ``Range`` (single and multipart),
``ETag``/``If-None-Match``, ``Last-Modified``/``If-Modified-Since`` and ``If-Range``.

Where this differs from Twisted, on purpose:

- no file is ever executed unless :attr:`File.processors` says so (Twisted's ``twist web
  --path`` runs ``.rpy`` scripts by default; here a processor must be configured);
- hidden files and folders (a name starting with ``.``: ``.git/``, ``.env``, ``.htpasswd``) are
  404 and left out of listings unless :attr:`File.allowHidden` is set; ``.well-known/``
  (RFC 8615, ACME challenges) stays public;
- a file of unknown type is ``application/octet-stream``, not ``text/html``: an uploaded file
  must not become a page of the site (stored XSS);
- every file and listing is sent with ``X-Content-Type-Options: nosniff``, so browsers do not
  second-guess the type.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import stat
from collections.abc import Callable, Sequence
from html import escape
from typing import IO, Any
from urllib.parse import quote

from zope.interface import implementer

from glisten.internet import interfaces
from glisten.web import http, resource
from glisten.web._filecache import FileCache, FileInfo
from glisten.web.iweb import IRequest
from glisten.web.resource import RenderResult
from glisten.web.server import NOT_DONE_YET, _acceptsCoding
from glisten.web.util import redirectTo

#: Larger files stream in pieces of this size.
_CHUNK = 65536
#: More ranges than this in one request are ignored and the whole file is sent (a request for
#: thousands of tiny ranges is a denial-of-service trick, not a download).
_MAX_RANGES = 16
#: The type of a file whose extension says nothing (Twisted: ``text/html``).
DEFAULT_TYPE = "application/octet-stream"
#: Dot-names public although hidden: RFC 8615's well-known URIs.
_PUBLIC_HIDDEN = frozenset({".well-known"})


def loadMimeTypes(
    mimetype_locations: Sequence[str] | None = None,
    init: Callable[[list[str] | None], object] | None = None,
) -> dict[str, str]:
    """Extension (with the dot, lower-case) -> MIME type, from the system's tables plus
    glisten's additions.

    :param mimetype_locations: more ``mime.types`` files to read.
    :param init: Twisted's hook, called as ``init(mimetype_locations)`` to fill
        :data:`mimetypes.types_map` (``mimetypes.init`` by default); its result is read from
        that global table. glisten's default reads the tables without touching the globals.
    """
    if init is not None:
        init(list(mimetype_locations) if mimetype_locations is not None else None)
        contentTypes = dict(mimetypes.types_map)
    else:
        db = mimetypes.MimeTypes()
        if mimetype_locations:
            for location in mimetype_locations:
                if os.path.exists(location):
                    db.read(location)
        contentTypes = dict(db.types_map[True])
    contentTypes.update(
        {
            ".conf": "text/plain",
            ".diff": "text/plain",
            ".flac": "audio/x-flac",
            ".java": "text/plain",
            ".mjs": "text/javascript",
            ".js": "text/javascript",
            ".md": "text/markdown",
            ".py": "text/plain",
            ".tac": "text/plain",
            ".wasm": "application/wasm",
            ".webp": "image/webp",
            ".woff2": "font/woff2",
        }
    )
    return contentTypes


def getTypeAndEncoding(
    filename: str,
    types: dict[str, str],
    encodings: dict[str, str],
    defaultType: str,
) -> tuple[str, str | None]:
    """The MIME type and content encoding of a file by its name (``x.tar.gz`` is a gzip-encoded
    tar)."""
    base, ext = os.path.splitext(filename)
    ext = ext.lower()
    encoding = None
    if ext in encodings:
        encoding = encodings[ext]
        base, ext = os.path.splitext(base)
        ext = ext.lower()
    return types.get(ext, defaultType), encoding


def _isHidden(name: str) -> bool:
    return name.startswith(".") and name not in _PUBLIC_HIDDEN


def _isSafeSegment(name: str) -> bool:
    return not (name in ("", ".", "..") or "/" in name or "\\" in name or "\x00" in name)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (OSError, ValueError):
        return None


def _within(path: str, root: str) -> bool:
    real = os.path.realpath(path)
    return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)


#: Pre-compressed siblings, the preferred first: extension and the codings that accept it.
_PRECOMPRESSED = (("br", ".br", (b"br",)), ("gzip", ".gz", (b"gzip", b"x-gzip")))


class File(resource.Resource):
    """A file, or a folder whose children are files.

    :param path: The file or folder.
    :param defaultType: MIME type of files with an unknown extension (Twisted's default is
        ``text/html``; glisten's is ``application/octet-stream``, see the module docstring).
    :param ignoredExts: Extensions tried when a child is missing (``/a`` finds ``a.html``);
        ``"*"`` stands for any extension.
    :param registry: The :class:`Registry` handed to processors (a new one if ``None``);
        shared with children.
    :param allowExt: Ignored; kept for Twisted compatibility.
    :ivar processors: File extension (``".rpy"``) to a callable ``(path, registry)`` giving
        the resource that serves such files, e.g. :class:`glisten.web.script.ResourceScript`.
        Empty by default: files are only ever sent, never run.
    :ivar indexNames: Files served for the folder itself, in order.
    :ivar showListing: Whether folders without an index file are listed.
    :ivar allowHidden: Whether names starting with ``.`` are served and listed (Twisted serves
        them; glisten answers 404 unless this is set).
    :ivar precompressed: Whether a ``.br`` or ``.gz`` file next to the requested one
        (``app.js.br``, ``app.js.gz``) is served instead, with ``Content-Encoding``, to clients
        whose ``Accept-Encoding`` takes it (brotli first); never for ``Range`` requests.
        Responses for a file that has such a sibling say ``Vary: Accept-Encoding``. Off by
        default (Twisted has no such thing); ``glisten web`` turns it on.
    :ivar cacheTime: Seconds the description and contents of a small file are reused without
        looking at the file again (set it before the first request; 0 looks every time). A
        changed file is served at most this long after the change; Twisted looks every time.
    """

    contentTypes: dict[str, str] = loadMimeTypes()
    contentEncodings: dict[str, str] = {".gz": "gzip", ".bz2": "bzip2", ".br": "br"}
    indexNames: list[str] = ["index", "index.html", "index.htm"]
    showListing = True
    allowHidden = False
    cacheTime = 1.0
    precompressed = False
    childNotFound: resource.Resource = resource.NoResource("File not found.")
    forbidden: resource.Resource = resource.ForbiddenResource()
    type: str | None = None
    encoding: str | None = None
    processors: dict[str, Callable[[str, Registry], resource.IResource]] = {}

    def __init__(
        self,
        path: str | bytes | os.PathLike[str],
        defaultType: str = DEFAULT_TYPE,
        ignoredExts: Sequence[str] = (),
        registry: Registry | None = None,
        allowExt: int = 0,
    ) -> None:
        super().__init__()
        text = os.fsdecode(path)
        # Children are made from an already normal path and a checked name: skip the
        # normalization (a noticeable cost per request) when there is nothing to normalize.
        if text.startswith("/") and "/." not in text and "//" not in text and text != "/":
            self.path = text.rstrip("/")
        else:
            self.path = os.path.abspath(text)
        self.defaultType = defaultType
        self.ignoredExts = list(ignoredExts)
        self.registry: Registry = Registry() if registry is None else registry
        self._rootPath: str | None = None
        # Whether the path is known to resolve inside the root (checked once, not per use).
        self._verified: bool | None = None
        self.headers: dict[bytes, bytes] = {}
        # What is known about served files; one per served root, shared with children.
        self._fileCache: FileCache | None = None

    @property
    def _root(self) -> str:
        """The real path of the served folder (this file's, unless it is a child)."""
        root = self._rootPath
        if root is None:
            root = self._rootPath = os.path.realpath(self.path)
        return root

    @property
    def _cache(self) -> FileCache:
        cache = self._fileCache
        if cache is None:
            cache = self._fileCache = FileCache(maxAge=self.cacheTime)
        return cache

    # -- the tree ---------------------------------------------------------------------------

    def createSimilarFile(self, path: str, verified: bool = False) -> File:
        """A child :class:`File` with the same settings (and the same served root)."""
        child = self.__class__(path, self.defaultType, self.ignoredExts, self.registry)
        child._rootPath = self._root
        child._verified = verified
        child.contentTypes = self.contentTypes
        child.contentEncodings = self.contentEncodings
        child.indexNames = self.indexNames
        child.showListing = self.showListing
        child.processors = self.processors
        child.allowHidden = self.allowHidden
        child.precompressed = self.precompressed
        child.headers = self.headers
        child._fileCache = self._cache
        return child

    def isdir(self) -> bool:
        return os.path.isdir(self.path)

    def _inside(self) -> bool:
        verified = self._verified
        if verified is None:
            verified = self._verified = _within(self.path, self._root)
        return verified

    def exists(self) -> bool:
        return os.path.exists(self.path) and self._inside()

    def ignoreExt(self, ext: str) -> None:
        """Also try ``ext`` when a child is missing (``"*"``: any extension, as Twisted's
        ``--allow_ignore_ext``)."""
        self.ignoredExts.append(ext)

    def directoryListing(self) -> DirectoryLister:
        """The listing of this folder."""
        lister = DirectoryLister(
            self.path, None, self.contentTypes, self.contentEncodings, self.defaultType
        )
        lister.showHidden = self.allowHidden
        return lister

    def getChild(self, path: bytes, request: IRequest) -> resource.IResource:
        if path == b"" and self.processors:
            index = self._processedIndex()
            if index is not None:
                return index
        if not self._inside():
            return self.childNotFound
        if path == b"":
            if not self.isdir():
                return self.childNotFound
            fresh = self._cache.fresh
            for name in self.indexNames:
                candidate = os.path.join(self.path, name)
                if fresh(candidate) is not None or (
                    os.path.isfile(candidate) and _within(candidate, self._root)
                ):
                    return self.createSimilarFile(candidate, verified=True)
            if self.showListing:
                return self.directoryListing()
            return self.forbidden
        try:
            name = path.decode("utf-8")
        except UnicodeDecodeError:
            name = os.fsdecode(path)
        if not _isSafeSegment(name):
            return self.forbidden if name in (".", "..") else self.childNotFound
        if not self.allowHidden and _isHidden(name):
            return self.childNotFound
        childPath = os.path.join(self.path, name)
        if self._cache.fresh(childPath) is not None:
            # Served a moment ago, so found inside the root then: no need to look again.
            return self.createSimilarFile(childPath, verified=True)
        st = _lstat(childPath)
        if st is None:
            for ext in self.ignoredExts:
                other = self._anyExtension(name) if ext == "*" else childPath + ext
                st = None if other is None else _lstat(other)
                if st is not None and other is not None:
                    childPath = other
                    break
            else:
                return self.childNotFound
        # This folder resolves inside the root and the name has no separator, so only a
        # symbolic link can lead out: resolve those (and only those) fully.
        if stat.S_ISLNK(st.st_mode) and not _within(childPath, self._root):
            return self.childNotFound
        return self._childFor(childPath)

    def _anyExtension(self, name: str) -> str | None:
        """The first file of this folder (by name) called ``name.<something>``: what
        ``ignoreExt("*")`` finds."""
        prefix = name + "."
        try:
            names = sorted(n for n in os.listdir(self.path) if n.startswith(prefix))
        except OSError:
            return None
        for candidate in names:
            if _isSafeSegment(candidate) and (self.allowHidden or not _isHidden(candidate)):
                return os.path.join(self.path, candidate)
        return None

    def _processedIndex(self) -> resource.IResource | None:
        """The folder's index file through its processor (``index.rpy``), if the first index
        file present has one."""
        if not self._inside() or not self.isdir():
            return None
        for name in self.indexNames:
            candidate = os.path.join(self.path, name)
            if os.path.isfile(candidate) and _within(candidate, self._root):
                processor = self.processors.get(os.path.splitext(candidate)[1])
                return None if processor is None else processor(candidate, self.registry)
        return None

    def _childFor(self, childPath: str) -> resource.IResource:
        """The resource for a checked path inside the root: its processor's, or a file."""
        if self.processors:
            processor = self.processors.get(os.path.splitext(childPath)[1])
            if processor is not None:
                return processor(childPath, self.registry)
        return self.createSimilarFile(childPath, verified=True)

    # -- rendering --------------------------------------------------------------------------

    def _typeAndEncoding(self) -> tuple[str, str | None]:
        if self.type is not None:
            return self.type, self.encoding
        return getTypeAndEncoding(
            os.path.basename(self.path), self.contentTypes, self.contentEncodings, self.defaultType
        )

    def _headerValues(self) -> tuple[bytes, bytes | None]:
        """The ``Content-Type`` and ``Content-Encoding`` values of this file."""
        ctype, encoding = self._typeAndEncoding()
        if ctype.startswith("text/") and "charset" not in ctype:
            ctype += "; charset=utf-8"
        return ctype.encode("ascii"), encoding.encode("ascii") if encoding else None

    def render_GET(self, request: IRequest) -> RenderResult:
        request.setHeader(b"accept-ranges", b"bytes")
        request.setHeader(b"x-content-type-options", b"nosniff")
        for name, value in self.headers.items():
            request.setHeader(name, value)
        if not self._inside():
            return self.childNotFound.render(request)
        if self.precompressed:
            sibling = self._precompressedSibling(request)
            if sibling is not None:
                return sibling.render_GET(request)
        info = self._cache.fresh(self.path)
        if info is not None:
            return self._serve(request, info, None)
        try:
            f: IO[bytes] = open(self.path, "rb")
        except IsADirectoryError:
            return redirectTo(_addSlash(request), request)
        except FileNotFoundError:
            return self.childNotFound.render(request)
        except OSError:
            return self.forbidden.render(request)
        try:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                f.close()
                return self.forbidden.render(request)
            info = self._cache.load(self.path, f, st, self._headerValues)
            if info.body is not None:
                f.close()
                return self._serve(request, info, None)
            return self._serve(request, info, f)
        except BaseException:
            f.close()
            raise

    render_HEAD = render_GET

    def _precompressedSibling(self, request: IRequest) -> File | None:
        """The ``.br`` or ``.gz`` sibling to send for this request, if any; says
        ``Vary: Accept-Encoding`` when one exists."""
        cache = self._cache
        path = self.path
        # Most files have no sibling: that is known from the cache without a system call.
        present = [
            (coding, path + ext, accepted)
            for coding, ext, accepted in _PRECOMPRESSED
            if cache.fresh(path + ext) is not None or self._siblingExists(path + ext)
        ]
        if not present:
            return None
        ctype, encoding = self._typeAndEncoding()
        if encoding is not None:
            return None  # Already an encoded file: send it as it is.
        request.setHeader(b"vary", b"Accept-Encoding")
        if request.getHeader(b"range") is not None:
            return None
        accept = request.getHeader(b"accept-encoding")
        for coding, sibling, accepted in present:
            if _acceptsCoding(accept, *accepted):
                child = self.createSimilarFile(sibling, verified=True)
                child.precompressed = False
                # The original's type, whatever the sibling's name would say.
                child.type, child.encoding = ctype, coding
                return child
        return None

    def _siblingExists(self, sibling: str) -> bool:
        """Whether ``sibling`` is a regular file inside the root (a missing one is
        remembered for :attr:`cacheTime`)."""
        cache = self._cache
        if cache.absent(sibling):
            return False
        st = _lstat(sibling)
        if st is not None and stat.S_ISREG(st.st_mode):
            return True
        if (
            st is not None
            and stat.S_ISLNK(st.st_mode)
            and _within(sibling, self._root)
            and os.path.isfile(sibling)
        ):
            return True
        cache.noteAbsent(sibling)
        return False

    def _serve(self, request: IRequest, info: FileInfo, f: IO[bytes] | None) -> RenderResult:
        """Answer with the file ``info`` describes: from ``info.body`` if it holds the
        contents, else from the open file ``f`` (which this closes or hands on)."""
        size = info.size
        if (
            request.setETag(info.etag) is http.CACHED
            or request.setLastModified(info.mtime) is http.CACHED
        ):
            if f is not None:
                f.close()
            return b""
        ctypeBytes = info.contentType
        request.setHeader(b"content-type", ctypeBytes)
        if info.contentEncoding:
            request.setHeader(b"content-encoding", info.contentEncoding)
        segments = [(b"", 0, size)]
        trailer = b""
        ranges = self._ranges(request, size, info.etag, info.mtime)
        if ranges == "unsatisfiable":
            if f is not None:
                f.close()
            request.setResponseCode(http.REQUESTED_RANGE_NOT_SATISFIABLE)
            request.setHeader(b"content-range", b"bytes */%d" % size)
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            return b""
        if isinstance(ranges, list) and len(ranges) == 1:
            start, end = ranges[0]
            request.setResponseCode(http.PARTIAL_CONTENT)
            request.setHeader(b"content-range", b"bytes %d-%d/%d" % (start, end, size))
            segments = [(b"", start, end - start + 1)]
        elif isinstance(ranges, list):
            boundary = secrets.token_hex(16).encode("ascii")
            request.setResponseCode(http.PARTIAL_CONTENT)
            request.setHeader(b"content-type", b"multipart/byteranges; boundary=" + boundary)
            segments = []
            for start, end in ranges:
                head = b"\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n" % (
                    boundary,
                    ctypeBytes,
                    start,
                    end,
                    size,
                )
                segments.append((head, start, end - start + 1))
            trailer = b"\r\n--%s--\r\n" % boundary
        total = sum(len(h) + n for h, _, n in segments) + len(trailer)
        request.setHeader(b"content-length", b"%d" % total)
        body = info.body
        if body is not None:
            if request.method == b"HEAD":
                return b""
            if ranges is None:
                return body
            return (
                b"".join(
                    [head + body[offset : offset + length] for head, offset, length in segments]
                )
                + trailer
            )
        assert f is not None
        if request.method == b"HEAD":
            f.close()
            return b""
        _FileProducer(request, f, segments, trailer).start()
        return NOT_DONE_YET

    def _ranges(
        self, request: IRequest, size: int, etag: bytes, mtime: float
    ) -> list[tuple[int, int]] | str | None:
        header = request.getHeader(b"range")
        # A minimal request object (a test's) may have no ``code``: it is still 200 then.
        if header is None or getattr(request, "code", http.OK) != http.OK:
            return None
        ifRange = request.getHeader(b"if-range")
        if ifRange is not None:
            if ifRange.startswith(b'"') or ifRange.startswith(b"W/"):
                if ifRange != etag:
                    return None
            else:
                try:
                    if http.stringToDatetime(ifRange) < int(mtime):
                        return None
                except ValueError:
                    return None
        unit, _, spec = header.partition(b"=")
        if unit.strip().lower() != b"bytes":
            return None
        ranges: list[tuple[int, int]] = []
        items = spec.split(b",")
        if len(items) > _MAX_RANGES:
            return None
        for item in items:
            first, dash, last = item.strip().partition(b"-")
            if not dash:
                return None
            first, last = first.strip(), last.strip()
            if (first and not first.isdigit()) or (last and not last.isdigit()):
                return None
            if not first:
                if not last:
                    return None
                n = int(last)
                if n == 0:
                    continue
                ranges.append((max(size - n, 0), size - 1))
            else:
                start = int(first)
                end = int(last) if last else size - 1
                if end < start:
                    return None
                if start >= size:
                    continue
                ranges.append((start, min(end, size - 1)))
        if not ranges:
            return "unsatisfiable"
        return ranges

    def render(self, request: IRequest) -> RenderResult:
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
        return super().render(request)

    def __repr__(self) -> str:
        return f"<File {self.path!r}>"


def _requestPath(request: object) -> bytes:
    """The request's path; a minimal request object may only have ``uri``."""
    path = getattr(request, "path", None)
    if isinstance(path, bytes):
        return path
    uri = getattr(request, "uri", b"/")
    return uri.partition(b"?")[0] if isinstance(uri, bytes) else b"/"


def _addSlash(request: IRequest) -> bytes:
    url = request.uri
    path, sep, query = url.partition(b"?")
    return path + b"/" + sep + query


@implementer(interfaces.IPullProducer)
class _FileProducer:
    """Writes file segments as the connection asks for more: with ``sendfile`` where the
    connection allows it (the bytes never enter Python), else in reads of :data:`_CHUNK`."""

    def __init__(
        self, request: Any, f: IO[bytes], segments: list[tuple[bytes, int, int]], trailer: bytes
    ) -> None:
        self.request = request
        self.file = f
        self.segments = list(segments)
        self.trailer = trailer
        self._offset = 0
        self._remaining = 0
        self._sendfile = True
        self._done = False

    def start(self) -> None:
        self.request.notifyFinish().addErrback(lambda _: self.stopProducing())
        self.request.registerProducer(self, False)

    def resumeProducing(self) -> None:
        if self._done:
            return
        request = self.request
        if not self._remaining:
            if not self.segments:
                self._finish()
                return
            head, self._offset, self._remaining = self.segments.pop(0)
            if head:
                request.write(head)
        fd = self.file.fileno()
        try:
            sent = None
            if self._sendfile:
                sent = request.sendfile(fd, self._offset, self._remaining)
                self._sendfile = sent is not None
            if sent is None:
                data = os.pread(fd, min(_CHUNK, self._remaining), self._offset)
                if not data:
                    raise EOFError("the file shrank")
                request.write(data)
                sent = len(data)
        except EOFError:
            # The file shrank under us: the promised length cannot be kept.
            self.stopProducing()
            request.unregisterProducer()
            request.loseConnection()
            return
        self._offset += sent
        self._remaining -= sent

    def _finish(self) -> None:
        self._done = True
        self.file.close()
        request = self.request
        if self.trailer:
            request.write(self.trailer)
        request.unregisterProducer()
        request.finish()

    def pauseProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        self._done = True
        self.file.close()


class DirectoryLister(resource.Resource):
    """An HTML listing of a folder; names are HTML-escaped and links percent-encoded.

    :param pathname: The folder.
    :param dirs: Names to list (default: the folder's entries).
    :ivar showHidden: Whether names starting with ``.`` are listed (see :attr:`File.allowHidden`).
    """

    isLeaf = True
    showHidden = False

    def __init__(
        self,
        pathname: str,
        dirs: list[str] | None = None,
        contentTypes: dict[str, str] | None = None,
        contentEncodings: dict[str, str] | None = None,
        defaultType: str = DEFAULT_TYPE,
    ) -> None:
        super().__init__()
        self.path = pathname
        self.dirs = dirs
        self.contentTypes = contentTypes if contentTypes is not None else File.contentTypes
        self.contentEncodings = (
            contentEncodings if contentEncodings is not None else File.contentEncodings
        )
        self.defaultType = defaultType

    def _entries(self) -> list[tuple[str, str, str, str]]:
        names = sorted(self.dirs if self.dirs is not None else os.listdir(self.path))
        dirs, files = [], []
        for name in names:
            if not self.showHidden and _isHidden(name):
                continue
            full = os.path.join(self.path, name)
            link = quote(name.encode("utf-8", "surrogateescape"))
            if os.path.isdir(full):
                dirs.append((name + "/", link + "/", "[Directory]", ""))
            else:
                try:
                    size = _formatSize(os.path.getsize(full))
                except OSError:
                    continue
                ctype, enc = getTypeAndEncoding(
                    name, self.contentTypes, self.contentEncodings, self.defaultType
                )
                files.append((name, link, f"{size} [{ctype}]", enc or ""))
        return dirs + files

    def render(self, request: IRequest) -> bytes:
        title = "Directory listing for " + _requestPath(request).decode("utf-8", "replace")
        rows = []
        for i, (name, link, info, enc) in enumerate(self._entries()):
            rows.append(
                '<tr class="%s"><td><a href="%s">%s</a></td><td>%s</td><td>%s</td></tr>'
                % (
                    "odd" if i % 2 else "even",
                    escape(link, quote=True),
                    escape(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")),
                    escape(info),
                    escape(enc),
                )
            )
        page = (
            '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>%s</title></head>\n'
            "<body>\n<h1>%s</h1>\n<table>\n<thead><tr><th>Filename</th><th>Size</th>"
            "<th>Encoding</th></tr></thead>\n<tbody>\n%s\n</tbody>\n</table>\n</body>\n</html>\n"
            % (escape(title), escape(title), "\n".join(rows))
        )
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return page.encode("utf-8")

    def __repr__(self) -> str:
        return f"<DirectoryLister {self.path!r}>"


def _formatSize(size: int) -> str:
    if size < 1024:
        return f"{size}B"
    if size < 1024 * 1024:
        return f"{size // 1024}K"
    if size < 1024 * 1024 * 1024:
        return f"{size // (1024 * 1024)}M"
    return f"{size // (1024 * 1024 * 1024)}G"


class Data(resource.Resource):
    """A fixed body with a fixed MIME type."""

    isLeaf = True

    def __init__(self, data: bytes, type: str) -> None:
        super().__init__()
        self.data = data
        self.type = type

    def render_GET(self, request: IRequest) -> bytes:
        request.setHeader(b"content-type", self.type.encode("ascii"))
        request.setHeader(b"content-length", b"%d" % len(self.data))
        if request.method == b"HEAD":
            return b""
        return self.data


# Twisted's name for the store processors share: ``static.Registry``.
from glisten.web._registry import Registry  # noqa: E402
