"""Typed keys under which the application keeps what handlers need."""

import aiohttp
import asyncpg
from aiohttp import web

from portal_faq.access import SessionCheck, TokenVerifier
from portal_faq.cache import ContentWatcher, ResponseCache
from portal_faq.config import FaqSettings
from portal_faq.contacts import Contacts
from portal_faq.editing import Editing
from portal_faq.indexing import SearchIndexHolder
from portal_faq.reading import Reader
from portal_shared.outbox import OutboxRelay
from portal_shared.ratelimit import RateLimiter

SETTINGS = web.AppKey("settings", FaqSettings)
POOL = web.AppKey("pool", asyncpg.Pool)
RELAY = web.AppKey("relay", OutboxRelay)
CACHE = web.AppKey("cache", ResponseCache)
WATCHER = web.AppKey("watcher", ContentWatcher)
HTTP = web.AppKey("http", aiohttp.ClientSession)
TOKENS = web.AppKey("tokens", TokenVerifier)
SESSIONS = web.AppKey("sessions", SessionCheck)
LIMITER = web.AppKey("limiter", RateLimiter)
READER = web.AppKey("reader", Reader)
SEARCH_INDEX = web.AppKey("search_index", SearchIndexHolder)
EDITING = web.AppKey("editing", Editing)
CONTACTS = web.AppKey("contacts", Contacts)
