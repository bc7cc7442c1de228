"""Typed keys under which the application keeps what handlers need: the use cases'
context, and what the lifecycle and the health checks own."""

import asyncpg
from aiohttp import web

from portal_faq.config import FaqSettings
from portal_faq.context import FaqContext
from portal_shared.outbox import OutboxRelay

SETTINGS = web.AppKey("settings", FaqSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
RELAY = web.AppKey("relay", OutboxRelay)
CONTEXT = web.AppKey("context", FaqContext)
