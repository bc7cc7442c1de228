"""Mailer throughput, end to end, against a bare aiosmtplib loop measured in the same run.

    .venv/bin/python bench/mailer_throughput.py [--events N] [--only 0:1x8,50:1x8]
        [--profile DIR]

Measured: mails per second from the first event published (persistent, confirmed, as
auth's outbox relay publishes) until the SMTP sink (aiosmtpd, a process of its own) has
accepted the last mail. The mailer runs as `portal-mailer serve` child processes, with
its production logging (INFO, JSON, to a file).

Baseline: the same rendered mails sent to the same sink by a bare aiosmtplib loop with
the same number of connections, one mail per connection at a time, no broker, no
database. The ratio mailer/baseline is what the mailer's guarantees cost.

Two sinks: one that accepts at once (the costs of the mailer itself show), and one that
takes 50 ms per mail like a relay that scans mail (then throughput should grow nearly
linearly with replicas × concurrency, up to connections / 50 ms).

`--only` picks scenarios as sink-delay-ms:replicasxconcurrency; `--profile DIR` records
each replica with py-spy during the measured phase and prints where its CPU time went
(see mailer_profile.py).

Every run checks that each event was mailed exactly once. The benchmark creates its own
database and queue names and removes them afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import aiosmtplib

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mailer_profile import profiled, summary
from mailer_sink import SinkProcess
from mailer_stack import Publisher, Stack, bench_stack, replicas

from portal_mailer.domain.mails import MailContext, plan_mails
from portal_mailer.rendering import envelope_sender, mime_bytes, render
from portal_shared.events import Event, RegistrationCreated, new_event

SLOW_SINK_SECONDS = 0.05
ROUNDS_ON_THE_SLOW_SINK = 40  # mails per connection: runs of about two seconds
DEADLINE_SECONDS = 300.0


@dataclass(frozen=True)
class Scenario:
    sink_delay: float
    replicas: int
    concurrency: int  # per replica
    events: int

    @property
    def connections(self) -> int:
        return self.replicas * self.concurrency


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    baseline: float  # mails/s
    mailer: float
    # CPU time per mail of the bare loop's process and of the mailer replicas: on a
    # machine others load, a steadier measure of what the mailer costs than mails/s.
    baseline_cpu_ms: float
    mailer_cpu_ms: float
    # The whole machine's busy CPU per mail (/proc/stat): the bare loop pays for itself
    # and the sink, the mailer run also for RabbitMQ, PostgreSQL and the publisher. On
    # two cores this, not the mailer's own share, sets the ceiling of the instant sink.
    baseline_machine_ms: float = float("nan")
    mailer_machine_ms: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.mailer / self.baseline


def registrations(count: int, run: str) -> list[Event]:
    expires = datetime.now(UTC) + timedelta(hours=24)
    return [
        new_event(
            RegistrationCreated(
                account_id=uuid4(), customer_number=f"{10000 + i}",
                email=f"{run}-{i}@bench.example", last_name="Mustermann",
                activation_token=uuid4().hex + uuid4().hex, expires_at=expires,
            ),
            correlation_id="bench",
        )
        for i in range(count)
    ]


async def wait_for_mails(sink: SinkProcess, count: int) -> float:
    """The moment the sink accepted mail number `count` (its own clock)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while sink.accepted < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{sink.accepted} of {count} mails arrived")
        await asyncio.sleep(0.01)  # polls a counter; the end time is the sink's own
    return sink.last_arrival


def check_exactly_once(sink: SinkProcess, count: int, what: str) -> None:
    if sink.accepted != count or sink.distinct != count:
        raise AssertionError(
            f"{what}: {sink.accepted} mails to {sink.distinct} recipients for {count} events"
        )


# --- the baseline ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    sender: str
    recipient: str
    raw: bytes


