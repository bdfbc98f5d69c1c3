"""``glisten web`` serving .rpy scripts (``--processor``, ``--resource-script``) to curl and
an XML-RPC resource (``--class``) to Python's xmlrpc.client."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path

import pytest

from .._peers import requireBinary
from ._glistenweb import curl, glistenWeb

pytestmark = pytest.mark.interop

RPY = """
from glisten.web.resource import Resource

class Page(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"rpy says " + request.args.get(b"say", [b"nothing"])[0]

resource = Page()
"""

XMLRPC_APP = """
from glisten.web import xmlrpc


class Root(xmlrpc.XMLRPC):
    def __init__(self):
        super().__init__(allowNone=True)
        xmlrpc.addIntrospection(self)

    def xmlrpc_add(self, a, b):
        \"\"\"Add two numbers.\"\"\"
        return a + b

    async def xmlrpc_shout(self, text):
        return text.upper()

    def xmlrpc_fail(self):
        raise xmlrpc.Fault(42, "as asked")
"""


def test_rpyThroughPath(tmp_path: Path) -> None:
    requireBinary("curl")
    site = tmp_path / "site"
    site.mkdir()
    (site / "page.rpy").write_text(RPY)
    with glistenWeb(
        tmp_path, "--path", str(site), "--processor", ".rpy=glisten.web.script.ResourceScript"
    ) as url:
        assert curl(url + "/page.rpy?say=hi") == "rpy says hi"
    with glistenWeb(tmp_path, "--path", str(site)) as url:
        # Without a processor the script is a file like any other: sent, never run.
        assert curl(url + "/page.rpy") == RPY


def test_resourceScript(tmp_path: Path) -> None:
    requireBinary("curl")
    (tmp_path / "page.rpy").write_text(RPY)
    with glistenWeb(tmp_path, "--resource-script", str(tmp_path / "page.rpy")) as url:
        assert curl(url + "/any/where?say=yes") == "rpy says yes"


def test_xmlrpcClient(tmp_path: Path) -> None:
    (tmp_path / "rpcapp.py").write_text(XMLRPC_APP)
    with glistenWeb(tmp_path, "--class", "rpcapp.Root") as url:
        proxy = xmlrpc.client.ServerProxy(url + "/", allow_none=True)
        assert proxy.add(2, 40) == 42
        assert proxy.shout("quiet") == "QUIET"
        assert proxy.system.methodHelp("add") == "Add two numbers."
        with pytest.raises(xmlrpc.client.Fault) as info:
            proxy.fail()
        assert info.value.faultCode == 42
