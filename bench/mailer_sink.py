"""The benchmark's SMTP server: the project's aiosmtpd sink, in a process of its own.

Its own process, so the measured side (the mailer replicas or the bare aiosmtplib loop)
does not share an interpreter with it. It reports through shared memory how many mails
it accepted, how many distinct recipients they had, and when the last one arrived
(time.monotonic(), which is one clock for all processes on Linux).
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Self

from portal_devtools.mailsink import Mail, MailSink, free_port

_context = multiprocessing.get_context("spawn")


@dataclass
class _Shared:
    accepted: Synchronized[int]
    distinct: Synchronized[int]
    last_arrival: Synchronized[float]
    ready: ProcessEvent
    stop: ProcessEvent


def _serve(port: int, delay_seconds: float, shared: _Shared) -> None:
    recipients: set[str] = set()

    def count(mail: Mail) -> None:
        # Called on the sink's one server thread, so no lock is needed around the set.
        recipients.update(mail.recipients)
        shared.distinct.value = len(recipients)
        shared.last_arrival.value = time.monotonic()
        shared.accepted.value += 1

    sink = MailSink(port=port, on_mail=count, delay_seconds=delay_seconds).start()
    shared.ready.set()
    shared.stop.wait()
    sink.stop()


class SinkProcess:
    def __init__(self, delay_seconds: float = 0.0) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.delay_seconds = delay_seconds
        self._shared = _Shared(
            _context.Value("q", 0), _context.Value("q", 0), _context.Value("d", 0.0),
            _context.Event(), _context.Event(),
        )
        self._process = _context.Process(
            target=_serve, args=(self.port, delay_seconds, self._shared), daemon=True
        )

    def __enter__(self) -> Self:
        self._process.start()
        if not self._shared.ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._shared.stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    @property
    def accepted(self) -> int:
        return self._shared.accepted.value

    @property
    def distinct(self) -> int:
        return self._shared.distinct.value

    @property
    def last_arrival(self) -> float:
        return self._shared.last_arrival.value
