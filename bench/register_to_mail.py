"""Register → activation mail accepted by the SMTP sink, end to end, at steady rates.

    .venv/bin/python bench/register_to_mail.py [--rates 20,50,100] [--seconds 10]

Open loop: registration i is sent at t0 + i / rate whatever happened to the ones before
(a closed loop would slow down with the service and hide its queueing), and its latency
counts from that scheduled moment. Each is a new customer number, address and client IP
(`X-Forwarded-For`, auth trusts 127.0.0.1), so no rate limit or challenge applies.

Creates its own database, exchanges and queues (removed at the end), migrates auth and
the mailer with their console scripts, imports the customers, and starts `portal-auth
serve`, `portal-mailer serve` (1 × 8) and an SMTP sink (a process of its own that notes
when each recipient's mail was accepted) on free ports.

Where the time goes, per registration (wall clock; all processes are on one machine):
- `hash`: request sent → `auth.accounts.created_at` (auth's clock, read after both argon2
  computations: rate limit, throttle, the hashing queue and the hashes);
- `commit`: → the event's `occurred_at` (the registration transaction);
- `relay`: → the event seen on a queue of the bench's own bound to the run's exchange
  (commit, NOTIFY, the outbox relay's claim, publish and confirm, routing);
- `mailer`: → the mail accepted by the sink (delivery to the mailer's queue, decode,
  idempotency transaction, render, SMTP).
The answer (202) is padded to 150 ms (`UNIFORM_ANSWER_SECONDS`) so it tells nothing;
the padding delays only the answer, never the mail: the mail goes out while the answer
waits. So all of "request → mail accepted" is ours, and "answer − 150 ms" is the part of
the answer that is ours.

The registration ceiling of the machine is measured in the same run: registering costs
two argon2id computations (the password's hash and the letter code's check, done for
every registration so the time tells nothing), so registrations/s ≤ argon2id
verifications/s ÷ 2 on the same threads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from typing import Self

from footprint import (
    AMQP_URL,
    BIN,
    PASSWORD,
    Sampler,
    admin,
    client_ip,
    customer_number,
    delete_amqp,
    free_port,
    mailer_names,
    process,
    run_migrate,
    status_kib,
    wait_ready,
)

UNIFORM_ANSWER_SECONDS = 0.15  # portal_auth.registration.UNIFORM_ANSWER_SECONDS
DRAIN_SECONDS = 30.0  # after the last answer, for the mails still on their way
WARM_UP = 5  # registrations, in one second, before the measured phases
SERVICES = {"auth": "portal-auth", "mailer": "portal-mailer"}
_spawn = multiprocessing.get_context("spawn")


# --- the sink: when was each recipient's mail accepted ---------------------------------


def _serve_sink(port: int, arrivals: multiprocessing.Queue, ready, stop) -> None:  # type: ignore[no-untyped-def]
    from portal_devtools.mailsink import MailSink

    sink = MailSink(port=port, on_mail=lambda mail: arrivals.put((mail.recipients[0], time.time())))
    sink.start()
    ready.set()
    stop.wait()
    sink.stop()


class TimedSink:
    """An aiosmtpd sink in its own process; `arrivals()` maps recipient → wall time."""

    def __init__(self) -> None:
        self.port = free_port()
        self._queue: multiprocessing.Queue = _spawn.Queue()
        self._ready, self._stop = _spawn.Event(), _spawn.Event()
        self._process = _spawn.Process(target=_serve_sink, args=(self.port, self._queue, self._ready, self._stop),
                                       daemon=True)
        self._seen: dict[str, float] = {}

    def __enter__(self) -> Self:
        self._process.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SMTP sink did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()

    def arrivals(self) -> dict[str, float]:
        while not self._queue.empty():
            recipient, at = self._queue.get_nowait()
            self._seen.setdefault(recipient, at)
        return self._seen


# --- the load --------------------------------------------------------------------------


@dataclass
class Registration:
    email: str
    scheduled: float  # wall clock
    answered: float = 0.0
    status: int = 0
    created: float = 0.0  # auth.accounts.created_at
    occurred: float = 0.0  # the event's occurred_at
    relayed: float = 0.0  # seen on the bench's tap queue
    mailed: float = 0.0  # accepted by the sink


@dataclass
class RateResult:
    rate: int
    seconds: float
    registrations: list[Registration]
    send_lag_p99: float  # how late the load generator itself was
    rss_kib: dict[str, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)  # cores, over the phase
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def email_of(run: str, i: int) -> str:
    return f"r2m-{run}-{i}@example.de"


async def register_at_rate(auth: str, rate: int, seconds: float, first: int, run: str,
                           answer_timeout: float) -> tuple[list[Registration], float]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=answer_timeout)
    count = int(rate * seconds)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    wall_offset = time.time() - loop.time()
    done: list[Registration] = []
    lags: list[float] = []

    async def one(http: aiohttp.ClientSession, i: int, scheduled: float) -> None:
        n = first + i
        registration = Registration(email_of(run, n), scheduled + wall_offset)
        body = {"last_name": "Bench", "customer_number": customer_number(n), "email": registration.email,
                "password": PASSWORD, "accept_terms": True, "accept_privacy": True}
        try:
            async with http.post(f"{auth}/api/v1/auth/register", json=body, timeout=timeout,
                                 headers={"X-Forwarded-For": client_ip(n)}) as response:
                await response.read()
                registration.status = response.status
        except (aiohttp.ClientError, TimeoutError):
            registration.status = 0  # refused, reset or no answer in time: what a user would see too
        registration.answered = time.time()
        done.append(registration)

    connector = aiohttp.TCPConnector(limit=0)  # open loop: never wait for a free connection
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        tasks = []
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            lags.append(loop.time() - scheduled)
            tasks.append(asyncio.create_task(one(http, i, scheduled)))
        await asyncio.gather(*tasks)
    return done, percentile(lags, 0.99)


class Tap:
    """A queue of the bench's own on the run's exchange: when each event got to the broker."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.seen: dict[str, tuple[float, float, str]] = {}  # email -> (relayed, occurred, event id)

    async def __aenter__(self) -> Self:
        import aio_pika

        from portal_shared.amqp import declare_events_exchange
        from portal_shared.events import RoutingKey

        self._connection = await aio_pika.connect(AMQP_URL)
        channel = await self._connection.channel()
        exchange = await declare_events_exchange(channel, self.exchange)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, RoutingKey.REGISTRATION_CREATED)
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def _on_message(self, message) -> None:  # type: ignore[no-untyped-def]
        at = time.time()
        envelope = json.loads(message.body)
        occurred = _timestamp(envelope["occurred_at"])
        self.seen[envelope["payload"]["email"]] = (at, occurred, envelope["event_id"])

    async def __aexit__(self, *exc: object) -> None:
        await self._connection.close()


