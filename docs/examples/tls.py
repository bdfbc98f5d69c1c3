"""TLS both ways: a server that asks for client certificates, and a client that verifies the
server's certificate and host name against a private certificate authority.

The program first makes a throw-away CA, a server certificate for ``localhost`` and a client
certificate with the ``openssl`` command, as you would for a test or an internal service.
Then it connects twice: once with a client certificate (accepted) and once without (refused by
the server, because it asked for one and checks it against the same CA).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from glisten.internet import defer, endpoints, error, protocol, ssl, task
from glisten.protocols.basic import LineReceiver


def makeCertificates(folder: Path) -> None:
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=Example CA",
    )
    for name in ("localhost", "client"):
        openssl(
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
        )
        (folder / f"{name}.ext").write_text(f"subjectAltName=DNS:{name}\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "1",
            "-extfile",
            f"{name}.ext",
        )


class Greeter(LineReceiver):
    def connectionMade(self) -> None:
        self.sendLine(b"hello over TLS")


class Reader(LineReceiver):
    def __init__(self) -> None:
        self.line: defer.Deferred[bytes] = defer.Deferred()

    def lineReceived(self, line: bytes) -> None:
        self.line.callback(line)

    def connectionLost(self, reason: object = None) -> None:
        if not self.line.called:
            self.line.errback(error.ConnectionLost("closed before a line arrived"))


async def main(reactor: object, folder: Path) -> None:
    makeCertificates(folder)
    read = lambda name: (folder / name).read_bytes()  # noqa: E731
    authority = ssl.Certificate.loadPEM(read("ca.pem"))
    serverCert = ssl.PrivateCertificate.loadPEM(read("localhost.key") + read("localhost.pem"))
    clientCert = ssl.PrivateCertificate.loadPEM(read("client.key") + read("client.pem"))

    # Passing authorities to options() makes the server require a client certificate
    # signed by one of them.
    serverOptions = serverCert.options(authority)
    server = endpoints.SSL4ServerEndpoint(reactor, 0, serverOptions, interface="127.0.0.1")
    port = await server.listen(protocol.Factory.forProtocol(Greeter))

    for certificate in (clientCert, None):
        options = ssl.optionsForClientTLS(
            "localhost", trustRoot=authority, clientCertificate=certificate
        )
        tcp = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        reader = await endpoints.connectProtocol(endpoints.wrapClientTLS(options, tcp), Reader())
        try:
            print(
                "with" if certificate else "without",
                "a client certificate:",
                (await reader.line).decode(),
            )
        except error.ConnectionLost:
            print("without a client certificate: refused by the server")
        reader.transport.loseConnection()
    await port.stopListening()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        task.react(lambda reactor: defer.ensureDeferred(main(reactor, Path(tmp))))
