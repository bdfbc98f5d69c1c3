"""glisten.web.twcgi under ``glisten web`` with curl as the client and /bin/sh CGI scripts."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from .._peers import requireBinary
from ._glistenweb import curl, glistenWeb

pytestmark = pytest.mark.interop

APP = """
import os
from glisten.web.twcgi import CGIDirectory


class Root(CGIDirectory):
    def __init__(self):
        super().__init__(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cgi-bin"))
"""

ENV_SCRIPT = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "method=$REQUEST_METHOD"
echo "query=$QUERY_STRING"
echo "path_info=$PATH_INFO"
echo "script=$SCRIPT_NAME"
echo "length=$CONTENT_LENGTH"
echo "proxy=${HTTP_PROXY:-unset}"
echo "agent=$HTTP_USER_AGENT"
printf 'body='
cat
"""

REDIRECT_SCRIPT = """#!/bin/sh
printf 'Location: /cgi-bin/env.sh\\n\\n'
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "cgiapp.py").write_text(APP)
    scripts = tmp_path / "cgi-bin"
    scripts.mkdir()
    for name, text in (("env.sh", ENV_SCRIPT), ("redirect.sh", REDIRECT_SCRIPT)):
        path = scripts / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def test_curlCGI(site: Path) -> None:
    requireBinary("curl")
    with glistenWeb(site, "--class", "cgiapp.Root") as url:
        out = curl("-A", "curl-test", "-H", "Proxy: http://evil:1/", url + "/env.sh/a/b?x=1&y=2")
        assert "method=GET\n" in out and "query=x=1&y=2\n" in out
        assert "path_info=/a/b\n" in out and "script=/env.sh\n" in out
        assert "proxy=unset\n" in out and "agent=curl-test\n" in out
        out = curl("--data-binary", "posted data", url + "/env.sh")
        assert "method=POST\n" in out and "length=11\n" in out and out.endswith("body=posted data")
        out = curl("-H", "Transfer-Encoding: chunked", "--data-binary", "chunky", url + "/env.sh")
        assert "length=6\n" in out and out.endswith("body=chunky")
        headers = curl("-D", "-", "-o", "/dev/null", url + "/redirect.sh")
        assert headers.startswith("HTTP/1.1 302") and "location: /cgi-bin/env.sh" in headers.lower()
