"""The meta-variables a CGI script gets for a request (RFC 3875 section 4.1)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from glisten.web._h11._parse import TOKEN_CHARS as _TOKEN

#: Request header fields never passed to a script: ``Proxy`` would become ``HTTP_PROXY``, which
#: many HTTP libraries take as their proxy setting ("httpoxy", CVE-2016-5385), and
#: ``Authorization`` carries credentials (RFC 3875 section 4.1.18 says not to pass it).
_WITHHELD = frozenset({b"proxy", b"authorization", b"proxy-authorization"})


def cgiEnvironment(
    *,
    method: bytes,
    uri: bytes,
    clientproto: bytes,
    scriptName: str,
    scriptFilename: str,
    pathInfo: str | None,
    serverName: bytes,
    serverPort: int,
    remoteAddr: str | None,
    secure: bool,
    headers: Mapping[bytes, bytes],
    contentLength: int | None,
    serverSoftware: str,
    passEnvironment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The meta-variables of RFC 3875 section 4.1 for one request, plus ``HTTP_*`` for its
    header fields (except :data:`_WITHHELD` ones and names with ``_``, which could pose as
    others), ``REQUEST_URI``, ``SCRIPT_FILENAME`` and ``HTTPS``.

    :param passEnvironment: Variables of the server's own environment to pass on; only
        ``PATH`` by default: the server's environment may hold secrets.
    """

    def text(value: bytes) -> str:
        return os.fsdecode(value)

    env: dict[str, str] = {}
    if passEnvironment is None:
        passEnvironment = {"PATH": os.environ.get("PATH", os.defpath)}
    env.update(passEnvironment)
    query = uri.partition(b"?")[2]
    env.update(
        {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": serverSoftware,
            "SERVER_NAME": text(serverName),
            "SERVER_PORT": str(serverPort),
            "SERVER_PROTOCOL": text(clientproto),
            "REQUEST_METHOD": text(method),
            "REQUEST_URI": text(uri),
            "SCRIPT_NAME": scriptName,
            "SCRIPT_FILENAME": scriptFilename,
            "QUERY_STRING": text(query),
        }
    )
    if remoteAddr:
        env["REMOTE_ADDR"] = env["REMOTE_HOST"] = remoteAddr
    if pathInfo is not None:
        env["PATH_INFO"] = pathInfo
    if secure:
        env["HTTPS"] = "on"
    if contentLength is not None:
        env["CONTENT_LENGTH"] = str(contentLength)
    authorization = headers.get(b"authorization")
    if authorization:
        scheme = authorization.split(b" ", 1)[0]
        if scheme and all(c in _TOKEN for c in scheme):
            env["AUTH_TYPE"] = text(scheme)
    for name, value in headers.items():
        lower = name.lower()
        if lower in _WITHHELD or b"_" in lower or lower == b"content-length":
            continue
        if any(c not in _TOKEN for c in lower) or b"\0" in value:
            continue
        if lower == b"content-type":
            env["CONTENT_TYPE"] = text(value)
            continue
        key = "HTTP_" + text(lower).upper().replace("-", "_")
        env[key] = text(value)
    return env
