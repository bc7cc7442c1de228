"""A local SMTP server that keeps every mail it receives (aiosmtpd).

Used by `make dev` (unless SMTP_HOST points at a real server) and by the tests, which
wait on `MailSink.wait_for` instead of sleeping. Each mail can also be written to a
folder as `.eml` and its links printed, so a developer can click the activation link.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Mail:
    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    @property
    def links(self) -> list[str]:
        return list(dict.fromkeys(_LINK.findall(self.text)))


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos), message)  # type: ignore[arg-type]
        self._sink.receive(mail)
        return "250 Message accepted for delivery"


class MailSink:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        folder: Path | None = None,
        on_mail: Callable[[Mail], None] | None = None,
    ) -> None:
        self._controller = Controller(_Handler(self), hostname=host, port=port or free_port(host))
        self._folder = folder
        self._on_mail = on_mail
        self._mails: list[Mail] = []
        self._changed = threading.Condition()

    @property
    def host(self) -> str:
        return self._controller.hostname

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def receive(self, mail: Mail) -> None:
        if self._folder is not None:
            self._folder.mkdir(parents=True, exist_ok=True)
            name = f"{time.time_ns()}.eml"
            (self._folder / name).write_bytes(mail.message.as_bytes())
        with self._changed:
            self._mails.append(mail)
            self._changed.notify_all()
        if self._on_mail is not None:
            self._on_mail(mail)

    @property
    def mails(self) -> list[Mail]:
        with self._changed:
            return list(self._mails)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address.lower() in (r.lower() for r in m.recipients)]

    def wait_for_sync(self, predicate: Callable[[list[Mail]], bool], timeout: float) -> list[Mail]:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate(self._mails), timeout):
                raise TimeoutError(f"mail condition not met within {timeout}s ({len(self._mails)} mails)")
            return list(self._mails)

    async def wait_for(self, predicate: Callable[[list[Mail]], bool], timeout: float = 10) -> list[Mail]:
        """Wait until `predicate(mails)` holds; raises TimeoutError at the deadline."""
        return await asyncio.to_thread(self.wait_for_sync, predicate, timeout)

    async def wait_for_mail_to(self, address: str, count: int = 1, timeout: float = 10) -> Mail:
        await self.wait_for(lambda _: len(self.to(address)) >= count, timeout)
        return self.to(address)[count - 1]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def print_mail(mail: Mail) -> None:
    print(f"\n📧 {mail.subject} → {', '.join(mail.recipients)}")
    for link in mail.links:
        print(f"   {link}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal-mailsink", description="Local SMTP mail sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("var/mails"))
    args = parser.parse_args(argv)
    sink = MailSink(args.host, args.port, args.folder, on_mail=print_mail).start()
    print(f"mail sink listening on {sink.host}:{sink.port}, storing mails in {args.folder}/", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
