"""An aiosmtpd server that records every message it receives, for interop tests.

``python aiosmtpd_sink.py PORT FOLDER [CERT KEY USER PASSWORD]``: each message becomes
``FOLDER/N.json`` (envelope) and ``FOLDER/N.eml`` (content), written before the 250.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_count = itertools.count()


class Recorder:
    def __init__(self, folder: str) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        n = next(_count)
        base = os.path.join(self.folder, f"{os.getpid()}-{n}")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".json.tmp", "w") as f:
            json.dump(
                {
                    "from": envelope.mail_from,
                    "to": envelope.rcpt_tos,
                    "mail_options": envelope.mail_options,
                    "tls": session.ssl is not None,
                    "auth": session.authenticated,
                    # Which connection carried it (the client's address and port).
                    "peer": list(session.peer),
                },
                f,
            )
        os.rename(base + ".eml.tmp", base + ".eml")
        os.rename(base + ".json.tmp", base + ".json")
        return "250 OK recorded"


def main() -> None:
    port, folder = int(sys.argv[1]), sys.argv[2]
    kw: dict = {}
    if len(sys.argv) > 3:
        cert, key, user, password = sys.argv[3:7]
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and data.login == user.encode()
                and data.password == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        kw = {
            "tls_context": ctx,
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_require_tls": True,
        }
    controller = Controller(
        Recorder(folder), hostname="127.0.0.1", port=port, server_hostname="sink.test", **kw
    )
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_until_complete(asyncio.Event().wait())
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
