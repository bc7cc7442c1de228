"""The mailer's own CPU work per activation mail, in one process (no broker, database or
SMTP): decode the event, plan, render the templates, and write the MIME message, once
with the email package's generator (`build_message(...).as_bytes()`, what the mailer sent
before issue 12) and once with `mime_bytes` (what it sends now; the same bytes).

    .venv/bin/python bench/mailer_render.py [--mails N] [--rounds R]

Reports the best of R rounds of CPU time (time.process_time) per mail for each way.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailer_throughput import registrations

from portal_mailer.config import MailerSettings
from portal_mailer.domain.mails import MailContext, plan_mails
from portal_mailer.rendering import build_message, mime_bytes, render
from portal_shared.events import decode, encode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    settings = MailerSettings(portal_base_url="http://portal.bench")
    context = MailContext.from_settings(settings)
    bodies = [encode(event) for event in registrations(args.mails, "render")]
    now = datetime.now(UTC)

    def email_package(body: bytes) -> bytes:
        event = decode(body)
        [mail] = plan_mails(event, context)
        return build_message(render(mail), settings.mail_from, now, event.event_id).as_bytes()

    def direct(body: bytes) -> bytes:
        event = decode(body)
        [mail] = plan_mails(event, context)
        return mime_bytes(render(mail), settings.mail_from, now, event.event_id)

    ways: dict[str, Callable[[bytes], bytes]] = {"email package": email_package, "mime_bytes": direct}
    assert email_package(bodies[0]) == direct(bodies[0])
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(args.rounds):
        for name, way in ways.items():  # alternating, so both see the same load
            started = time.process_time()
            for body in bodies:
                way(body)
            best[name] = min(best[name], (time.process_time() - started) / len(bodies))
    for name, seconds in best.items():
        print(f"{name}: {seconds * 1e6:.0f} µs CPU per mail (decode, plan, render, MIME)")
    print(f"\ncommand: .venv/bin/python bench/mailer_render.py {' '.join(argv)}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
