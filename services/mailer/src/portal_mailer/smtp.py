"""Sending over SMTP through a few long-lived connections, one per worker slot.

Opening a connection (and TLS, and AUTH) costs more than sending a mail, so each
connection is reused; one the server has dropped, or that failed, is reopened on its next
use. A connection goes back to the pool only between transactions: after a refused mail
it is reset (RSET), and if that fails, or the send was cut short, it is closed — the
next mail on a session still inside a transaction would be refused ("503 nested MAIL
command") and given up for nothing. Failures are sorted by `smtp_errors`: the mail was
refused, the server is unreachable or busy, or it refuses our setup (login, certificate,
EHLO name), which pauses delivery.

The login is ours, not aiosmtplib's: it would try every mechanism the server offers in
turn, and a provider counts each failed one against the account.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib

from portal_mailer.config import MailerSettings
from portal_mailer.smtp_errors import (
    AUTHENTICATION_UNAVAILABLE,
    PermanentSmtpError,
    SmtpError,
    SmtpSetupError,
    TransientSmtpError,
    choose_mechanism,
    classify,
    classify_session,
)

__all__ = [
    "PermanentSmtpError",
    "SmtpConnection",
    "SmtpError",
    "SmtpPool",
    "SmtpReadiness",
    "SmtpSetupError",
    "TransientSmtpError",
    "classify",
    "client_options",
    "credentials",
    "open_session",
    "probe",
]

# A connection idle for longer than this is probed with NOOP before use: servers close
# idle sessions, and finding out during MAIL FROM would fail an otherwise good mail.
IDLE_PROBE_SECONDS = 20.0
# Readiness: a mail accepted this recently proves the server answers; otherwise a probe
# (connect, login, NOOP, QUIT) is made, and its result kept this long, so frequent
# /readyz calls do not each open a session.
READINESS_FRESH_SECONDS = 5.0
# Below the shared readiness check's own deadline, so a hung server reads as "down".
READINESS_PROBE_TIMEOUT_SECONDS = 1.5


def client_options(settings: MailerSettings) -> dict[str, Any]:
    """aiosmtplib's connection options. No credentials: `open_session` logs in itself."""
    return {
        "hostname": settings.smtp_host,
        "port": settings.smtp_port,
        "local_hostname": settings.smtp_ehlo_name,
        "timeout": settings.smtp_timeout_seconds,
        "use_tls": settings.smtp_security == "tls",
        # False, not None, for "none": aiosmtplib would otherwise upgrade when offered.
        "start_tls": settings.smtp_security == "starttls",
        "cert_bundle": str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
    }


def credentials(settings: MailerSettings) -> tuple[str, str] | None:
    if settings.smtp_username is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
    return settings.smtp_username, password


async def open_session(client: aiosmtplib.SMTP, login: tuple[str, str] | None) -> None:
    """Connect (TLS or STARTTLS as configured) and log in with one mechanism; on failure
    the client is closed and the error sorted (`SmtpError`)."""
    try:
        await client.connect()
        if login is not None:
            await _log_in(client, *login)
    except Exception as exc:
        client.close()
        raise classify_session(exc) from exc
    except BaseException:
        client.close()
        raise


async def _log_in(client: aiosmtplib.SMTP, username: str, password: str) -> None:
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    offered = client.server_auth_methods if client.supports_extension("auth") else []
    mechanism = choose_mechanism(offered)
    if mechanism is None:
        raise SmtpSetupError(
            f"connect: no usable AUTH mechanism offered ({' '.join(offered) or 'none'})",
            AUTHENTICATION_UNAVAILABLE,
        )
    await getattr(client, f"auth_{mechanism.replace('-', '')}")(username, password)


