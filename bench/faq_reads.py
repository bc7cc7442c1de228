"""FAQ read throughput: `GET /api/v1/faq` against a bare aiohttp handler that returns the
same bytes, measured in the same run, plus the search endpoint (cached and uncached).

    .venv/bin/python bench/faq_reads.py [--duration 10] [--connections 64] [--reads-only]

Creates its own database (dropped at the end), starts `portal-faq serve` and the bare
handler as separate processes, and drives them with `wrk` when it is installed (Debian
package `wrk`) or else with an aiohttp client in a separate process. The ratio is what
to compare between machines; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from portal_devtools.mailsink import free_port

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# ASCII only, so the wrk script needs no URL encoding; a counter makes each one new.
SEARCHES = [
    "passwort vergessen", "aktivierungslink abgelaufen", "cookies aktivieren", "kundennummer",
    "registrieren", "sonderzeichen", "pasword", "wie lange ist der link gueltig",
    "kennwort aendern", "neue zugangsdaten", "browser", "passwortregeln",
]
UNCACHED_SEARCH_LUA = """
local queries = {%s}
local n = 0
request = function()
  n = n + 1
  local q = queries[(n %% #queries) + 1] .. " " .. n
  return wrk.format("GET", "/api/v1/faq/search?q=" .. (q:gsub(" ", "+")))
end
"""


@dataclass
class Result:
    name: str
    requests_per_second: float
    p99_ms: float
    command: str
    # CPU time of the server process per answer: much steadier than requests/s when
    # other work shares the cores.
    cpu_us: float = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--tool", choices=["auto", "wrk", "aiohttp"], default="auto",
                        help="load generator (auto: wrk when installed)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="bare handler, GET and 304 measured this many times, alternating; "
                             "the ratios' medians are reported (the machine's noise shows in "
                             "their spread)")
    parser.add_argument("--reads-only", action="store_true",
                        help="only the bare handler, GET /api/v1/faq and its 304 (no search)")
    parser.add_argument("--baseline", nargs=2, metavar=("PORT", "BODY_FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=4, metavar=("URL", "CONNECTIONS", "SECONDS", "ETAG"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        return serve_baseline(int(args.baseline[0]), Path(args.baseline[1]))
    if args.load:
        return generate_load(args.load[0], int(args.load[1]), float(args.load[2]), args.load[3])
    return run(args.duration, args.connections, args.tool, args.reads_only, args.rounds)


# --- the run -------------------------------------------------------------------------


def run(duration: int, connections: int, tool: str, reads_only: bool = False,
        rounds: int = 1) -> int:
    database = f"faq_bench_{uuid.uuid4().hex[:8]}"
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    asyncio.run(create_database(database, dsn))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            faq_port, baseline_port = free_port(), free_port()
            faq_env = {**os.environ, "FAQ_DATABASE_URL": dsn, "FAQ_PORT": str(faq_port),
                       "SEARCH_MAX_PER_MINUTE": "1000000", "LOG_LEVEL": "WARNING"}
            with process([sys.executable, "-m", "portal_faq.cli", "serve"], faq_env) as server:
                faq = f"http://127.0.0.1:{faq_port}"
                wait_until_up(f"{faq}/healthz")
                with urllib.request.urlopen(f"{faq}/api/v1/faq") as answer:
                    body, etag = answer.read(), answer.headers["ETag"]
                body_file = Path(scratch) / "faq.json"
                body_file.write_bytes(body)
                baseline_cmd = [sys.executable, __file__, "--baseline", str(baseline_port),
                                str(body_file)]
                with process(baseline_cmd, dict(os.environ)) as bare:
                    baseline = f"http://127.0.0.1:{baseline_port}"
                    wait_until_up(f"{baseline}/")
                    lua = Path(scratch) / "searches.lua"
                    quoted = ", ".join(f'"{q}"' for q in SEARCHES)
                    lua.write_text(UNCACHED_SEARCH_LUA % quoted)
                    load = Load(duration, connections, lua, tool)
                    trios = [
                        [
                            load.measure("bare aiohttp, same bytes", f"{baseline}/", bare.pid),
                            load.measure("GET /api/v1/faq", f"{faq}/api/v1/faq", server.pid),
                            load.measure("GET /api/v1/faq, 304", f"{faq}/api/v1/faq",
                                         server.pid, etag=etag),
                        ]
                        for _ in range(rounds)
                    ]
                    results = list(trios[-1])  # a copy: the search rows are not a round's
                    if not reads_only:
                        results += [
                            load.measure("search, repeated query",
                                         f"{faq}/api/v1/faq/search?q=passwort+vergessen",
                                         server.pid),
                            load.measure("search, every query new",
                                         f"{faq}/api/v1/faq/search", server.pid,
                                         vary_search=True),
                        ]
        report(results, len(body), duration, connections, load.tool)
        if rounds > 1:
            report_rounds(trios)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return 0


def report(results: list[Result], body_size: int, duration: int, connections: int, tool: str) -> None:
    baseline = results[0].requests_per_second
    print(f"\nFAQ reads: {connections} connections, {duration} s each, {tool}, "
          f"{os.cpu_count()} CPUs, response {body_size} bytes\n")
    bare_cpu = results[0].cpu_us
    print(f"| {'target':<28} | {'requests/s':>10} | {'p99 ms':>7} | {'vs bare':>7} "
          f"| {'CPU µs/req':>10} | {'CPU ratio':>9} |")
    print(f"|{'-' * 30}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * 12}|{'-' * 11}|")
    for r in results:
        ratio = r.requests_per_second / baseline if baseline else 0.0
        cpu_ratio = bare_cpu / r.cpu_us if r.cpu_us else 0.0
        print(f"| {r.name:<28} | {r.requests_per_second:>10.0f} | {r.p99_ms:>7.2f} | {ratio:>7.2f} "
              f"| {r.cpu_us:>10.0f} | {cpu_ratio:>9.2f} |")
    print("\nload commands:")
    for r in results:
        print(f"  {r.command}")


def report_rounds(trios: list[list[Result]]) -> None:
    """Each round's ratios to the bare handler of the same round, and their medians."""
    print(f"\n{len(trios)} rounds, alternating (bare, GET, 304):\n")
    print("| round | bare req/s | bare CPU µs | GET CPU µs | GET CPU ratio | GET req/s ratio "
          "| 304 CPU µs | 304 CPU ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    get_ratios, not_modified_ratios, rate_ratios = [], [], []
    for number, (bare, get, not_modified) in enumerate(trios, 1):
        get_ratios.append(bare.cpu_us / get.cpu_us)
        not_modified_ratios.append(bare.cpu_us / not_modified.cpu_us)
        rate_ratios.append(get.requests_per_second / bare.requests_per_second)
        print(f"| {number} | {bare.requests_per_second:.0f} | {bare.cpu_us:.1f} | {get.cpu_us:.1f} "
              f"| {get_ratios[-1]:.2f} | {rate_ratios[-1]:.2f} | {not_modified.cpu_us:.1f} "
              f"| {not_modified_ratios[-1]:.2f} |")
    print(f"\nmedian CPU ratio to the bare handler: GET {statistics.median(get_ratios):.2f} "
          f"(min {min(get_ratios):.2f}, max {max(get_ratios):.2f}), "
          f"304 {statistics.median(not_modified_ratios):.2f}; "
          f"median requests/s ratio GET {statistics.median(rate_ratios):.2f}")


# --- load generation -----------------------------------------------------------------


class Load:
    def __init__(self, duration: int, connections: int, search_script: Path, tool: str) -> None:
        self.duration = duration
        self.connections = connections
        self.search_script = search_script
        self.wrk = shutil.which("wrk") if tool in ("auto", "wrk") else None
        if tool == "wrk" and self.wrk is None:
            raise SystemExit("wrk is not installed (apt-get install wrk)")
        # A Python client saturates before the server does, so its ratio flatters the
        # server; wrk is the reference.
        self.tool = "wrk" if self.wrk else "aiohttp client (the client is the bottleneck)"

    def measure(
        self, name: str, url: str, pid: int, vary_search: bool = False, etag: str | None = None
    ) -> Result:
        """`pid`: the server answering (its CPU time is read); `etag`: sent as
        If-None-Match, so every answer is a 304."""
        self._warm_up(url)
        cpu_before = cpu_seconds(pid)
        if self.wrk:
            threads = 1  # two cores: one for the server, one for the load
            command = [self.wrk, f"-t{threads}", f"-c{self.connections}", f"-d{self.duration}s",
                       "--latency"]
            if vary_search:
                command += ["-s", str(self.search_script)]
            if etag is not None:
                command += ["-H", f"If-None-Match: {etag}"]
            command.append(url)
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rps, p99 = parse_wrk(output)
        else:
            target = f"{url}?q=" if vary_search else url
            command = [sys.executable, __file__, "--load", target, str(self.connections),
                       str(self.duration), etag or "-"]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            measured = json.loads(output)
            rps, p99 = measured["requests_per_second"], measured["p99_ms"]
        cpu = cpu_seconds(pid) - cpu_before
        return Result(name, rps, p99, " ".join(command), cpu / (rps * self.duration) * 1e6)

    def _warm_up(self, url: str) -> None:
        # The first read fills the FAQ's cache and the connection pool; not measured.
        first = f"{url}?q=warm" if url.endswith("/search") else url
        for _ in range(3):
            urllib.request.urlopen(first).read()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_wrk(output: str) -> tuple[float, float]:
    throughput = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latency = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if throughput is None or latency is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    rps = float(throughput.group(1))
    value, unit = latency.groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def generate_load(url: str, connections: int, seconds: float, etag: str = "-") -> int:
    """The fallback load generator: `connections` clients in a loop; prints JSON.
    `etag` other than "-" goes out as If-None-Match (and 304 is the expected answer)."""
    import aiohttp

    headers = {"If-None-Match": etag} if etag != "-" else {}
    expected = 304 if headers else 200

    async def client(session: aiohttp.ClientSession, deadline: float, latencies: list[float],
                     worker: int) -> None:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            target = url
            if url.endswith("?q="):
                target = url + f"{SEARCHES[n % len(SEARCHES)]} {worker}-{n}".replace(" ", "+")
            started = time.perf_counter()
            async with session.get(target, headers=headers) as response:
                await response.read()
                assert response.status == expected
            latencies.append(time.perf_counter() - started)

    async def drive() -> dict[str, float]:
        latencies: list[float] = []
        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(connector=connector) as session:
            deadline = time.monotonic() + seconds
            started = time.monotonic()
            await asyncio.gather(*(client(session, deadline, latencies, w)
                                   for w in range(connections)))
            elapsed = time.monotonic() - started
        latencies.sort()
        return {"requests_per_second": len(latencies) / elapsed,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}

    print(json.dumps(asyncio.run(drive())))
    return 0


# --- the bare handler ------------------------------------------------------------------


def serve_baseline(port: int, body_file: Path) -> int:
    from aiohttp import web

    body = body_file.read_bytes()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/", handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
    return 0


# --- processes and the database --------------------------------------------------------


@contextmanager
def process(command: list[str], env: dict[str, str]):  # type: ignore[no-untyped-def]
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # polling a starting process; nothing to wait on instead


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(name: str, dsn: str) -> None:
    from portal_faq.config import SCHEMA
    from portal_faq.seed import load_seed_if_empty
    from portal_shared.migrations import migrate

    await admin(f'CREATE DATABASE "{name}"')
    await migrate(dsn, SCHEMA, "portal_faq")
    await load_seed_if_empty(dsn)


if __name__ == "__main__":
    raise SystemExit(main())
