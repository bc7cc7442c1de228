"""What every answer of the auth, FAQ and mailer HTTP services carries (security headers,
no versions, HSTS when the client came over https), and that a broken request body is
one short log line, not a flood of tracebacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from aiohttp.test_utils import TestClient

from portal_auth.app import create_app as create_auth_app
from portal_auth.config import AuthSettings
from portal_auth.passwords import Passwords
from portal_devtools.mailsink import MailSink
from portal_faq.app import create_app as create_faq_app
from portal_faq.config import FaqSettings
from portal_mailer.app import create_app as create_mailer_app
from tests.conftest import AmqpNames
from tests.integration.test_mailer import mailer_settings_for
from tests.support import running

pytestmark = pytest.mark.integration

LOCAL = [ip_network("127.0.0.0/8")]
BROKEN_GZIP = b"\x1f\x8b\x08\x00" + bytes(range(256)) * 128  # 32 KiB, more than one read
CSP = "default-src 'none'; frame-ancestors 'none'"


@pytest.fixture(params=["auth", "faq", "mailer"])
async def service(
    request: pytest.FixtureRequest, auth_settings: AuthSettings, passwords: Passwords,
    database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink,
) -> AsyncIterator[tuple[str, TestClient]]:
    """Each service, its own proxy (the test's 127.0.0.1) trusted."""
    if request.param == "auth":
        app = create_auth_app(auth_settings.model_copy(update={"trusted_proxies": LOCAL}),
                              passwords=passwords)
    elif request.param == "faq":
        app = create_faq_app(FaqSettings(
            faq_database_url=database_url, amqp_url=amqp_names.url,
            events_exchange=amqp_names.exchange, trusted_proxies=LOCAL,
        ))
    else:
        app = create_mailer_app(mailer_settings_for(
            database_url, amqp_names, smtp_sink.host, smtp_sink.port, trusted_proxies=LOCAL
        ))
    async with running(app) as client:
        yield request.param, client


POST_PATHS = {"auth": "/api/v1/auth/register", "faq": "/api/v1/contact", "mailer": "/healthz"}


def assert_security_headers(headers: object, https: bool = False) -> None:
    assert headers["Server"] == "Kundenportal"  # type: ignore[index]
    assert headers["Referrer-Policy"] == "no-referrer"  # type: ignore[index]
    assert headers["Content-Security-Policy"] == CSP  # type: ignore[index]
    assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
    assert ("Strict-Transport-Security" in headers) is https  # type: ignore[operator]


async def test_every_answer_carries_the_security_headers_and_no_versions(
    service: tuple[str, TestClient],
) -> None:
    name, client = service
    for response in (
        await client.get("/healthz"),
        await client.get("/metrics"),
        await client.get("/nothing-here"),  # a problem made by the middleware
        await client.post(POST_PATHS[name], data=b"{", headers={"Content-Type": "application/json"}),
    ):
        assert_security_headers(response.headers)
        assert "aiohttp" not in response.headers["Server"]


async def test_hsts_only_when_our_proxy_says_the_client_came_over_https(
    service: tuple[str, TestClient], auth_settings: AuthSettings,
) -> None:
    _, client = service
    over_https = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert over_https.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    problem = await client.get("/nothing", headers={"X-Forwarded-Proto": "https, http"})
    assert_security_headers(problem.headers, https=True)
    plain = await client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers


async def test_a_client_that_is_not_our_proxy_cannot_ask_for_hsts(
    auth_settings: AuthSettings, passwords: Passwords
) -> None:
    async with running(create_auth_app(auth_settings, passwords=passwords)) as client:
        response = await client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers
    assert_security_headers(response.headers)


async def test_a_broken_gzip_body_is_a_400_and_at_most_one_short_warning(
    service: tuple[str, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    name, client = service
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        caplog.clear()
        head, body = await raw_exchange(client, (
            f"POST {POST_PATHS[name]} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Encoding: gzip\r\nContent-Length: {len(BROKEN_GZIP)}\r\n\r\n"
        ).encode() + BROKEN_GZIP)

        assert head.splitlines()[0].split()[1] == ("400" if name != "mailer" else "405")
        if name != "mailer":
            assert b'"code": "invalid_json"' in body
        noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in noisy if r.levelno >= logging.ERROR or r.exc_info], [
            r.getMessage() for r in noisy
        ]
        assert len([r for r in noisy if r.name.startswith("aiohttp")]) <= 1


async def raw_exchange(client: TestClient, request: bytes) -> tuple[str, bytes]:
    """Send bytes no HTTP client library would send; returns (head, body) of the answer
    once the server has closed the connection (so it has logged what it logs)."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        head, _, body = (await asyncio.wait_for(reader.read(), 10)).partition(b"\r\n\r\n")
    finally:
        writer.close()
    return head.decode(), body


async def test_a_request_aiohttp_cannot_parse_names_no_versions_either(
    service: tuple[str, TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    _, client = service
    caplog.set_level(logging.DEBUG)
    head, _ = await raw_exchange(client, b"GET /healthz HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n")

    assert head.splitlines()[0].split()[1] == "400"
    assert "Server: Kundenportal" in head.splitlines()
    assert "aiohttp" not in head and "Python" not in head
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
