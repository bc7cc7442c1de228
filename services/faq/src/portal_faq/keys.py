"""Typed keys under which the application keeps what handlers need."""

import asyncpg
from aiohttp import web

from portal_faq.config import FaqSettings
from portal_shared.outbox import OutboxRelay

SETTINGS = web.AppKey("settings", FaqSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
RELAY = web.AppKey("relay", OutboxRelay)
