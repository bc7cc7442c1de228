"""Typed keys under which the application keeps its parts."""

import asyncpg
from aiohttp import web

from portal_mailer.config import MailerSettings
from portal_mailer.consumer import MailConsumer
from portal_mailer.metrics import MailerMetrics
from portal_mailer.pause import DeliveryPause
from portal_mailer.smtp import SmtpPool, SmtpReadiness

SETTINGS = web.AppKey("settings", MailerSettings)
METRICS = web.AppKey("metrics", MailerMetrics)
POOL = web.AppKey("pool", asyncpg.Pool)
SMTP = web.AppKey("smtp", SmtpPool)
CONSUMER = web.AppKey("consumer", MailConsumer)
SMTP_READINESS = web.AppKey("smtp_readiness", SmtpReadiness)
PAUSE = web.AppKey("delivery_pause", DeliveryPause)