async def bare_loop(
    messages: list[Outgoing], sink: SinkProcess, connections: int
) -> tuple[float, float]:
    """Send `messages` over `connections` reused SMTP connections; mails/s and CPU ms
    per mail of this process."""
    pending = iter(messages)

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname=sink.host, port=sink.port, timeout=30)
        await client.connect()
        try:
            for message in pending:  # shared iterator: each message taken once
                await client.sendmail(message.sender, [message.recipient], message.raw)
        finally:
            await client.quit()

    started, cpu_before = time.monotonic(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(connections)))
    finished = await wait_for_mails(sink, len(messages))
    cpu_ms = (time.process_time() - cpu_before) * 1000
    return len(messages) / (finished - started), cpu_ms / len(messages)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far, all cores (Linux /proc/stat: everything
    but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def rendered(events: list[Event], stack: Stack) -> list[Outgoing]:
    """The mails the mailer would send for `events`, rendered by the mailer's own code."""
    settings = stack.settings()
    context = MailContext.from_settings(settings)
    now = datetime.now(UTC)
    return [
        Outgoing(
            envelope_sender(settings.mail_from), mail.to,
            mime_bytes(render(mail), settings.mail_from, now, event.event_id),
        )
        for event in events for mail in plan_mails(event, context)
    ]


# --- the mailer ------------------------------------------------------------------------


async def mailer_run(
    stack: Stack, scenario: Scenario, sink: SinkProcess, run: str, profile: Path | None
) -> tuple[float, float, float]:
    """Mails/s, the replicas' CPU ms per mail and the machine's."""
    settings = stack.settings(mailer_concurrency=scenario.concurrency)
    smtp = (sink.host, sink.port)
    async with (
        replicas(scenario.replicas, settings, stack.log_dir, smtp) as started_replicas,
        Publisher(settings) as bus,
    ):
        warm_up = registrations(2 * scenario.connections, f"{run}-warm")
        await bus.publish(warm_up)
        await wait_for_mails(sink, len(warm_up))

        events = registrations(scenario.events, run)
        pids = [replica.pid for replica in started_replicas]
        async with contextlib.AsyncExitStack() as spying:
            if profile is not None:
                await spying.enter_async_context(profiled(pids, profile / f"{run}.raw"))
            cpu_before, machine_before = sum(map(cpu_seconds, pids)), machine_cpu_seconds()
            started = time.monotonic()
            await bus.publish(events)
            finished = await wait_for_mails(sink, len(warm_up) + len(events))
            cpu_ms = (sum(map(cpu_seconds, pids)) - cpu_before) * 1000
            machine_ms = (machine_cpu_seconds() - machine_before) * 1000
    check_exactly_once(sink, len(warm_up) + len(events), f"mailer {run}")
    return len(events) / (finished - started), cpu_ms / len(events), machine_ms / len(events)


async def measure(stack: Stack, scenario: Scenario, profile: Path | None = None) -> Result:
    run = f"r{scenario.replicas}c{scenario.concurrency}d{int(scenario.sink_delay * 1000)}"
    with SinkProcess(scenario.sink_delay) as sink:
        warm_up = rendered(registrations(2 * scenario.connections, f"{run}-bare-warm"), stack)
        await bare_loop(warm_up, sink, scenario.connections)
    with SinkProcess(scenario.sink_delay) as sink:
        messages = rendered(registrations(scenario.events, f"{run}-bare"), stack)
        machine_before = machine_cpu_seconds()
        baseline, baseline_cpu = await bare_loop(messages, sink, scenario.connections)
        baseline_machine = (machine_cpu_seconds() - machine_before) * 1000 / len(messages)
        check_exactly_once(sink, len(messages), f"baseline {run}")
    with SinkProcess(scenario.sink_delay) as sink:
        mailer, mailer_cpu, mailer_machine = await mailer_run(stack, scenario, sink, run, profile)
    return Result(scenario, baseline, mailer, baseline_cpu, mailer_cpu, baseline_machine,
                  mailer_machine)


# --- the report ------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = [
        (
            "| SMTP sink | replicas × concurrency | mails | bare aiosmtplib mails/s | "
            "mailer mails/s | mailer / bare | ideal (connections / 50 ms) | mailer / ideal | "
            "CPU ms per mail, bare / mailer | machine CPU ms per mail, bare / mailer |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        s = result.scenario
        sink = f"waits {s.sink_delay * 1000:.0f} ms" if s.sink_delay else "accepts at once"
        if s.sink_delay:
            ideal = s.connections / s.sink_delay
            ideal_cells = f"{ideal:.0f} | {result.mailer / ideal:.0%}"
        else:
            ideal_cells = "– | –"
        lines.append(
            f"| {sink} | {s.replicas} × {s.concurrency} | {s.events} | {result.baseline:.0f} | "
            f"{result.mailer:.0f} | {result.ratio:.2f} | {ideal_cells} | "
            f"{result.baseline_cpu_ms:.2f} / {result.mailer_cpu_ms:.2f} | "
            f"{result.baseline_machine_ms:.2f} / {result.mailer_machine_ms:.2f} |"
        )
    return "\n".join(lines)


def scenarios(events: int, only: str | None = None) -> list[Scenario]:
    slow = [(1, 4), (1, 8), (2, 8), (1, 16)]
    every = [
        Scenario(0.0, 1, 8, events),
        Scenario(0.0, 2, 8, events),
        *(
            Scenario(SLOW_SINK_SECONDS, r, c, ROUNDS_ON_THE_SLOW_SINK * r * c)
            for r, c in slow
        ),
    ]
    if not only:
        return every
    wanted = {name.strip() for name in only.split(",")}
    return [s for s in every if scenario_name(s) in wanted]


def scenario_name(scenario: Scenario) -> str:
    """As `--only` names it: sink delay in ms, then replicas x concurrency (0:1x8)."""
    return f"{round(scenario.sink_delay * 1000)}:{scenario.replicas}x{scenario.concurrency}"


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per run (fast sink)")
    parser.add_argument("--only", help="scenarios to run, e.g. 0:1x8,50:1x8 (default: all)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="record each replica with py-spy (raw samples into DIR)")
    args = parser.parse_args(argv)
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mailer-bench-") as logs:
        async with bench_stack(Path(logs)) as stack:
            results = []
            for scenario in scenarios(args.events, args.only):
                result = await measure(stack, scenario, args.profile)
                print(
                    f"  {scenario.replicas} × {scenario.concurrency}, sink "
                    f"{scenario.sink_delay * 1000:.0f} ms: bare {result.baseline:.0f}/s, "
                    f"mailer {result.mailer:.0f}/s; CPU per mail bare "
                    f"{result.baseline_cpu_ms:.2f} ms, mailer {result.mailer_cpu_ms:.2f} ms",
                    file=sys.stderr, flush=True,
                )
                results.append(result)
    print(table(results))
    fast = [r for r in results if not r.scenario.sink_delay]
    print()
    for result in fast:
        print(
            f"mailer / bare aiosmtplib, {result.scenario.replicas} replica(s) × "
            f"{result.scenario.concurrency}: {result.ratio:.2f}"
        )
    if args.profile is not None:
        for result in results:
            s = result.scenario
            raw = args.profile / (
                f"r{s.replicas}c{s.concurrency}d{int(s.sink_delay * 1000)}.raw"
            )
            if raw.exists():
                print(f"\nprofile of {scenario_name(s)} ({raw}):\n{summary(raw, s.events)}")
    print(f"\ncommand: .venv/bin/python bench/mailer_throughput.py {shlex.join(argv)}".rstrip())
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(sys.argv[1:])))
