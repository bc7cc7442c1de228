"""Typed keys under which the application keeps what handlers need."""

import asyncpg
from aiohttp import web

from portal_auth.access_tokens import AccessTokens
from portal_auth.config import AuthSettings
from portal_auth.service import AuthService
from portal_shared.outbox import OutboxRelay

SETTINGS = web.AppKey("settings", AuthSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
RELAY = web.AppKey("relay", OutboxRelay)
SERVICE = web.AppKey("service", AuthService)
ACCESS_TOKENS = web.AppKey("access_tokens", AccessTokens)
