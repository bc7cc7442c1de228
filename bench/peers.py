"""Our mailer and login next to what users would pick instead, side by side in one run.

    .venv/bin/python bench/peers.py [--events 1000] [--login-seconds 10] [--only mail|login]

Installs the peers into a scratch venv (`var/peers-venv`, from `bench/peers/requirements.txt`
with uv; never the project's dependencies), then:

- mails: the same activation mail (the mailer's own templates, rendered with Jinja2) for
  `--events` registration events, sent by our mailer (`portal-mailer serve`, 1 × 8), a
  Celery worker done right (`bench/peers/celery_worker.py`: RabbitMQ, acks_late,
  prefetch 1, prefork -c 8, smtplib with one reused connection per process) and a
  FastStream consumer (`bench/peers/faststream_worker.py`: 8 subscribers, prefetch 1,
  8 pooled aiosmtplib connections), each against a fresh sink that accepts at once and
  one that waits 50 ms per mail (`mailer_sink.py`). Mails/s from the first event
  published (persistent, confirmed, by this process for all three) to the last mail
  accepted; the bare aiosmtplib loop of `mailer_throughput.py` as the same run's ceiling.
- logins: ours (`portal-auth serve`, measured with `login_throughput.py`'s own functions)
  and FastAPI-Users' JWT login (`bench/peers/fastapi_users_app.py`, its default hasher),
  16 clients each, each as a ratio to its own hasher's verifications/s alone on this
  machine in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aio_pika

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from footprint import free_port
from mailer_probe import MailRun, our_mailer, tree_cpu, tree_rss_kib
from mailer_sink import SinkProcess
from mailer_stack import AMQP_URL, Stack, bench_stack
from mailer_throughput import bare_loop, registrations, rendered, wait_for_mails
from register_to_mail import loop_prefix

PEERS = BENCH / "peers"
VENV = BENCH.parent / "var" / "peers-venv"
UV = BENCH.parent / ".tools" / "bin" / "uv"
CONCURRENCY = 8
SINKS = (0.0, 0.05)
LACKS = {
    "celery": "no outbox, no idempotency record (a redelivery sends again), no dead letters",
    "faststream": "no outbox, no idempotency record, no dead letters",
}


def scratch_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([str(UV), "venv", "-q", str(VENV), "--python", sys.executable], check=True)
    subprocess.run([str(UV), "pip", "install", "-q", "-p", str(python), "-r", str(PEERS / "requirements.txt")],
                   check=True)
    return python


# --- mails -----------------------------------------------------------------------------


@dataclass
class MailRow:
    system: str
    sink_delay: float
    mails_per_second: float
    cpu_ms_per_mail: float = float("nan")  # the sending side's processes
    rss_mib: float = float("nan")


def celery_message(payload: dict) -> aio_pika.Message:
    """A task message in Celery's protocol 2, as `send_activation.delay(payload)` sends it."""
    task_id = str(uuid.uuid4())
    body = json.dumps([[payload], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}])
    return aio_pika.Message(
        body.encode(), content_type="application/json", content_encoding="utf-8",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT, correlation_id=task_id,
        headers={"lang": "py", "task": "send_activation", "id": task_id, "root_id": task_id, "parent_id": None,
                 "group": None, "retries": 0, "eta": None, "expires": None, "timelimit": [None, None],
                 "argsrepr": "(...)", "kwargsrepr": "{}", "origin": "bench"},
    )


def plain_message(payload: dict) -> aio_pika.Message:
    return aio_pika.Message(json.dumps(payload).encode(), content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT)


async def publish_to_queue(queue: str, messages: list[aio_pika.Message]) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for start in range(0, len(messages), 100):
            await asyncio.gather(*(channel.default_exchange.publish(m, queue)
                                   for m in messages[start:start + 100]))


async def wait_for_queue(queue: str, deadline_seconds: float = 60) -> None:
    """Until the worker has declared its queue and consumes from it."""
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(queue, passive=True)
                if declared.declaration_result.consumer_count >= 1:
                    return
            except aio_pika.exceptions.ChannelClosed:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"no consumer on {queue}")


async def delete_queue(queue: str) -> None:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)


def peer_command(system: str, python: Path) -> list[str]:
    if system == "celery":
        return [str(python), "-m", "celery", "-A", "celery_worker", "worker", "-c", str(CONCURRENCY),
                "--pool", "prefork", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                "--without-heartbeat"]
    return [str(python), "faststream_worker.py"]


