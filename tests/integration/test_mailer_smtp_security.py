"""SMTP over TLS and STARTTLS with login, against an aiosmtpd server that insists on both.

The server's certificate is made for the test and trusted through SMTP_CA_FILE, as a
relay with a certificate from a private CA would be.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Self

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from portal_devtools.mailsink import free_port
from tests.conftest import AmqpNames
from tests.integration.test_mailer import (
    MAIL_TIMEOUT,
    broker_for,
    mailer_settings_for,
    registration,
    running_consumer,
    running_mailer,
)
from tests.integration.test_mailer_postfix import nothing_taken, paused_for

pytestmark = [
    pytest.mark.integration,
    # The implicit-TLS server's AUTH without "TLS" (see SecureSmtpServer): it is encrypted.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

USER, PASSWORD = "mailer", "geheim"


@dataclass(frozen=True)
class Received:
    recipients: tuple[str, ...]
    authenticated: bool
    encrypted: bool


class SecureSmtpServer:
    """aiosmtpd requiring login, over implicit TLS or after STARTTLS."""

    def __init__(self, security: str, certificate: Path, key: Path) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        # aiosmtpd counts only STARTTLS sessions as encrypted when it decides whether to
        # offer AUTH; an implicit-TLS session is encrypted from the first byte.
        tls = {"ssl_context": context, "auth_require_tls": False} if security == "tls" else {
            "tls_context": context, "require_starttls": True, "auth_require_tls": True
        }
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=free_port(), server_hostname="localhost",
            auth_required=True, authenticator=self._authenticate, **tls,
        )

    @staticmethod
    def _authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
    ) -> AuthResult:
        good = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(), PASSWORD.encode()
        )
        # handled=False: aiosmtpd answers the failure (535) itself.
        return AuthResult(success=good, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        encrypted = server.transport is not None and bool(
            server.transport.get_extra_info("sslcontext")
        )
        with self._changed:
            self.received.append(
                Received(tuple(envelope.rcpt_tos), session.authenticated, encrypted)
            )
            self._changed.notify_all()
        return "250 OK"

    async def wait_for(self, count: int) -> list[Received]:
        def wait() -> list[Received]:
            with self._changed:
                if not self._changed.wait_for(lambda: len(self.received) >= count, MAIL_TIMEOUT):
                    raise TimeoutError(f"{len(self.received)} of {count} mails")
                return list(self.received)

        return await asyncio.to_thread(wait)

    @property
    def port(self) -> int:
        return self._controller.port

    def __enter__(self) -> Self:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
        ), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    yield folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_mails_go_out_encrypted_and_logged_in(
    database_url: str, amqp_names: AmqpNames, certificate: tuple[Path, Path], security: str
) -> None:
    cert, key = certificate
    with SecureSmtpServer(security, cert, key) as server:
        settings = mailer_settings_for(
            database_url, amqp_names, "127.0.0.1", server.port, smtp_security=security,
            smtp_username=USER, smtp_password=PASSWORD, smtp_ca_file=cert,
        )
        # running_mailer waits for /readyz, whose SMTP probe logs in the same way.
        async with running_mailer(settings), broker_for(amqp_names) as broker:
            await broker.publish_event(registration("secure@example.de"))
            await broker.publish_event(registration("secure2@example.de"))

            received = await server.wait_for(2)

    assert {r.recipients for r in received} == {("secure@example.de",), ("secure2@example.de",)}
    assert all(r.authenticated and r.encrypted for r in received)


async def test_a_wrong_password_pauses_delivery_instead_of_dead_lettering(
    database_url: str, amqp_names: AmqpNames, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    with SecureSmtpServer("starttls", cert, key) as server:
        settings = mailer_settings_for(
            database_url, amqp_names, "127.0.0.1", server.port, smtp_security="starttls",
            smtp_username=USER, smtp_password="falsch", smtp_ca_file=cert,
        )
        async with running_consumer(settings) as mailer, broker_for(amqp_names) as broker:
            await broker.publish_event(registration("locked-out@example.de"))

            body = await paused_for(mailer, "authentication_failed")
            # Our account, not the mail, is at fault: it waits in the queue, unspent.
            await nothing_taken(broker, amqp_names, 1)
            assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (0, 0)

        assert server.received == []
    assert "SMTP_PASSWORD" in body["problems"]["smtp"]["hint"]


async def test_a_server_certificate_that_is_not_trusted_pauses_delivery(
    database_url: str, amqp_names: AmqpNames, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    with SecureSmtpServer("tls", cert, key) as server:
        settings = mailer_settings_for(  # no SMTP_CA_FILE: the system CAs do not know it
            database_url, amqp_names, "127.0.0.1", server.port, smtp_security="tls",
            smtp_username=USER, smtp_password=PASSWORD,
        )
        async with running_consumer(settings) as mailer, broker_for(amqp_names) as broker:
            await broker.publish_event(registration("mitm@example.de"))

            body = await paused_for(mailer, "certificate_untrusted")
            await nothing_taken(broker, amqp_names, 1)
            assert await broker.queue_state(amqp_names.mailer_dead_letter_queue) == (0, 0)
        assert server.received == []
    assert "SMTP_CA_FILE" in body["problems"]["smtp"]["hint"]
