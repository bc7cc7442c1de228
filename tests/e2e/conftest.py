from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from portal_auth.config import AuthSettings
from portal_devtools.mailsink import MailSink
from portal_mailer.app import create_app as create_mailer_app
from portal_mailer.config import MailerSettings
from tests.conftest import AmqpNames
from tests.support import running


def mailer_settings(database_url: str, amqp: AmqpNames, sink: MailSink) -> MailerSettings:
    return MailerSettings(
        mailer_database_url=database_url,
        amqp_url=amqp.url,
        events_exchange=amqp.exchange,
        dead_letter_exchange=amqp.dead_letter_exchange,
        mailer_queue=amqp.mailer_queue,
        mailer_dead_letter_queue=amqp.mailer_dead_letter_queue,
        smtp_host=sink.host,
        smtp_port=sink.port,
        portal_base_url="http://portal.test",
    )


def auth_settings(database_url: str, amqp: AmqpNames, key_dir: Path, amqp_url: str | None = None) -> AuthSettings:
    return AuthSettings(
        auth_database_url=database_url,
        amqp_url=amqp_url or amqp.url,
        events_exchange=amqp.exchange,
        jwt_key_dir=key_dir,
    )


@pytest.fixture
async def mailer(database_url: str, amqp_names: AmqpNames, smtp_sink: MailSink) -> AsyncIterator[TestClient]:
    async with running(create_mailer_app(mailer_settings(database_url, amqp_names, smtp_sink))) as client:
        yield client
