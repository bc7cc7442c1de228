"""A local SMTP server that keeps every mail it receives (aiosmtpd).

Used by `make dev` (unless SMTP_HOST points at a real server) and by the tests, which
wait on `MailSink.wait_for` instead of sleeping. Each mail can also be written to a
folder as `.eml` and its links printed, so a developer can click the activation link.

It can also misbehave on cue, like real mail servers do: answer with an error (`451`
"try again later", `550` "no such user") or hang up instead of accepting a mail
(`inject(Fault(...))`), and take its time over each mail (`delay_seconds`).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import cached_property
from pathlib import Path
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_LINK = re.compile(r"https?://[^\s<>\"']+")


@dataclass(frozen=True)
class Mail:
    mail_from: str
    recipients: tuple[str, ...]
    content: bytes  # as received
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @cached_property
    def message(self) -> EmailMessage:
        # Parsed when first looked at: parsing costs more than receiving, and a
        # benchmark's sink looks at none of its thousands of mails.
        return email.message_from_bytes(self.content, policy=email.policy.default)  # type: ignore[return-value]

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


@dataclass
class Fault:
    """Instead of accepting, answer `reply` (e.g. "451 4.3.0 Try again later") or, with
    `drop`, close the connection without a word.

    At "data" (the default) the whole mail is refused after its content was sent; at
    "rcpt" the recipient is. `recipient` limits the fault to mails to that address;
    `times` is how many mails it affects (None: until `clear_faults`).
    """

    reply: str | None = None
    drop: bool = False
    at: Literal["rcpt", "data"] = "data"
    recipient: str | None = None
    times: int | None = 1

    def __post_init__(self) -> None:
        if (self.reply is None) == (not self.drop):
            raise ValueError("a fault either replies or drops the connection")
        if self.reply is not None and not re.match(r"^[45]\d\d ", self.reply):
            raise ValueError("a fault's reply is an SMTP error: '4xx text' or '5xx text'")

    def applies_to(self, recipients: list[str]) -> bool:
        wanted = self.recipient
        return wanted is None or wanted.lower() in (r.lower() for r in recipients)


@dataclass(frozen=True)
class Refusal:
    """A mail (or recipient) the sink refused because of a fault."""

    recipients: tuple[str, ...]
    answer: str  # the reply sent, or "dropped"
    at: str


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        fault = self._sink._take_fault("rcpt", [address])
        if fault is not None:
            return self._misbehave(server, fault, [address], "rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self._sink.delay_seconds > 0:
            await asyncio.sleep(self._sink.delay_seconds)
        recipients = list(envelope.rcpt_tos)
        fault = self._sink._take_fault("data", recipients)
        if fault is not None:
            return self._misbehave(server, fault, recipients, "data")
        content = envelope.content
        assert isinstance(content, bytes)  # decode_data is off
        mail = Mail(envelope.mail_from or "", tuple(recipients), content)
        self._sink.receive(mail)
        return "250 Message accepted for delivery"

    def _misbehave(self, server: SMTP, fault: Fault, recipients: list[str], at: str) -> str:
        self._sink._refused(Refusal(tuple(recipients), fault.reply or "dropped", at))
        if fault.drop and server.transport is not None:
            # abort(), not close(): no reply reaches the client, as when a server dies.
            server.transport.abort()
            return "421 closing"  # written to a closed transport: never seen
        assert fault.reply is not None
        return fault.reply


class MailSink:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        folder: Path | None = None,
        on_mail: Callable[[Mail], None] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        self._controller = Controller(_Handler(self), hostname=host, port=port or free_port(host))
        self._folder = folder
        self._on_mail = on_mail
        self._mails: list[Mail] = []
        self._faults: list[Fault] = []
        self._refusals: list[Refusal] = []
        self._changed = threading.Condition()
        # How long the server takes over each mail before answering (all sessions wait
        # in parallel, as with a real server that scans or relays each mail).
        self.delay_seconds = delay_seconds

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
            (self._folder / name).write_bytes(mail.content)
        with self._changed:
            self._mails.append(mail)
            self._changed.notify_all()
        if self._on_mail is not None:
            self._on_mail(mail)

    @property
    def mails(self) -> list[Mail]:
        with self._changed:
            return list(self._mails)

    def inject(self, fault: Fault) -> Fault:
        """Misbehave as `fault` says for the next matching mails; returns it."""
        with self._changed:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._changed:
            self._faults.clear()

    @property
    def refusals(self) -> list[Refusal]:
        with self._changed:
            return list(self._refusals)

    def _take_fault(self, at: str, recipients: list[str]) -> Fault | None:
        with self._changed:
            for fault in self._faults:
                if fault.at == at and fault.applies_to(recipients):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _refused(self, refusal: Refusal) -> None:
        with self._changed:
            self._refusals.append(refusal)
            self._changed.notify_all()

    def wait_for_refusals_sync(self, count: int, timeout: float) -> list[Refusal]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._refusals) >= count, timeout):
                raise TimeoutError(f"{len(self._refusals)} of {count} refusals within {timeout}s")
            return list(self._refusals)

    async def wait_for_refusals(self, count: int, timeout: float = 10) -> list[Refusal]:
        """Wait until the sink has refused `count` mails (or recipients) in all."""
        return await asyncio.to_thread(self.wait_for_refusals_sync, count, timeout)

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
    """A port nothing listens on, for a server that binds it a moment later.

    Picked below the kernel's ephemeral range on purpose: a port the kernel hands out
    for `bind(0)` can be handed out again, to the next server started with port 0 or
    to an outgoing connection, before ours binds it (a CI run lost a browser test to
    exactly that: the portal's port went to the auth server started just before)."""
    low = _ephemeral_range_start()
    for _ in range(100):
        port = random.randrange(_FIXED_PORTS_ABOVE, low) if low > _FIXED_PORTS_ABOVE + 1000 else 0
        if port in _handed_out:
            continue  # not yet bound by whoever asked first
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            port = probe.getsockname()[1]
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port on {host} below {low}")


# Below this sit most well-known ports (PostgreSQL, Redis, `make dev`'s 8080-8083, …);
# the probe bind skips anything else that listens (RabbitMQ's 15672 and 25672).
_FIXED_PORTS_ABOVE = 10000
_handed_out: set[int] = set()


def _ephemeral_range_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def print_mail(mail: Mail) -> None:
    print(f"\n📧 {mail.subject} → {', '.join(mail.recipients)}")
    for link in mail.links:
        print(f"   {link}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="portal-mailsink", description="Local SMTP mail sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("var/mails"))
    parser.add_argument("--delay-ms", type=int, default=0, help="wait this long over each mail")
    parser.add_argument(
        "--refuse", metavar="REPLY",
        help='answer every mail with this error instead, e.g. "451 4.3.0 Try again later"',
    )
    args = parser.parse_args(argv)
    sink = MailSink(
        args.host, args.port, args.folder, on_mail=print_mail, delay_seconds=args.delay_ms / 1000
    ).start()
    if args.refuse:
        sink.inject(Fault(reply=args.refuse, times=None))
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
