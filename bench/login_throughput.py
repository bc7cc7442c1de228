"""Logins per second at 16 concurrent clients, against argon2id verification alone.

    .venv/bin/python bench/login_throughput.py [--seconds 10] [--concurrency 16] [--rounds 1]
        [--port 18081] [--profile DIR]

Both figures come from the same run on the same machine. The baseline verifies the same
password with the same argon2 parameters on the same number of hashing threads the
service uses; the ratio says how much the service (HTTP, JSON, PostgreSQL, JWT signing,
throttling bookkeeping, audit log) costs beyond the hash. The service runs as its own
process (`portal-auth serve`), the load comes from this one.

`--rounds N` alternates baseline and service N times and reports each round's ratio and
their median: on a machine shared with other work the load drifts, and a ratio of two
neighbouring measurements drifts much less. The auth process's resident memory is
sampled every 100 ms: after start (idle) and its peak under the logins (VmRSS; VmHWM is
the process's high-water mark). `--profile DIR` also records the service under the
first round's load with py-spy (the dev group has it) into `DIR/login.txt`, collapsed
stacks per thread (`bench/profile_summary.py` sums them up as `bench/README.md` shows;
`flamegraph.pl` or speedscope draw them).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

import aiohttp
import asyncpg

from portal_auth.passwords import OWASP_PARAMETERS
from portal_shared.migrations import migrate

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "Sonne!Wind7Meer"


async def argon2_baseline(seconds: float, concurrency: int) -> float:
    from argon2 import PasswordHasher, Type

    hasher = PasswordHasher(type=Type.ID, **OWASP_PARAMETERS)
    stored = hasher.hash(PASSWORD)
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)  # as portal_auth.passwords
    loop = asyncio.get_running_loop()
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await loop.run_in_executor(pool, hasher.verify, stored, PASSWORD)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    pool.shutdown()
    return done / (time.perf_counter() - started)


async def service_logins(base: str, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    done, latencies = 0, []
    deadline = time.perf_counter() + seconds
    async def worker(http: aiohttp.ClientSession, client: int) -> None:
        nonlocal done
        body = {"email": f"bench{client}@example.de", "password": PASSWORD}
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            async with http.post(f"{base}/api/v1/auth/login", json=body) as response:
                assert response.status == 200, await response.text()
                await response.read()
            latencies.append(time.perf_counter() - sent)
            done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(worker(http, i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return done / elapsed, sorted(latencies)


async def prepare(database_url: str, accounts: int) -> None:
    """One active account per client: real load is many customers, and attempts on one
    address are serialised on purpose (brute-force protection)."""
    from argon2 import PasswordHasher, Type

    stored = PasswordHasher(type=Type.ID, **OWASP_PARAMETERS).hash(PASSWORD)
    conn = await asyncpg.connect(database_url)
    for i in range(accounts):
        number, address = f"9{i:04d}", f"bench{i}@example.de"
        await conn.execute("INSERT INTO auth.customers (customer_number, last_name) VALUES ($1, 'Bench')", number)
        await conn.execute(
            "INSERT INTO auth.accounts (id, customer_number, email, email_key, password_hash, status, created_at)"
            " VALUES (gen_random_uuid(), $1, $2, $2, $3, 'active', now())", number, address, stored)
    await conn.close()


async def wait_healthy(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):  # a minute: a busy machine starts it slowly
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("auth service did not start")


class MemorySampler:
    """Resident memory of one process, sampled every 100 ms from /proc (MiB)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def field(self, name: str) -> float:
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.field("VmRSS"))


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of a process (all its threads) or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU seconds spent during one measurement by: the service's event-loop thread, its
    other threads (argon2 and the rest), the PostgreSQL backends of the bench database,
    and this process (the load generator)."""

    def __init__(self, server_pid: int, admin: asyncpg.Connection, database: str) -> None:
        self.server_pid, self.admin, self.database = server_pid, admin, database

    async def snapshot(self) -> dict[str, float]:
        backends = [r["pid"] for r in await self.admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database)]
        postgres = 0.0
        for pid in backends:
            try:
                postgres += cpu_seconds(pid)
            except OSError:  # ended meanwhile
                pass
        loop = cpu_seconds(self.server_pid, self.server_pid)
        return {
            "event loop": loop,
            "other threads": cpu_seconds(self.server_pid) - loop,
            "PostgreSQL": postgres,
            "load generator": cpu_seconds(os.getpid()),
        }


def record_profile(pid: int, seconds: float, directory: Path) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [os.environ.get("PY_SPY", str(Path(sys.executable).parent / "py-spy")), "record", "--pid", str(pid),
         "--duration", str(int(seconds)), "--rate", "200", "--threads", "--nonblocking",
         "--format", "raw", "-o", str(directory / "login.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


async def main(seconds: float, concurrency: int, rounds: int, port: int, profile: Path | None) -> None:
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTH_DATABASE_URL": database_url, "AUTH_PORT": str(port),
           "JWT_KEY_DIR": f"/tmp/{name}", "EVENTS_EXCHANGE": f"{name}.events", "LOG_LEVEL": "WARNING"}
    await migrate(database_url, "auth", "portal_auth")
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "portal-auth"), "serve", env=env)
    ratios, baselines, services, latencies = [], [], [], []
    spent: dict[str, float] = {}
    logins = 0
    try:
        await wait_healthy(base)
        memory = MemorySampler(server.pid)
        idle_rss = memory.field("VmRSS")
        idle_parts = {part: memory.field(part) for part in ("RssAnon", "RssFile")}
        await prepare(database_url, concurrency)
        with memory:
            await service_logins(base, 2, concurrency)  # warm-up
            for round_ in range(rounds):
                baseline = await argon2_baseline(seconds, concurrency)
                spy = record_profile(server.pid, seconds, profile) if profile and round_ == 0 else None
                meter = CpuMeter(server.pid, admin, name)
                before = await meter.snapshot()
                service, round_latencies = await service_logins(base, seconds, concurrency)
                after = await meter.snapshot()
                for part, value in after.items():
                    spent[part] = spent.get(part, 0.0) + value - before[part]
                logins += len(round_latencies)
                if spy is not None:
                    spy.wait()
                baselines.append(baseline)
                services.append(service)
                ratios.append(service / baseline)
                latencies += round_latencies
        high_water = memory.field("VmHWM")
    finally:
        server.terminate()
        await server.wait()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    latencies.sort()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"command: .venv/bin/python bench/login_throughput.py --seconds {seconds:g} "
          f"--concurrency {concurrency} --rounds {rounds}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; argon2id "
          f"m={OWASP_PARAMETERS['memory_cost']} KiB t={OWASP_PARAMETERS['time_cost']} "
          f"p={OWASP_PARAMETERS['parallelism']}")
    print(f"{'round':<6} {'argon2id alone /s':>18} {'POST /login /s':>15} {'ratio':>6}")
    for i, (b, s, r) in enumerate(zip(baselines, services, ratios, strict=True), 1):
        print(f"{i:<6} {b:>18.1f} {s:>15.1f} {r:>6.2f}")
    print(f"ratio service / baseline: median {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f})   "
          f"login latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms")
    print("CPU per login, ms: " + ", ".join(f"{part} {value / logins * 1000:.2f}" for part, value in spent.items()))
    print(f"auth RSS: idle {idle_rss:.0f} MiB (anonymous {idle_parts['RssAnon']:.0f}, files "
          f"{idle_parts['RssFile']:.0f}), peak under logins {memory.peak:.0f} MiB, VmHWM {high_water:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=18081)
    parser.add_argument("--profile", type=Path, default=None, help="directory for py-spy's output")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency, args.rounds, args.port, args.profile))
