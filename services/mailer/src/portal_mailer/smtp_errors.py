"""What an SMTP failure means for the mail in hand (pure rules, no I/O).

Three kinds:
- permanent: the server refused this mail (5xx to the recipient or the data); sending
  it again will not help, so it is dead-lettered;
- transient: the server is unreachable or busy (4xx, timeouts, dropped connections);
  the mail is tried again later, within the retry budget;
- setup: the server refuses *our configuration* — the login, its certificate as we
  verify it, our EHLO name. No mail can go out until an operator (or the provider)
  fixes it, and every try would cost a mail's retry budget and, for logins, count as
  one more failed login against the account. Delivery pauses instead (see `pause`),
  and the error carries a machine-readable reason and a hint naming the setting.

Details name the error class and reply code only: server texts often echo addresses.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable

import aiosmtplib

from portal_mailer.domain.failures import MailFailure, PermanentFailure, SetupFailure

# The one SASL mechanism tried per login, the first of these the server offers. PLAIN
# first: one round trip, and the session is encrypted (SMTP_SECURITY). CRAM-MD5 last:
# it needs the password stored in clear at the server, so servers that offer it often
# cannot check it. Only one is tried, because each failed attempt counts against the
# account at the provider (two per try would lock it twice as fast).
AUTH_PREFERENCE = ("plain", "login", "cram-md5")

AUTHENTICATION_FAILED = "authentication_failed"
AUTHENTICATION_REQUIRED = "authentication_required"
AUTHENTICATION_UNAVAILABLE = "authentication_unavailable"
CERTIFICATE_UNTRUSTED = "certificate_untrusted"
EHLO_REFUSED = "ehlo_refused"

HINTS = {
    AUTHENTICATION_FAILED: "the server refused the login: check SMTP_PASSWORD and "
    "SMTP_USERNAME, and whether the provider has locked the account",
    AUTHENTICATION_REQUIRED: "the server accepts mail only after a login: set "
    "SMTP_USERNAME and SMTP_PASSWORD",
    AUTHENTICATION_UNAVAILABLE: "the server offers no login mechanism on this connection "
    f"(supported: {', '.join(m.upper() for m in AUTH_PREFERENCE)}): check SMTP_SECURITY "
    "(most servers offer AUTH only after starttls or on tls), or unset SMTP_USERNAME",
    CERTIFICATE_UNTRUSTED: "the server's certificate did not verify: set SMTP_CA_FILE to "
    "the CA certificate (PEM) that signed it, or make SMTP_HOST the name it was issued for",
    EHLO_REFUSED: "the server refused our EHLO name: set SMTP_EHLO_NAME to this host's "
    "fully qualified domain name",
}


class SmtpError(MailFailure):
    """`detail` names the error class and reply code, never the server's text."""


class PermanentSmtpError(SmtpError, PermanentFailure):
    """The server refused this mail (5xx, unacceptable recipient)."""

    reason = "smtp_permanent"


class TransientSmtpError(SmtpError):
    """The server could not be reached or asked us to come back later."""


class SmtpSetupError(SmtpError, SetupFailure):
    """The server refuses our configuration; nothing is sent until that changes."""

    def __init__(self, detail: str, reason: str) -> None:
        super().__init__(detail, reason, HINTS[reason])


_ECHOED = re.compile(r"<[^>]*>")


def choose_mechanism(offered: Iterable[str]) -> str | None:
    """The SASL mechanism to log in with: the first of AUTH_PREFERENCE the server offers."""
    available = {mechanism.lower() for mechanism in offered}
    return next((m for m in AUTH_PREFERENCE if m in available), None)


def classify_session(exc: BaseException) -> SmtpError:
    """Sort an error raised while opening a session (connect, TLS, EHLO, login)."""
    if isinstance(exc, SmtpError):
        return exc
    verification = _certificate_failure(exc)
    if verification is not None:
        return SmtpSetupError(
            f"connect: certificate not trusted ({verification})", CERTIFICATE_UNTRUSTED
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError) and exc.code >= 500:
        # 535 credentials invalid, 534 mechanism too weak; 454 is the server's own trouble.
        return SmtpSetupError(f"connect: {describe(exc)}", AUTHENTICATION_FAILED)
    if isinstance(exc, aiosmtplib.SMTPHeloError) and exc.code >= 500:
        return SmtpSetupError(f"connect: {describe(exc)}", EHLO_REFUSED)
    return TransientSmtpError(f"connect: {describe(exc)}")


def classify(exc: BaseException) -> SmtpError:
    """Sort an error raised while sending one mail on an open session."""
    if isinstance(exc, SmtpError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):  # one RCPT, as a probe sends it
        exc = aiosmtplib.SMTPRecipientsRefused([exc])
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        detail = f"recipient refused {','.join(map(str, codes))}"
        if any(_helo_rejected(refused) for refused in exc.recipients):
            # Postfix answers reject_non_fqdn_helo_hostname at RCPT (smtpd_delay_reject).
            return SmtpSetupError(detail, EHLO_REFUSED)
        return PermanentSmtpError(detail) if min(codes) >= 500 else TransientSmtpError(detail)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused) and exc.code == 530:
        return SmtpSetupError(describe(exc), AUTHENTICATION_REQUIRED)
    if isinstance(exc, aiosmtplib.SMTPHeloError | aiosmtplib.SMTPAuthenticationError):
        return classify_session(exc)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        permanent = exc.code >= 500
        return (PermanentSmtpError if permanent else TransientSmtpError)(describe(exc))
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        # An address no server will take, e.g. non-ASCII without SMTPUTF8 support.
        return PermanentSmtpError(f"unsendable address: {type(exc).__name__}")
    return TransientSmtpError(describe(exc))


def describe(exc: BaseException) -> str:
    # Only the class and the reply code: server texts often echo the recipient address.
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__} {code}" if code is not None else type(exc).__name__


def _helo_rejected(refused: aiosmtplib.SMTPRecipientRefused) -> bool:
    # Only the server's own words count: what it echoes in <…> is the recipient's address
    # or our EHLO name, and a customer who registers as "helo@…" must not be able to
    # pause delivery for everyone.
    said = _ECHOED.sub("", refused.message).lower()
    return refused.code == 504 and "helo command rejected" in said


def _certificate_failure(exc: BaseException) -> str | None:
    """OpenSSL's reason when `exc` is, or was caused by, a failed certificate check.

    aiosmtplib wraps the handshake's error (implicit TLS: SMTPConnectError from an
    OSError); STARTTLS raises it as it is. The reason ("self-signed certificate in
    certificate chain", "Hostname mismatch") names no address.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "verification failed"
        current = current.__cause__ or current.__context__
    return None
