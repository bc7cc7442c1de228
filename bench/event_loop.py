"""uvloop against the standard library's loop, every service, in the same run.

    .venv/bin/python bench/event_loop.py [--seconds 5] [--connections 32] [--rounds 2] [--mails 1000]
                                   [--targets faq,auth,portal,portal /faq]

Starts two copies of `portal-auth`, `portal-faq` and `portal-web serve` on one fresh
database, one with `EVENT_LOOP=asyncio`, one with `EVENT_LOOP=uvloop`, and drives each
target with `wrk -t1` for `--seconds`, alternating A and B in every round so both see
the same load (odd rounds start with uvloop, so neither side always goes first). For the
mailer it starts one `portal-mailer serve` (1 × 8) per loop in turn and sends `--mails` activation mails through it to an instant sink
(`mailer_throughput.py`'s machinery).

Reported: requests (mails) per second, and CPU per request of the service process
(utime + stime from /proc), which depends much less on what else runs on the shared
machine than the rate does. Ratio uvloop / asyncio: > 1 for rates, < 1 for CPU is better.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from footprint import (
    AMQP_URL,
    BIN,
    PROGRAMS,
    admin,
    delete_amqp,
    free_port,
    mailer_names,
    process,
    process_cpu,
    run_migrate,
    status_kib,
    wait_ready,
    wrk,
)

LOOPS = ("asyncio", "uvloop")
HTTP_SERVICES = ("auth", "faq", "portal")
TARGETS = {  # service -> path (no session, no argon2: what the loop carries, not the hash)
    "faq": "/api/v1/faq",
    "auth": "/api/v1/auth/password/policy",
    "portal": "/impressum",
    "portal /faq": "/faq",
}


@dataclass
class Sample:
    target: str
    loop: str
    rate: float
    cpu_us: float  # per request (per mail)
    rss_kib: int = 0  # of the service process, right after


def wrk_requests(child: subprocess.Popen) -> tuple[float, int]:
    import re

    output = child.communicate()[0]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rps is None or total is None or "Non-2xx" in output:
        raise RuntimeError(f"wrk: {output}")
    return float(rps.group(1)), int(total.group(1))


def http_round(urls: dict[str, dict[str, str]], pids: dict[str, dict[str, int]], seconds: int,
               connections: int, targets: list[str], uvloop_first: bool) -> list[Sample]:
    samples = []
    for target in targets:
        path, service = TARGETS[target], target.split()[0]
        for loop in reversed(LOOPS) if uvloop_first else LOOPS:  # no side always goes first
            before = process_cpu(pids[loop][service])
            rate, total = wrk_requests(wrk(urls[loop][service] + path, connections, seconds))
            used = process_cpu(pids[loop][service]) - before
            rss = status_kib(pids[loop][service], "VmRSS")
            samples.append(Sample(target, loop, rate, used / total * 1e6, rss))
    return samples


async def mail_round(mails: int, log_dir: Path) -> list[Sample]:
    from mailer_probe import our_mailer
    from mailer_sink import SinkProcess
    from mailer_stack import bench_stack

    samples = []
    async with bench_stack(log_dir) as stack:
        for loop in LOOPS:
            with SinkProcess(0.0) as sink:
                run = await our_mailer(stack, sink, mails, 8, loop, event_loop=loop)
            samples.append(Sample("mailer", loop, run.mails_per_second, run.cpu_per_mail * 1e6, run.rss_kib))
    return samples


def report(samples: list[Sample]) -> None:
    print("\n| service: target | asyncio req/s | uvloop req/s | rate uvloop / asyncio (per round) "
          "| asyncio CPU µs/req | uvloop CPU µs/req | CPU uvloop / asyncio (per round) | RSS MiB asyncio / uvloop |")
    print("|---|---:|---:|---|---:|---:|---|---|")
    for target in [*TARGETS, "mailer"]:
        of = {loop: [s for s in samples if s.target == target and s.loop == loop] for loop in LOOPS}
        if not of["asyncio"] or not of["uvloop"]:
            continue
        rate_ratios = [b.rate / a.rate for a, b in zip(of["asyncio"], of["uvloop"], strict=True)]
        cpu_ratios = [b.cpu_us / a.cpu_us for a, b in zip(of["asyncio"], of["uvloop"], strict=True)]
        label = {"mailer": "mailer: activation mails, 1 × 8 (mails/s)"}.get(target, f"{target.split()[0]}: GET {TARGETS.get(target, '')}")
        print(f"| {label} | {statistics.median(s.rate for s in of['asyncio']):.0f} "
              f"| {statistics.median(s.rate for s in of['uvloop']):.0f} "
              f"| **{statistics.median(rate_ratios):.2f}** ({', '.join(f'{r:.2f}' for r in rate_ratios)}) "
              f"| {statistics.median(s.cpu_us for s in of['asyncio']):.0f} "
              f"| {statistics.median(s.cpu_us for s in of['uvloop']):.0f} "
              f"| **{statistics.median(cpu_ratios):.2f}** ({', '.join(f'{r:.2f}' for r in cpu_ratios)}) "
              f"| {max(s.rss_kib for s in of['asyncio']) / 1024:.0f} / {max(s.rss_kib for s in of['uvloop']) / 1024:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--targets", type=lambda text: text.split(","), default=list(TARGETS),
                        help=f"comma-separated, of: {', '.join(TARGETS)}")
    parser.add_argument("--mails", type=int, default=1000, help="mails per loop and round (0: skip the mailer)")
    args = parser.parse_args()
    prefix = f"loop-{uuid.uuid4().hex[:8]}"
    database = prefix.replace("-", "_")
    dsn = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    dsn = dsn.rsplit("/", 1)[0] + f"/{database}"
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    samples: list[Sample] = []
    load_before = os.getloadavg()[0]
    try:
        with tempfile.TemporaryDirectory() as scratch:
            samples += http_samples(args, prefix, dsn, Path(scratch))
            for _ in range(args.rounds if args.mails else 0):
                samples += asyncio.run(mail_round(args.mails, Path(scratch)))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(delete_amqp(prefix))
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} rounds")
    report(samples)
    print("\ncommand: .venv/bin/python bench/event_loop.py " + " ".join(sys.argv[1:]))
    return 0


def http_samples(args: argparse.Namespace, prefix: str, dsn: str, scratch: Path) -> list[Sample]:
    names = {key.upper(): value for key, value in mailer_names(prefix).items()}
    env = {**os.environ, "AMQP_URL": AMQP_URL, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json", **names,
           **{f"{name.upper()}_DATABASE_URL": dsn for name in HTTP_SERVICES}}
    for name in HTTP_SERVICES:
        run_migrate(PROGRAMS[name], env)
    urls: dict[str, dict[str, str]] = {}
    pids: dict[str, dict[str, int]] = {}
    samples: list[Sample] = []
    with ExitStack() as stack:
        for loop in LOOPS:
            ports = {name: free_port() for name in HTTP_SERVICES}
            urls[loop] = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
            service_env = {
                "auth": {"AUTH_PORT": str(ports["auth"]), "JWT_KEY_DIR": str(scratch / "jwt")},
                "faq": {"FAQ_PORT": str(ports["faq"])},
                "portal": {"PORTAL_PORT": str(ports["portal"]), "PORTAL_BASE_URL": urls[loop]["portal"],
                           "AUTH_API_URL": urls[loop]["auth"], "FAQ_API_URL": urls[loop]["faq"]},
            }
            pids[loop] = {}
            for name in HTTP_SERVICES:
                child = stack.enter_context(process(
                    f"{name}-{loop}", [str(BIN / PROGRAMS[name]), "serve"],
                    {**env, **service_env[name], "EVENT_LOOP": loop}, scratch))
                pids[loop][name] = child.pid
        for loop in LOOPS:
            for url in urls[loop].values():
                wait_ready(url)
        for number in range(args.rounds):
            samples += http_round(urls, pids, args.seconds, args.connections, args.targets, number % 2 == 1)
    return samples


if __name__ == "__main__":
    raise SystemExit(main())
