"""Sending over SMTP through a few long-lived connections, one per worker slot.

Opening a connection (and TLS, and AUTH) costs more than sending a mail, so each
connection is reused; one the server has dropped, or that failed, is reopened on its next
use. A connection goes back to the pool only between transactions: after a refused mail
it is reset (RSET), and if that fails, or the send was cut short, it is closed — the
next mail on a session still inside a transaction would be refused ("503 nested MAIL
command") and given up for nothing. Failures are sorted into two kinds the consumer acts on: the mail itself was refused
(sending it again will not help) or the server is unreachable or busy (try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiosmtplib

from portal_mailer.config import MailerSettings
from portal_mailer.domain.failures import MailFailure, PermanentFailure

# A connection idle for longer than this is probed with NOOP before use: servers close
# idle sessions, and finding out during MAIL FROM would fail an otherwise good mail.
IDLE_PROBE_SECONDS = 20.0
# Readiness: a mail accepted this recently proves the server answers; otherwise a probe
# (connect, NOOP, QUIT) is made, and its result kept this long, so frequent /readyz
# calls do not each open a session.
READINESS_FRESH_SECONDS = 5.0
# Below the shared readiness check's own deadline, so a hung server reads as "down".
READINESS_PROBE_TIMEOUT_SECONDS = 1.5


class SmtpError(MailFailure):
    """`detail` names the error class and reply code, never the server's text."""


class PermanentSmtpError(SmtpError, PermanentFailure):
    """The server refused this mail (5xx, unacceptable recipient)."""

    reason = "smtp_permanent"


class TransientSmtpError(SmtpError):
    """The server could not be reached or asked us to come back later."""


def client_options(settings: MailerSettings) -> dict[str, Any]:
    """aiosmtplib's connection options; it logs in on connect when a username is set."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "username": settings.smtp_username,
        "password": password,
        "timeout": settings.smtp_timeout_seconds,
        "use_tls": settings.smtp_security == "tls",
        # False, not None, for "none": aiosmtplib would otherwise upgrade when offered.
        "start_tls": settings.smtp_security == "starttls",
        "cert_bundle": str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
    }


class SmtpConnection:
    def __init__(self, settings: MailerSettings) -> None:
        self._client = aiosmtplib.SMTP(**client_options(settings))
        self._last_used = 0.0

    async def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        try:
            await self._connect_if_needed()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # Whatever goes wrong before MAIL FROM concerns the server or our account,
            # never this particular mail.
            self._client.close()
            raise TransientSmtpError(f"connect: {_describe(exc)}") from exc
        try:
            await self._client.sendmail(sender, recipients, message)
        except Exception as exc:
            error = classify(exc)
            if isinstance(error, TransientSmtpError):
                self._client.close()
            else:
                await self._reset()
            raise error from exc
        except BaseException:
            # Cancelled (shutdown) in the middle of the dialogue: where it stands is unknown.
            self._client.close()
            raise
        finally:
            self._last_used = time.monotonic()

    async def _reset(self) -> None:
        """End whatever part of the transaction the server still holds (aiosmtplib resets
        after a refusal, but not after an error of its own between MAIL and DATA, and it
        ignores a failed RSET); close the connection if the server will not reset."""
        if not self._client.is_connected:
            return
        try:
            await self._client.rset()
        except Exception:  # noqa: BLE001 - whatever failed, this session is not trusted
            self._client.close()

    async def close(self) -> None:
        if self._client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await self._client.quit()
        self._client.close()

    async def _connect_if_needed(self) -> None:
        idle = time.monotonic() - self._last_used
        if self._client.is_connected and idle > IDLE_PROBE_SECONDS:
            try:
                await self._client.noop()
            except (aiosmtplib.SMTPException, OSError):
                self._client.close()
        if not self._client.is_connected:
            await self._client.connect()


def classify(exc: BaseException) -> SmtpError:
    """Sort an error raised while sending one mail into permanent or transient."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        detail = f"recipient refused {','.join(map(str, codes))}"
        return PermanentSmtpError(detail) if min(codes) >= 500 else TransientSmtpError(detail)
    if isinstance(exc, aiosmtplib.SMTPHeloError | aiosmtplib.SMTPAuthenticationError):
        return TransientSmtpError(_describe(exc))
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = exc.code >= 500
        return (PermanentSmtpError if permanent else TransientSmtpError)(_describe(exc))
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # An address no server will take, e.g. non-ASCII without SMTPUTF8 support.
        return PermanentSmtpError(f"unsendable address: {type(exc).__name__}")
    return TransientSmtpError(_describe(exc))


def _describe(exc: BaseException) -> str:
    # Only the class and the reply code: server texts often echo the recipient address.
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__} {code}" if code is not None else type(exc).__name__


class SmtpPool:
    """`size` connections handed out one per send, so no two sends share a session."""

    def __init__(self, settings: MailerSettings, size: int) -> None:
        self._connections = [SmtpConnection(settings) for _ in range(size)]
        # LIFO keeps the few busy connections warm while the rest may idle out.
        self._idle: asyncio.LifoQueue[SmtpConnection] = asyncio.LifoQueue()
        for connection in self._connections:
            self._idle.put_nowait(connection)
        self.last_accepted = -float("inf")  # time.monotonic() of the last accepted mail

    async def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        """Hand one serialised mail to the server, with an explicit envelope (the
        headers are not parsed again for it)."""
        connection = await self._idle.get()
        try:
            await connection.send(sender, recipients, message)
            self.last_accepted = time.monotonic()
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections))


class SmtpReadiness:
    """Whether the SMTP server answers, cheaply: see READINESS_FRESH_SECONDS."""

    def __init__(self, settings: MailerSettings, pool: SmtpPool) -> None:
        self._options = client_options(settings) | {"timeout": READINESS_PROBE_TIMEOUT_SECONDS}
        self._pool = pool
        self._probed_at = -float("inf")
        self._probe_error: SmtpError | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Returns when the server answers; raises TransientSmtpError when it does not."""
        async with self._lock:
            now = time.monotonic()
            if now - self._pool.last_accepted < READINESS_FRESH_SECONDS:
                return
            if now - self._probed_at >= READINESS_FRESH_SECONDS:
                self._probe_error = await self._probe()
                self._probed_at = time.monotonic()
            if self._probe_error is not None:
                raise self._probe_error

    async def _probe(self) -> SmtpError | None:
        client = aiosmtplib.SMTP(**self._options)
        try:
            await client.connect()
            await client.noop()
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            return TransientSmtpError(f"probe: {_describe(exc)}")
        finally:
            client.close()
        return None
