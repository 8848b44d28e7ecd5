"""The API client when the connection itself fails: an untrusted certificate, a server that goes away."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cpclient.api.client import ContactPointClient
from cpclient.api.errors import CertificateRejected, ConnectionFailed
from cpclient.api.transport import Transport


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _serve(handle) -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                handle(connection)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def untrusted_tls_server(tmp_path) -> Iterator[int]:
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    def handle(connection: socket.socket) -> None:
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(65536)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
        except (ssl.SSLError, OSError):
            pass  # the client refused the certificate: what this test wants

    yield from _serve(handle)


@pytest.fixture
def vanishing_server() -> Iterator[int]:
    def handle(connection: socket.socket) -> None:
        connection.recv(65536)  # reads the request, then goes away without a word

    yield from _serve(handle)


def test_an_untrusted_certificate_is_refused_with_a_clear_message(untrusted_tls_server):
    client = ContactPointClient(Transport(f"https://127.0.0.1:{untrusted_tls_server}", connect_timeout=2))
    with pytest.raises(CertificateRejected) as caught:
        client.meta()
    assert caught.value.__context__ is None  # no library exception (with its URL) chained
    assert "certificate" in str(caught.value).lower() or "secure" in str(caught.value).lower()


def test_a_server_that_goes_away_mid_request_is_a_connection_failure(vanishing_server):
    client = ContactPointClient(
        Transport(f"http://127.0.0.1:{vanishing_server}", connect_timeout=2, read_timeout=2)
    )
    with pytest.raises(ConnectionFailed) as caught:
        client.meta()
    assert caught.value.__context__ is None
    assert str(caught.value)