def _timestamp(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


async def created_times(dsn: str, emails: list[str]) -> dict[str, float]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT email, extract(epoch FROM created_at)::float8 AS at "
                                "FROM auth.accounts WHERE email = ANY($1::text[])", emails)
    finally:
        await conn.close()
    return {row["email"]: row["at"] for row in rows}


async def measure_rate(urls: dict[str, str], exchange: str, dsn: str, sink: TimedSink, rate: int,
                       seconds: float, first: int, answer_timeout: float) -> RateResult:
    run = uuid.uuid4().hex[:6]
    async with Tap(exchange) as tap:
        registrations, lag = await register_at_rate(urls["auth"], rate, seconds, first, run, answer_timeout)
        deadline = time.monotonic() + DRAIN_SECONDS
        wanted = {r.email for r in registrations if r.status == 202}
        while not wanted <= sink.arrivals().keys() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    arrivals = sink.arrivals()
    created = await created_times(dsn, [r.email for r in registrations])
    for r in registrations:
        r.mailed = arrivals.get(r.email, 0.0)
        r.created = created.get(r.email, 0.0)
        r.relayed, r.occurred, _ = tap.seen.get(r.email, (0.0, 0.0, ""))
    return RateResult(rate, seconds, registrations, lag)


async def settled(dsn: str, quiet_seconds: float = 2.0, deadline_seconds: float = 90.0) -> None:
    """Until auth has finished what the last phase left (requests the client gave up on
    are still hashed and committed): no new account for `quiet_seconds`, outbox empty."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + deadline_seconds
        last, since = None, time.monotonic()
        while time.monotonic() - since < quiet_seconds and time.monotonic() < deadline:
            now = await conn.fetchval("SELECT (SELECT count(*) FROM auth.accounts) * 1000000"
                                      " + (SELECT count(*) FROM auth.outbox)")
            if now != last or now % 1000000:
                last, since = now, time.monotonic()
            await asyncio.sleep(0.25)  # polling a count, with a deadline
    finally:
        await conn.close()


def hash_ceiling(seconds: float, threads: int) -> float:
    """argon2id verifications/s alone, as login_throughput.py measures them."""
    from login_throughput import argon2_baseline

    return asyncio.run(argon2_baseline(seconds, threads * 8))


# --- the report ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:.0f}"


def report(results: list[RateResult], ceiling: float, threads: int) -> None:
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.2f}; "
          f"argon2id alone {ceiling:.0f} verifications/s on {threads} threads → ceiling "
          f"{ceiling / 2:.0f} registrations/s (two argon2id per registration)")
    print("\n| rate asked /s | registrations | 202 | failed (reset, refused, no answer in time) | mails | mails/s held | request → mail p50 / p99 ms "
          "| answer p50 / p99 ms | answer − 150 ms p99 | load generator late p99 ms |")
    print("|---:|---:|---:|---:|---:|---:|---|---|---:|---:|")
    for result in results:
        regs = result.registrations
        mailed = [r for r in regs if r.mailed]
        total = [r.mailed - r.scheduled for r in mailed]
        answer = [r.answered - r.scheduled for r in regs if r.status == 202]
        first, last = min(r.scheduled for r in regs), max((r.mailed for r in mailed), default=0.0)
        held = len(mailed) / (last - first) if mailed else 0.0
        print(f"| {result.rate} | {len(regs)} | {sum(r.status == 202 for r in regs)} "
              f"| {sum(r.status == 0 for r in regs)} | {len(mailed)} "
              f"| {held:.1f} | {ms(total, 0.5)} / {ms(total, 0.99)} | {ms(answer, 0.5)} / {ms(answer, 0.99)} "
              f"| {max(0.0, percentile(answer, 0.99) - UNIFORM_ANSWER_SECONDS) * 1000:.0f} "
              f"| {result.send_lag_p99 * 1000:.0f} |")
    print("\nWhere the time of request → mail goes (ms, p50 / p99 of each step):\n")
    print("| rate /s | hash (request → account row) | commit (→ event) | relay (→ broker) "
          "| mailer (→ SMTP accepted) | auth RSS MiB | mailer RSS MiB | auth / mailer CPU (cores) "
          "| auth CPU ms per registration | mailer CPU ms per mail |")
    print("|---:|---|---|---|---|---:|---:|---|---:|---:|")
    for result in results:
        full = [r for r in result.registrations if r.mailed and r.created and r.relayed]
        steps = [
            [r.created - r.scheduled for r in full],
            [r.occurred - r.created for r in full],
            [r.relayed - r.occurred for r in full],
            [r.mailed - r.relayed for r in full],
        ]
        cells = " | ".join(f"{ms(s, 0.5)} / {ms(s, 0.99)}" for s in steps)
        rss = result.rss_kib
        print(f"| {result.rate} | {cells} | {rss.get('auth', 0) / 1024:.0f} | {rss.get('mailer', 0) / 1024:.0f} "
              f"| {result.cpu.get('auth', 0):.2f} / {result.cpu.get('mailer', 0):.2f} "
              f"| {per(result, 'auth', sum(r.created > 0 for r in result.registrations))} "
              f"| {per(result, 'mailer', sum(r.mailed > 0 for r in result.registrations))} |")


def per(result: RateResult, service: str, count: int) -> str:
    return f"{result.cpu_seconds.get(service, 0) / count * 1000:.1f}" if count else "–"


# --- the stack -------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="20,50,100", help="registrations per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10, help="length of each steady phase")
    parser.add_argument("--answer-timeout", type=float, default=20,
                        help="seconds a registration may take to be answered before it counts as failed")
    parser.add_argument("--hash-threads", type=int, default=os.cpu_count() or 2, help="auth's PASSWORD_HASH_THREADS")
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    prefix = f"r2m-{uuid.uuid4().hex[:8]}"
    database = prefix.replace("-", "_")
    dsn = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn = dsn.rsplit("/", 1)[0] + f"/{database}"
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            results, ceiling = run(args, rates, prefix, dsn, Path(scratch))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(delete_amqp(prefix))
    report(results, ceiling, args.hash_threads)
    print(f"\ncommand: {loop_prefix()}.venv/bin/python bench/register_to_mail.py "
          + " ".join(sys.argv[1:]))
    return 0


def run(args: argparse.Namespace, rates: list[int], prefix: str, dsn: str,
        scratch: Path) -> tuple[list[RateResult], float]:
    names = {key.upper(): value for key, value in mailer_names(prefix).items()}
    env = {**os.environ, "AMQP_URL": AMQP_URL, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json",
           "TRUSTED_PROXIES": '["127.0.0.1/32"]', **names,
           "AUTH_DATABASE_URL": dsn, "MAILER_DATABASE_URL": dsn}
    for program in SERVICES.values():
        run_migrate(program, env)
    total = sum(int(rate * args.seconds) for rate in rates)
    csv = scratch / "customers.csv"
    csv.write_text("customer_number,last_name\n" + "".join(f"{customer_number(i)},Bench\n" for i in range(total + WARM_UP)))
    subprocess.run([str(BIN / "portal-auth"), "import-customers", str(csv)], env=env, check=True, capture_output=True)

    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    results: list[RateResult] = []
    with ExitStack() as stack:
        sink = stack.enter_context(TimedSink())
        service_env = {
            "auth": {"AUTH_PORT": str(ports["auth"]), "JWT_KEY_DIR": str(scratch / "jwt"),
                     "PASSWORD_HASH_THREADS": str(args.hash_threads)},
            "mailer": {"MAILER_PORT": str(ports["mailer"]), "SMTP_PORT": str(sink.port), "MAILER_CONCURRENCY": "8",
                       "PORTAL_BASE_URL": "http://portal.bench"},
        }
        pids = {}
        for name, program in SERVICES.items():
            child = stack.enter_context(process(name, [str(BIN / program), "serve"], {**env, **service_env[name]},
                                                scratch))
            pids[name] = child.pid
        for url in urls.values():
            wait_ready(url)
        ceiling = hash_ceiling(5, args.hash_threads)
        # A short warm-up: first connections, first hashes, the mailer's templates.
        asyncio.run(measure_rate(urls, names["EVENTS_EXCHANGE"], dsn, sink, WARM_UP, 1, total, args.answer_timeout))
        first = 0
        for rate in rates:
            asyncio.run(settled(dsn))
            sampler = Sampler(pids, phase=str(rate))
            before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            started = time.monotonic()
            with sampler.running():
                result = asyncio.run(measure_rate(urls, names["EVENTS_EXCHANGE"], dsn, sink, rate, args.seconds, first,
                                                  args.answer_timeout))
            elapsed = time.monotonic() - started
            result.rss_kib = sampler.peaks.get(str(rate), {name: status_kib(pid, "VmRSS") for name, pid in pids.items()})
            result.cpu_seconds = {name: _cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            result.cpu = {name: used / elapsed for name, used in result.cpu_seconds.items()}
            results.append(result)
            first += int(rate * args.seconds)
            mailed = [r for r in result.registrations if r.mailed]
            print(f"  {rate}/s: {len(result.registrations)} sent, {len(mailed)} mailed; "
                  f"request → mail p99 {ms([r.mailed - r.scheduled for r in mailed], 0.99)} ms",
                  file=sys.stderr, flush=True)
    return results, ceiling


def _cpu_seconds(pid: int) -> float:
    from footprint import process_cpu

    return process_cpu(pid)



def loop_prefix() -> str:
    """`EVENT_LOOP=…` when set for this run: the services inherit it."""
    loop = os.environ.get("EVENT_LOOP")
    return f"EVENT_LOOP={loop} " if loop else ""

if __name__ == "__main__":
    raise SystemExit(main())
