"""The mailer sends `mime_bytes`, written without the email package's generator: the same
message as the reference `build_message(...).as_bytes()` (no I/O)."""

from __future__ import annotations

import dataclasses
import quopri
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.utils import parseaddr
from uuid import UUID

import pytest

from portal_mailer.rendering import _quoted_printable, build_message, mailbox_header, mime_bytes
from portal_shared.email_address import smtp_form
from tests.unit.test_mail_rendering import HOSTILE, SENDER, every_mail

NOW = datetime(2026, 11, 24, 13, 30, 5, tzinfo=UTC)
EVENT_ID = UUID("9b0c6a1e-0000-4000-8000-000000000002")
NAMES = ["Mustermann", HOSTILE, "Jürgen Müller-Lüdenscheidt", "a" * 120, 'Max "Q" Mü, Jr.',
         "=?utf-8?q?Chef?="]
SUBJECTS = [None, "ä" * 100, "Rückfrage " * 12, "=?utf-8?b?QQ==?=", "x" * 90]
SENDERS = [SENDER, "Kundenportal Süd <no-reply@portal.example.de>", "no-reply@portal.example.de"]


@pytest.mark.parametrize("locale", ["de", "en"])
@pytest.mark.parametrize("name", NAMES)
def test_every_mail_is_byte_for_byte_the_email_packages(locale: str, name: str) -> None:
    mails = every_mail(locale, name)
    assert len(mails) >= 12

    for mail in mails:
        for subject in SUBJECTS:
            variant = dataclasses.replace(mail, subject=subject or mail.subject)
            for sender in SENDERS:
                expected = build_message(variant, sender, NOW, EVENT_ID).as_bytes()
                assert mime_bytes(variant, sender, NOW, EVENT_ID) == expected


_EMAIL_QP = Charset("utf-8")
_EMAIL_QP.body_encoding = QP
AWKWARD_TEXTS = [
    "",
    "no line break at the end",
    "Windows\r\nline ends\r\nand a lone\rCR",
    ".\nA line with only a dot\n.\n",
    "trailing space \ntrailing tab\t\n",
    "x" * 75 + " \n" + "y" * 74 + "\t\n" + "z" * 76 + "\n",
    "ä" * 60 + "\n" + "€" * 30,
    "x" * 73 + "ü" + "x" * 10,
    "= =3D =?utf-8?q?x?= _\x0b\x0c\x85\u2028 control and line separators",
]


@pytest.mark.parametrize("text", AWKWARD_TEXTS)
def test_quoted_printable_reads_back_as_the_email_package_encodes_it(text: str) -> None:
    encoded = _quoted_printable(text)

    expected = _EMAIL_QP.body_encode(text) if text else text
    assert quopri.decodestring(encoded.encode()) == quopri.decodestring(expected.encode())
    assert all(len(line) <= 76 for line in encoded.splitlines())
    assert encoded.isascii()
    assert "=_" not in encoded  # the multipart boundary starts so


@pytest.mark.parametrize(
    "address",
    ["max@example.de", "max.mustermann+portal@mail.example.co.uk", "o'neil@example.de",
     "x_y-z@sub-domain.example", "a!#$%&*/=?^`{|}~@example.de"],
)
def test_a_plain_address_needs_no_parsing_and_comes_out_as_parsed(address: str) -> None:
    name, parsed = parseaddr(address)

    assert (name, parsed) == ("", address)
    assert mailbox_header(address) == smtp_form(parsed)
    # The same address in angle brackets takes the parsing path.
    assert mailbox_header(address) == mailbox_header(f"<{address}>")
