"""The activation mail as a peer would build it: Jinja2 over the mailer's own templates
(the same text and HTML), the stdlib's MIME classes. Runs in the peers' scratch venv.

A registration event's payload in (as auth publishes it), the message's bytes out.
"""

from __future__ import annotations

import os
from datetime import datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parents[2] / "services/mailer/src/portal_mailer/templates"
SENDER = "Kundenportal <noreply@kundenportal.example>"
PORTAL = os.environ.get("PORTAL_BASE_URL", "http://portal.bench")
BERLIN = ZoneInfo("Europe/Berlin")

environment = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(enabled_extensions=("html",)),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    auto_reload=False,
)


def activation_message(payload: dict) -> tuple[str, str, bytes]:
    """(envelope sender, recipient, message bytes)."""
    expires = datetime.fromisoformat(payload["expires_at"]).astimezone(BERLIN)
    values = {
        "last_name": payload["last_name"],
        "link": f"{PORTAL}/aktivieren?token={payload['activation_token']}",
        "validity": "24 Stunden",
        "expires": expires.strftime("%d.%m.%Y, %H:%M Uhr"),
        "support_email": "kundenservice@kundenportal.example",
        "replies_reach_support": False,
    }
    text = environment.get_template("activation.de.txt").make_module(values)
    subject = str(text.subject)
    html = environment.get_template("activation.de.html").render(values, subject=subject, locale="de")
    message = MIMEMultipart("alternative")
    message["Subject"], message["From"], message["To"] = subject, SENDER, payload["email"]
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="kundenportal.example")
    message.attach(MIMEText(str(text), "plain", "utf-8"))
    message.attach(MIMEText(html, "html", "utf-8"))
    # CRLF line ends: smtplib sends bytes as they are.
    return "noreply@kundenportal.example", payload["email"], message.as_bytes(policy=SMTP)