async def peer_run(system: str, python: Path, sink: SinkProcess, events: int, logs: Path) -> MailRun:
    queue = f"peers-{system}-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "PEER_AMQP_URL": AMQP_URL, "PEER_QUEUE": queue, "SMTP_HOST": sink.host,
           "SMTP_PORT": str(sink.port), "PEER_CONCURRENCY": str(CONCURRENCY)}
    make = celery_message if system == "celery" else plain_message
    with (logs / f"{system}.log").open("ab") as log:
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, never waited on here
            peer_command(system, python), cwd=PEERS, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await wait_for_queue(queue)
        warm = [e.payload.model_dump(mode="json") for e in registrations(2 * CONCURRENCY, f"{system}-warm")]
        await publish_to_queue(queue, [make(p) for p in warm])
        await wait_for_mails(sink, len(warm))
        payloads = [e.payload.model_dump(mode="json") for e in registrations(events, system)]
        messages = [make(p) for p in payloads]
        cpu, started = tree_cpu(worker.pid), time.monotonic()
        await publish_to_queue(queue, messages)
        finished = await wait_for_mails(sink, len(warm) + events)
        cpu, rss = tree_cpu(worker.pid) - cpu, tree_rss_kib(worker.pid)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        await delete_queue(queue)
    return MailRun(events / (finished - started), cpu / events, rss)


async def measure_mails(stack: Stack, python: Path, events: int) -> list[MailRow]:
    rows: list[MailRow] = []
    for delay in SINKS:
        count = events if not delay else 40 * CONCURRENCY
        with SinkProcess(delay) as sink:
            bare, bare_cpu_ms = await bare_loop(
                rendered(registrations(count, f"bare{delay}"), stack), sink, CONCURRENCY
            )
        rows.append(MailRow("bare aiosmtplib loop (ceiling)", delay, bare, bare_cpu_ms))
        runs = {}
        with SinkProcess(delay) as sink:
            runs["our mailer"] = await our_mailer(stack, sink, count, CONCURRENCY, f"ours{delay}")
        for system in ("celery", "faststream"):
            with SinkProcess(delay) as sink:
                runs[system] = await peer_run(system, python, sink, count, stack.log_dir)
        rows += [MailRow(system, delay, run.mails_per_second, run.cpu_per_mail * 1000, run.rss_kib / 1024)
                 for system, run in runs.items()]
        print(f"  sink {delay * 1000:.0f} ms: " + ", ".join(f"{r.system} {r.mails_per_second:.0f}/s"
                                                         for r in rows if r.sink_delay == delay),
              file=sys.stderr, flush=True)
    return rows


def report_mails(rows: list[MailRow]) -> None:
    print(f"\nActivation mails, 1 × {CONCURRENCY} (process × concurrency):\n")
    print("| system | sink | mails/s | vs our mailer | vs bare loop | CPU ms/mail | RSS MiB | what it lacks |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for delay in SINKS:
        of = {r.system: r.mails_per_second for r in rows if r.sink_delay == delay}
        sink = f"waits {delay * 1000:.0f} ms" if delay else "accepts at once"
        order = ["our mailer", "celery", "faststream", "bare aiosmtplib loop (ceiling)"]
        for system in order:
            row = next(r for r in rows if r.sink_delay == delay and r.system == system)
            value = of[system]
            lacks = LACKS.get(system, "outbox, idempotency, dead letters" if system == "our mailer" else "everything")
            label = {"celery": "Celery (acks_late, prefetch 1, smtplib reused)",
                     "faststream": "FastStream (pooled aiosmtplib)"}.get(system, system)
            print(f"| {label} | {sink} | {value:.0f} | {value / of['our mailer']:.2f} "
                  f"| {value / of['bare aiosmtplib loop (ceiling)']:.2f} | {row.cpu_ms_per_mail:.1f} | {row.rss_mib:.0f} "
                  f"| {'keeps: ' if system == 'our mailer' else ''}{lacks} |")


# --- logins ----------------------------------------------------------------------------


@dataclass
class LoginRow:
    system: str
    logins: float
    ceiling: float
    p99_ms: float


async def our_logins(seconds: float, clients: int) -> LoginRow:
    import asyncpg
    from login_throughput import ADMIN, argon2_baseline, prepare, service_logins, wait_healthy

    from portal_shared.migrations import migrate

    name = f"peers_auth_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTH_DATABASE_URL": database_url, "AUTH_PORT": str(port),
           "JWT_KEY_DIR": f"/tmp/{name}", "EVENTS_EXCHANGE": f"{name}.events", "LOG_LEVEL": "WARNING"}
    await migrate(database_url, "auth", "portal_auth")
    server = await asyncio.create_subprocess_exec(str(Path(sys.executable).parent / "portal-auth"), "serve", env=env)
    try:
        await wait_healthy(base)
        await prepare(database_url, clients)
        await service_logins(base, 2, clients)  # warm-up
        ceiling = await argon2_baseline(seconds, clients)
        rate, latencies = await service_logins(base, seconds, clients)
    finally:
        server.terminate()
        await server.wait()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    return LoginRow("ours: portal-auth POST /api/v1/auth/login", rate, ceiling, percentile_ms(latencies))


