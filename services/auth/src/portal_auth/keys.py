"""Typed keys under which the application keeps what handlers need."""

import asyncpg
from aiohttp import web

from portal_auth.config import AuthSettings
from portal_auth.context import AuthContext
from portal_shared.outbox import OutboxRelay

SETTINGS = web.AppKey("settings", AuthSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
RELAY = web.AppKey("relay", OutboxRelay)
CONTEXT = web.AppKey("context", AuthContext)