async def probe(
    settings: MailerSettings,
    timeout: float | None = None,
    envelope: tuple[str, str] | None = None,
) -> None:
    """One session as a mail would open it (connect, TLS, login), then NOOP and QUIT.
    With `envelope` (sender, recipient), a trial transaction first (MAIL, RCPT, RSET, no
    DATA): some refusals of our setup come only there (a missing login: 530 at MAIL; an
    EHLO name Postfix checks at RCPT). Raises the sorted `SmtpError` when the server does
    not accept us; a refusal of the trial's recipient itself is not about our setup."""
    options = client_options(settings)
    if timeout is not None:
        options["timeout"] = timeout
    client = aiosmtplib.SMTP(**options)
    await open_session(client, credentials(settings))
    try:
        if envelope is not None:
            await _trial_transaction(client, *envelope)
        await client.noop()
        await client.quit()
    except Exception as exc:
        raise classify(exc) from exc
    finally:
        client.close()


async def _trial_transaction(client: aiosmtplib.SMTP, sender: str, recipient: str) -> None:
    try:
        await client.mail(sender)
        await client.rcpt(recipient)
    except Exception as exc:
        if not isinstance(classify(exc), PermanentSmtpError):
            raise
    await client.rset()


class SmtpConnection:
    def __init__(self, settings: MailerSettings) -> None:
        self._client = aiosmtplib.SMTP(**client_options(settings))
        self._login = credentials(settings)
        self._last_used = 0.0
        self.last_accepted = -float("inf")  # time.monotonic() of its last accepted mail

    async def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        # Whatever goes wrong before MAIL FROM concerns the server or our setup, never
        # this particular mail: open_session raises it sorted, transient or setup.
        await self._connect_if_needed()
        try:
            await self._client.sendmail(sender, recipients, message)
            self.last_accepted = time.monotonic()
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
            await open_session(self._client, self._login)


class SmtpPool:
    """`size` connections handed out one per send, so no two sends share a session."""

    def __init__(self, settings: MailerSettings, size: int) -> None:
        self._connections = [SmtpConnection(settings) for _ in range(size)]
        # LIFO keeps the few busy connections warm while the rest may idle out.
        self._idle: asyncio.LifoQueue[SmtpConnection] = asyncio.LifoQueue()
        for connection in self._connections:
            self._idle.put_nowait(connection)

    @property
    def last_accepted(self) -> float:
        """time.monotonic() of the last mail any connection handed over."""
        return max(c.last_accepted for c in self._connections)

    async def send(self, sender: str, recipients: list[str], message: bytes) -> None:
        """Hand one serialised mail to the server, with an explicit envelope (the
        headers are not parsed again for it)."""
        async with self.connection() as connection:
            await connection.send(sender, recipients, message)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[SmtpConnection]:
        """One connection, held until the block ends: the mailer keeps it until the mail
        it sent is recorded, so mails sent but not yet recorded never outnumber the
        connections (README, "Idempotency")."""
        connection = await self._idle.get()
        try:
            yield connection
        finally:
            self._idle.put_nowait(connection)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections))


class SmtpReadiness:
    """Whether the SMTP server accepts us, cheaply: see READINESS_FRESH_SECONDS."""

    def __init__(self, settings: MailerSettings, pool: SmtpPool) -> None:
        self._settings = settings
        self._pool = pool
        self._probed_at = -float("inf")
        self._probe_error: SmtpError | None = None
        self._lock = asyncio.Lock()

    async def check(self) -> None:
        """Returns when the server accepts us; raises the sorted `SmtpError` otherwise."""
        async with self._lock:
            now = time.monotonic()
            if now - self._pool.last_accepted < READINESS_FRESH_SECONDS:
                return
            if now - self._probed_at >= READINESS_FRESH_SECONDS:
                self._probe_error = await self._probe()
                self._probed_at = time.monotonic()
            if self._probe_error is not None:
                raise self._probe_error

    def forget(self) -> None:
        """Drop the cached probe result (delivery resumed: an old refusal is stale)."""
        self._probed_at = -float("inf")
        self._probe_error = None

    async def _probe(self) -> SmtpError | None:
        try:
            await probe(self._settings, READINESS_PROBE_TIMEOUT_SECONDS)
        except SmtpError as exc:
            return exc
        return None
