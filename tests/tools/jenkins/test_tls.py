"""TLS is verified by default: a Jenkins with a self-signed certificate is refused unless its
server config turns verification off. The server is the sandbox Jenkins behind real TLS."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from opsgate.errors import ToolFailed
from opsgate.sandbox import jenkins
from tests.fixtures.jenkins import JenkinsSandbox, tool_env
from tests.tools.jenkins.helpers import run


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_jenkins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JenkinsSandbox]:
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        jenkins.create_app("demo"),
        host="127.0.0.1",
        port=port,
        log_level="critical",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield JenkinsSandbox(
        url=f"https://127.0.0.1:{port}/",
        user=jenkins.SANDBOX_JENKINS_USER,
        token=jenkins.SANDBOX_JENKINS_TOKEN,
    )
    server.should_exit = True
    thread.join(timeout=10)


async def test_an_untrusted_certificate_is_refused_by_default(tls_jenkins: JenkinsSandbox) -> None:
    env = tool_env({"sandbox": tls_jenkins.server()})
    with pytest.raises(ToolFailed, match="CERTIFICATE_VERIFY_FAILED"):
        await run(env, "jenkins_whoami")


async def test_verification_off_in_the_server_config_connects(
    tls_jenkins: JenkinsSandbox,
) -> None:
    env = tool_env({"sandbox": tls_jenkins.server(verify_tls=False)})
    output = await run(env, "jenkins_whoami")
    assert output.ok
    assert output.data["user"] == "admin"