async def fastapi_users_logins(python: Path, seconds: float, clients: int) -> LoginRow:
    import aiohttp
    import asyncpg
    from login_throughput import ADMIN, PASSWORD

    name = f"peers_fau_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PEER_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"}
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, never waited on here
        [str(python), "fastapi_users_app.py", str(port)], cwd=PEERS, env=env)
    latencies: list[float] = []
    try:
        wait_healthz(base)
        # uvicorn closes a connection idle for 5 s (the hash ceiling is measured between
        # warm-up and the run): the client must not reuse one idle that long.
        connector = aiohttp.TCPConnector(limit=clients, keepalive_timeout=2.0)
        async with aiohttp.ClientSession(connector=connector) as http:
            for i in range(clients):
                async with http.post(f"{base}/auth/register",
                                     json={"email": f"peer{i}@example.de", "password": PASSWORD}) as response:
                    assert response.status == 201, await response.text()
            done = 0

            async def client(i: int, until: float, record: bool) -> None:
                nonlocal done
                form = {"username": f"peer{i}@example.de", "password": PASSWORD}
                while time.perf_counter() < until:
                    sent = time.perf_counter()
                    async with http.post(f"{base}/auth/jwt/login", data=form) as response:
                        assert response.status == 200, await response.text()
                        await response.read()
                    if record:
                        latencies.append(time.perf_counter() - sent)
                        done += 1

            await asyncio.gather(*(client(i, time.perf_counter() + 2, False) for i in range(clients)))
            ceiling = fastapi_users_ceiling(python, seconds)
            started = time.perf_counter()
            await asyncio.gather(*(client(i, started + seconds, True) for i in range(clients)))
            rate = done / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    return LoginRow("FastAPI-Users 15 JWT login (pwdlib argon2id m=64 MiB t=3 p=4)", rate, ceiling,
                    percentile_ms(latencies))


def fastapi_users_ceiling(python: Path, seconds: float) -> float:
    """Its hasher's verifications/s alone: the better of 1 thread (its login verifies on
    the event loop, one at a time) and one thread per CPU."""
    rates = []
    for threads in (1, os.cpu_count() or 2):
        out = subprocess.run([str(python), "fastapi_users_app.py", "--hash-ceiling", str(seconds / 2), str(threads)],
                             cwd=PEERS, check=True, capture_output=True, text=True).stdout
        rates.append(float(out.strip().splitlines()[-1]))
    return max(rates)


def wait_healthz(base: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def percentile_ms(values: list[float], q: float = 0.99) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


def report_logins(rows: list[LoginRow], clients: int) -> None:
    print(f"\nLogins, {clients} clients, each system against its own hasher alone (same run):\n")
    print("| system | logins/s | its hasher alone /s | logins / hash ceiling | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row.system} | {row.logins:.1f} | {row.ceiling:.1f} | **{row.logins / row.ceiling:.2f}** "
              f"| {row.p99_ms:.0f} |")
    ours, peer = rows[0], rows[1]
    print(f"\nratio of ratios (ours / FastAPI-Users): {(ours.logins / ours.ceiling) / (peer.logins / peer.ceiling):.2f}")


async def run(args: argparse.Namespace, python: Path) -> None:
    if args.only in (None, "mail"):
        with tempfile.TemporaryDirectory(prefix="peers-") as logs:
            async with bench_stack(Path(logs)) as stack:
                rows = await measure_mails(stack, python, args.events)
        report_mails(rows)
    if args.only in (None, "login"):
        logins = [await our_logins(args.login_seconds, args.clients),
                  await fastapi_users_logins(python, args.login_seconds, args.clients)]
        report_logins(logins, args.clients)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000, help="mails per run, instant sink")
    parser.add_argument("--login-seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--only", choices=["mail", "login"])
    args = parser.parse_args(argv)
    python = scratch_venv()
    asyncio.run(run(args, python))
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.2f}")
    print(f"command: {loop_prefix()}.venv/bin/python bench/peers.py "
          f"{shlex.join(argv)}".rstrip())
    return 0



if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
