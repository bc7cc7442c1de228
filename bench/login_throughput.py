"""Logins per second at 16 concurrent clients, against argon2id verification alone.

    .venv/bin/python bench/login_throughput.py [--seconds 10] [--concurrency 16]

Both figures come from the same run on the same machine. The baseline verifies the same
password with the same argon2 parameters on the same number of hashing threads the
service uses; the ratio says how much the service (HTTP, JSON, PostgreSQL, JWT signing,
throttling bookkeeping, audit log) costs beyond the hash. The service runs as its own
process (`portal-auth serve`), the load comes from this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
        for _ in range(200):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("auth service did not start")


async def main(seconds: float, concurrency: int) -> None:
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    database_url = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    port = 18081
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AUTH_DATABASE_URL": database_url, "AUTH_PORT": str(port),
           "JWT_KEY_DIR": f"/tmp/{name}", "EVENTS_EXCHANGE": f"{name}.events", "LOG_LEVEL": "WARNING"}
    await migrate(database_url, "auth", "portal_auth")
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "portal-auth"), "serve", env=env)
    try:
        await wait_healthy(base)
        await prepare(database_url, concurrency)
        await service_logins(base, 2, concurrency)  # warm-up
        baseline = await argon2_baseline(seconds, concurrency)
        service, latencies = await service_logins(base, seconds, concurrency)
    finally:
        server.terminate()
        await server.wait()
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"command: .venv/bin/python bench/login_throughput.py --seconds {seconds:g} --concurrency {concurrency}")
    print(f"machine: {os.cpu_count()} cores; argon2id m={OWASP_PARAMETERS['memory_cost']} KiB "
          f"t={OWASP_PARAMETERS['time_cost']} p={OWASP_PARAMETERS['parallelism']}")
    print(f"{'measurement':<40} {'per second':>12}")
    print(f"{'argon2id verify alone (baseline)':<40} {baseline:>12.1f}")
    print(f"{'POST /api/v1/auth/login (service)':<40} {service:>12.1f}")
    print(f"ratio service / baseline: {service / baseline:.2f}   "
          f"(login latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
