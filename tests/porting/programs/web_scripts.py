"""Dynamic pages the way ``twist web --path`` serves them: a .rpy resource script through
static.File's processors, and CGI scripts from a CGIDirectory, fetched with urllib."""

import os
import stat
import sys
import tempfile
import urllib.error
import urllib.request

from glisten.internet import defer, reactor, threads
from glisten.web import script, server, static, twcgi

RPY = """
from glisten.web.resource import Resource

class Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        name = request.args.get(b"name", [b"world"])[0]
        return b"Hello, " + name + b", from a resource script!"

resource = Hello()
"""

CGI = (
    """#!%s
import os, sys
body = sys.stdin.read()
print("Content-Type: text/plain")
print("X-Generated-By: cgi")
print()
for key in ("REQUEST_METHOD", "QUERY_STRING", "PATH_INFO", "SCRIPT_NAME", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_X_CUSTOM"):
    print(key, "=", os.environ.get(key))
print("body =", body)
"""
    % sys.executable
)


def fetch(url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("X-Generated-By"), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, None, ""


@defer.inlineCallbacks
def main():
    root = tempfile.mkdtemp()
    with open(os.path.join(root, "hello.rpy"), "w") as f:
        f.write(RPY)
    cgiDir = os.path.join(root, "cgi-bin")
    os.mkdir(cgiDir)
    path = os.path.join(cgiDir, "env.py")
    with open(path, "w") as f:
        f.write(CGI)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
    files = static.File(root)
    files.processors = {".rpy": script.ResourceScript}
    files.putChild(b"cgi-bin", twcgi.CGIDirectory(cgiDir))
    port = reactor.listenTCP(0, server.Site(files), interface="127.0.0.1")
    base = "http://127.0.0.1:%d" % port.getHost().port
    for label, args in [
        ("rpy", (base + "/hello.rpy",)),
        ("rpy with args", (base + "/hello.rpy?name=porter",)),
        ("cgi get", (base + "/cgi-bin/env.py?a=1&b=2", None, {"X-Custom": "yes"})),
        (
            "cgi post",
            (
                base + "/cgi-bin/env.py",
                b"posted=1",
                {"Content-Type": "application/x-www-form-urlencoded"},
            ),
        ),
        ("cgi missing", (base + "/cgi-bin/nope.py",)),
    ]:
        status, generator, body = yield threads.deferToThread(fetch, *args)
        print(label + ":", status, generator)
        if body:
            print(body.rstrip())
    yield port.stopListening()


def run():
    d = main()
    d.addErrback(lambda f: print("ERROR", f.getTraceback()))
    d.addBoth(lambda _: reactor.stop())


reactor.callWhenRunning(run)
reactor.run()
