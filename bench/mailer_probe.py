"""One `portal-mailer serve` replica driven to a sink and watched from outside: mails/s,
CPU seconds per mail and resident memory (shared by event_loop.py and peers.py)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from footprint import process_cpu, status_kib
from mailer_sink import SinkProcess
from mailer_stack import Publisher, Stack, replicas
from mailer_throughput import registrations, wait_for_mails


@dataclass(frozen=True)
class MailRun:
    mails_per_second: float
    cpu_per_mail: float  # seconds
    rss_kib: int  # the process tree's, when the last mail was accepted


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (a prefork pool is many processes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_rss_kib(pid: int) -> int:
    return sum(status_kib(p, "VmRSS") for p in tree(pid))


def tree_cpu(pid: int) -> float:
    """CPU seconds (utime + stime) of `pid` and its live descendants."""
    return sum(process_cpu(p) for p in tree(pid))


async def our_mailer(stack: Stack, sink: SinkProcess, mails: int, concurrency: int, run: str,
                     event_loop: str | None = None) -> MailRun:
    """`mails` activation mails through one replica (1 × `concurrency`), after a warm-up."""
    settings = stack.settings(mailer_concurrency=concurrency)
    if event_loop is not None:
        os.environ["EVENT_LOOP"] = event_loop  # the replica's environment is ours plus its settings
    try:
        async with replicas(1, settings, stack.log_dir, (sink.host, sink.port)) as started, \
                Publisher(settings) as bus:
            pid = started[0]._process.pid  # type: ignore[union-attr]
            warm = registrations(2 * concurrency, f"{run}-warm")
            await bus.publish(warm)
            await wait_for_mails(sink, len(warm))
            before, began = process_cpu(pid), time.monotonic()
            await bus.publish(registrations(mails, run))
            finished = await wait_for_mails(sink, len(warm) + mails)
            used, rss = process_cpu(pid) - before, tree_rss_kib(pid)
    finally:
        if event_loop is not None:
            os.environ.pop("EVENT_LOOP", None)
    return MailRun(mails / (finished - began), used / mails, rss)
