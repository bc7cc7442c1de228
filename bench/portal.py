"""The web portal against the APIs it calls, measured in the same run: its pages against
the FAQ API's own `GET /api/v1/faq`, and a full login through the portal against auth's
`POST /api/v1/auth/login` alone.

    .venv/bin/python bench/portal.py [--duration 10] [--connections 64] [--login-seconds 10]
                                     [--clients 16] [--rounds 3] [--only pages|login]

Creates its own database and events exchange (both removed at the end), applies the
migrations with the console scripts (`portal-auth migrate`, `portal-faq migrate`,
`portal-web migrate`), imports one customer per login client with
`portal-auth import-customers`, starts `portal-auth serve`, `portal-faq serve` and
`portal-web serve` as separate processes on free ports, waits for their `/readyz`, and
registers and activates one account per client through the auth API (the activation
token is read from the `registration-created` event on a queue bound to the run's own
exchange, as the mailer would get it).

Every measurement is repeated `--rounds` times, each round starting with its baseline;
the report gives medians and the range of the per-round ratios (the machine is shared).

Pages: `wrk` (one thread, so one core is left to the services), 64 connections, the
same duration for every target. Besides requests/s and p99 it reports the CPU each
process spent per request (utime + stime from /proc, PostgreSQL: the backends of the
bench database), which says where the portal's extra time goes and is much less
disturbed by other work on the machine than requests/s. Rows marked "what if" run a
second portal process with a bench-only patch (nothing in the portal's code changes):
FAQ answers revalidated with `If-None-Match`; API answers reused for the `max-age` they
carry (the FAQ's and the password policy); asyncpg's pool reset query turned off. It
also times the parts alone in this process (template rendering, JSON, one upstream GET,
session INSERT/SELECT).

Logins: `--clients` aiohttp clients in this process, one account and one
`X-Forwarded-For` address each (auth and the portal trust 127.0.0.1): auth's API alone,
then through the portal (GET /login for the cookie and the CSRF token, POST /login
form-encoded, expect 303 to /konto with a new session cookie).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from portal_devtools.mailsink import free_port

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PASSWORD = "Sonne!Wind7Meer"
COOKIE = "portal_session"  # PORTAL_BASE_URL is http:// here, so no __Host- prefix
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")


def client_ip(i: int) -> str:
    return f"10.77.{i // 250}.{i % 250 + 1}"


def email(i: int) -> str:
    return f"bench{i}@example.de"


def customer_number(i: int) -> str:
    return f"7{i:04d}"


# --- the run ---------------------------------------------------------------------------


@dataclass
class Stack:
    database: str
    dsn: str
    exchange: str
    scratch: Path
    auth: str = ""
    faq: str = ""
    portal: str = ""
    pids: dict[str, int] = field(default_factory=dict)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--login-seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16, help="concurrent login clients")
    parser.add_argument("--rounds", type=int, default=3,
                        help="repeat every measurement; the report takes medians (the machine is shared)")
    parser.add_argument("--only", choices=["pages", "login"])
    parser.add_argument("--what-if-portal", choices=["revalidate", "fresh", "no-reset"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.what_if_portal:
        return serve_portal_what_if(args.what_if_portal)
    if args.only != "login" and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as scratch:
        stack = Stack(name, ADMIN_DSN.rsplit("/", 1)[0] + f"/{name}", f"{name}.events", Path(scratch))
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        try:
            return run(stack, args)
        finally:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            asyncio.run(delete_exchange(stack.exchange))


def run(stack: Stack, args: argparse.Namespace) -> int:
    accounts = max(args.clients, 1)
    load_before = os.getloadavg()[0]
    migrate(stack)
    import_customers(stack, accounts)
    common = {**os.environ, "AMQP_URL": AMQP_URL, "EVENTS_EXCHANGE": stack.exchange,
              "TRUSTED_PROXIES": '["127.0.0.1/32"]', "LOG_LEVEL": "WARNING"}
    auth_port, faq_port, portal_port = free_port(), free_port(), free_port()
    stack.auth, stack.faq, stack.portal = (f"http://127.0.0.1:{p}" for p in (auth_port, faq_port, portal_port))
    auth_env = {**common, "AUTH_DATABASE_URL": stack.dsn, "AUTH_PORT": str(auth_port),
                "JWT_KEY_DIR": str(stack.scratch / "jwt")}
    faq_env = {**common, "FAQ_DATABASE_URL": stack.dsn, "FAQ_PORT": str(faq_port)}
    portal_env = {**common, "PORTAL_DATABASE_URL": stack.dsn, "PORTAL_PORT": str(portal_port),
                  "PORTAL_BASE_URL": stack.portal, "AUTH_API_URL": stack.auth, "FAQ_API_URL": stack.faq}
    with (
        service("auth", [str(BIN / "portal-auth"), "serve"], auth_env, stack),
        service("faq", [str(BIN / "portal-faq"), "serve"], faq_env, stack),
        service("portal", [str(BIN / "portal-web"), "serve"], portal_env, stack),
    ):
        for base in (stack.auth, stack.faq, stack.portal):
            wait_ready(base)
        page_results = login_results = None
        if args.only != "login":
            page_results = measure_pages(stack, portal_env, args.duration, args.connections, args.rounds)
        if args.only != "pages":
            asyncio.run(create_accounts(stack, accounts))
            login_results = asyncio.run(measure_logins(stack, args.login_seconds, args.clients, args.rounds))
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} before the run, "
          f"{os.getloadavg()[0]:.2f} after (other work on the machine shows up as noise)")
    if page_results:
        report_pages(*page_results, args.duration, args.connections)
    if login_results:
        report_logins(login_results, args.login_seconds, args.clients)
    print("\ncommand: .venv/bin/python bench/portal.py " + " ".join(sys.argv[1:]))
    return 0


# --- pages (wrk) -------------------------------------------------------------------------


@dataclass
class PageResult:
    name: str
    requests_per_second: float
    p99_ms: float
    command: str
    cpu_us: dict[str, float]  # process -> CPU microseconds per request
    portal: str = "portal"  # which process is the portal for this target
    baseline: bool = False


def measure_pages(stack: Stack, portal_env: dict[str, str], duration: int, connections: int,
                  rounds: int) -> tuple[list[list[PageResult]], dict[str, float], dict[str, int]]:
    """`rounds` times every target, one after the other, each round starting with the
    baseline; the report takes medians over the rounds."""
    faq_api = f"{stack.faq}/api/v1/faq"
    session_cookie = first_session(stack.portal)
    etag = urllib.request.urlopen(faq_api).headers["ETag"]
    load = Wrk(stack, duration, connections)
    with contextlib.ExitStack() as what_ifs:
        what_if = {}
        for mode in ("revalidate", "fresh", "no-reset"):
            port = free_port()
            env = {**portal_env, "PORTAL_PORT": str(port)}
            what_ifs.enter_context(
                service(f"portal-{mode}", [sys.executable, __file__, "--what-if-portal", mode], env, stack))
            what_if[mode] = f"http://127.0.0.1:{port}"
        for base in what_if.values():
            wait_ready(base)
        results = []
        for _ in range(rounds):
            results.append([
                load.measure("FAQ API GET /api/v1/faq (baseline)", faq_api, baseline=True),
                load.measure("portal GET /faq", f"{stack.portal}/faq"),
                load.measure("portal GET /login, no cookie", f"{stack.portal}/login"),
                load.measure("portal GET /login, with cookie", f"{stack.portal}/login",
                             header=f"Cookie: {COOKIE}={session_cookie}"),
                load.measure("portal GET /impressum", f"{stack.portal}/impressum"),
                load.measure("portal GET /impressum, with cookie", f"{stack.portal}/impressum",
                             header=f"Cookie: {COOKIE}={session_cookie}"),
                load.measure("portal GET /registrieren, with cookie", f"{stack.portal}/registrieren",
                             header=f"Cookie: {COOKIE}={session_cookie}"),
                load.measure("FAQ API, If-None-Match → 304", faq_api, header=f"If-None-Match: {etag}"),
                load.measure("what if: /faq, revalidated by ETag", f"{what_if['revalidate']}/faq",
                             portal="portal-revalidate"),
                load.measure("what if: /faq, reused for max-age", f"{what_if['fresh']}/faq",
                             portal="portal-fresh"),
                load.measure("what if: /registrieren, policy reused", f"{what_if['fresh']}/registrieren",
                             header=f"Cookie: {COOKIE}={session_cookie}", portal="portal-fresh"),
                load.measure("what if: /login+cookie, no pool reset", f"{what_if['no-reset']}/login",
                             header=f"Cookie: {COOKIE}={session_cookie}", portal="portal-no-reset"),
            ])
    sizes = {
        "FAQ API /api/v1/faq": len(urllib.request.urlopen(faq_api).read()),
        "portal /faq": len(urllib.request.urlopen(f"{stack.portal}/faq").read()),
        "portal /login": len(urllib.request.urlopen(f"{stack.portal}/login").read()),
        "portal /registrieren": len(urllib.request.urlopen(f"{stack.portal}/registrieren").read()),
    }
    return results, asyncio.run(in_process_costs(stack)), sizes


def first_session(portal: str) -> str:
    """One GET /login without a cookie: the session its cookie names is then reused."""
    with urllib.request.urlopen(f"{portal}/login") as response:
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith(f"{COOKIE}="):
                return header.split(";", 1)[0].split("=", 1)[1]
    raise RuntimeError("GET /login set no session cookie")


class Wrk:
    def __init__(self, stack: Stack, duration: int, connections: int) -> None:
        self.stack = stack
        self.duration = duration
        self.connections = connections

    def measure(self, name: str, url: str, header: str | None = None, baseline: bool = False,
                portal: str = "portal") -> PageResult:
        command = ["wrk", "-t1", f"-c{self.connections}", f"-d{self.duration}s", "--latency"]
        if header:
            command += ["-H", header]
        command.append(url)
        # Warm-up, not measured: connection pools, caches, the first template compile.
        subprocess.run([*command[:3], "-d1s", *command[4:]], check=True, capture_output=True)
        before = self._cpu()
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        after = self._cpu()
        rps, p99, count, bad = parse_wrk(output)
        if bad:  # wrk counts statuses of 400 and above
            raise RuntimeError(f"{name}: {bad} responses were not 2xx/3xx:\n{output}")
        cpu = {k: (after.get(k, 0.0) - before.get(k, 0.0)) / count * 1e6 for k in after}
        shown = " ".join(f"'{c}'" if " " in c else c for c in command).replace(url, url_for_readme(url))
        return PageResult(name, rps, p99, shown, cpu, portal, baseline)

    def _cpu(self) -> dict[str, float]:
        """CPU seconds so far of each service process, their PostgreSQL backends (by
        application_name) and of wrk (reaped children)."""
        cpu = {name: process_cpu(pid) for name, pid in self.stack.pids.items()}
        cpu["postgres"] = sum(process_cpu(pid) for pid in backend_pids(self.stack.database))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu["wrk"] = usage.ru_utime + usage.ru_stime
        return cpu


def url_for_readme(url: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", url)


def parse_wrk(output: str) -> tuple[float, float, int, int]:
    throughput = re.search(r"Requests/sec:\s+([\d.]+)", output)
    latency = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    count = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if throughput is None or latency is None or count is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    value, unit = latency.groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return float(throughput.group(1)), p99, int(count.group(1)), int(bad.group(1)) if bad else 0


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime, all threads


def backend_pids(database: str) -> list[int]:
    async def query() -> list[int]:
        import asyncpg

        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    return asyncio.run(query())


async def in_process_costs(stack: Stack) -> dict[str, float]:
    """What parts of a page cost on their own, sequentially in this process (µs each):
    rendering the templates with the context the handlers build, parsing the FAQ JSON,
    one GET to the FAQ API with an aiohttp client, one session insert and lookup."""
    import aiohttp
    import asyncpg
    from aiohttp.test_utils import make_mocked_request

    from portal_shared.web import CORRELATION_ID
    from portal_web.app import create_app
    from portal_web.config import PortalSettings
    from portal_web.context import PortalContext
    from portal_web.domain import session as rules
    from portal_web.keys import CONTEXT, COOKIE_CHANGED, LANGUAGE, SESSION
    from portal_web.pages import legal
    from portal_web.pages.common import form_page
    from portal_web.rendering import render
    from portal_web.repository import sessions as repo

    raw = await asyncio.to_thread(lambda: urllib.request.urlopen(f"{stack.faq}/api/v1/faq").read())
    categories = json.loads(raw)["categories"]
    settings = PortalSettings(portal_base_url=stack.portal)
    app = create_app(settings)
    context = PortalContext(settings=settings, pool=None, apis=None)  # type: ignore[arg-type]
    app[CONTEXT] = context
    costs: dict[str, float] = {}

    def request(path: str, session: rules.Session | None) -> object:
        req = make_mocked_request("GET", path, app=app)
        req[LANGUAGE], req[SESSION], req[COOKIE_CHANGED], req[CORRELATION_ID] = "de", session, False, "bench"
        return req

    async def timed(label: str, make, rounds: int = 2000) -> None:  # type: ignore[no-untyped-def]
        """The best of ten batches, as timeit does: other work on the machine only adds."""
        for _ in range(50):
            await make()
        batches = []
        for _ in range(10):
            started = time.perf_counter()
            for _ in range(rounds // 10):
                await make()
            batches.append((time.perf_counter() - started) / (rounds // 10) * 1e6)
        costs[label] = min(batches)

    session = rules.start(context.clock(), context.lifetime)
    # One mocked request each, made outside the timing (making one costs more than a render).
    faq_page, login_page, imprint_page = request("/faq", None), request("/login", session), request("/impressum", None)
    imprint = legal.page("impressum")
    await timed("render faq.html (handler's context, FAQ API data)",
                lambda: render(faq_page, "faq.html", {"categories": categories}))
    await timed("render login.html (form_page, session present)",
                lambda: form_page(login_page, "login.html", {"next": ""}, notice=None))
    await timed("/impressum handler (Markdown cached, render legal.html)", lambda: imprint(imprint_page))

    async def parse() -> None:
        json.loads(raw)

    await timed("json.loads of the FAQ answer", parse)
    async with aiohttp.ClientSession() as http:
        async def fetch() -> None:
            async with http.get(f"{stack.faq}/api/v1/faq", headers={"Accept-Language": "de"}) as r:
                json.loads(await r.read())

        await timed("GET /api/v1/faq + parse, aiohttp client (wall, incl. FAQ)", fetch, 1000)
    async def no_reset(connection: asyncpg.Connection) -> None:
        pass

    options = {"min_size": 1, "max_size": 1, "server_settings": {"search_path": "portal"}}
    pool = await asyncpg.create_pool(stack.dsn, **options)  # as portal_shared.db.create_pool
    bare = await asyncpg.create_pool(stack.dsn, reset=no_reset, **options)
    try:
        async def insert() -> None:
            await repo.insert(pool, rules.start(context.clock(), context.lifetime))

        async def find() -> None:
            await repo.find(pool, session.id)

        async def find_bare() -> None:
            await repo.find(bare, session.id)

        await repo.insert(pool, session)
        await timed("session INSERT (wall, incl. PostgreSQL commit)", insert, 1000)
        await timed("session SELECT by id (wall)", find, 1000)
        await timed("session SELECT by id, pool without its reset query (wall)", find_bare, 1000)
    finally:
        await pool.close()
        await bare.close()
    return costs


def report_pages(rounds: list[list[PageResult]], costs: dict[str, float], sizes: dict[str, int],
                 duration: int, connections: int) -> None:
    baselines = [r.requests_per_second for r in rounds_of(rounds) if r.baseline]
    baseline = statistics.median(baselines)
    columns = list(zip(*rounds, strict=True))

    def cpu(column: tuple[PageResult, ...], process: str) -> float:
        return statistics.median(r.cpu_us.get(r.portal if process == "portal" else process, 0.0) for r in column)

    def service_cpu(column: tuple[PageResult, ...]) -> float:
        return sum(cpu(column, p) for p in ("portal", "faq", "auth", "postgres"))

    baseline_cpu = service_cpu(columns[0])
    print(f"\nPortal pages: {connections} connections, {duration} s each, wrk -t1, {len(rounds)} rounds "
          f"(medians); baseline per round {', '.join(f'{b:.0f}' for b in baselines)} req/s")
    print("vs API: median req/s / median baseline req/s; range: the per-round ratios.")
    print("CPU per request in µs by process (Pg: the PostgreSQL backends of the bench database);")
    print("svc: portal + FAQ + auth + Pg; CPU ratio: baseline svc / svc (what the ratio is when CPU is the limit)\n")
    head = (f"| {'target':<38} | {'req/s':>6} | {'p99 ms':>6} | {'vs API':>6} | {'range':>9} | "
            f"{'portal':>6} | {'FAQ':>4} | {'auth':>4} | {'Pg':>4} | {'svc':>4} | {'CPU ratio':>9} | {'wrk':>4} |")
    print(head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|")
    for column in columns:
        ratios = [r.requests_per_second / b[0].requests_per_second for r, b in zip(column, rounds, strict=True)]
        rps = statistics.median(r.requests_per_second for r in column)
        spread = "" if column[0].baseline else f"{min(ratios):.2f}–{max(ratios):.2f}"
        print(f"| {column[0].name:<38} | {rps:>6.0f} | "
              f"{statistics.median(r.p99_ms for r in column):>6.1f} | {rps / baseline:>6.2f} | "
              f"{spread:>9} | {cpu(column, 'portal'):>6.0f} | {cpu(column, 'faq'):>4.0f} | "
              f"{cpu(column, 'auth'):>4.0f} | {cpu(column, 'postgres'):>4.0f} | {service_cpu(column):>4.0f} | "
              f"{baseline_cpu / service_cpu(column):>9.2f} | {cpu(column, 'wrk'):>4.0f} |")
    print("\nresponse sizes: " + ", ".join(f"{k} {v} bytes" for k, v in sizes.items()))
    print("\nparts measured alone, sequentially in the bench process (µs each, best of 10 batches):")
    for label, value in costs.items():
        print(f"  {label:<58} {value:>8.0f}")
    print("\nload commands (PORT: the service's port in that run):")
    for r in rounds[0]:
        print(f"  {r.command}")


def rounds_of(rounds: list[list[PageResult]]) -> list[PageResult]:
    return [r for each in rounds for r in each]


# --- logins (aiohttp clients) ------------------------------------------------------------


@dataclass
class LoginResult:
    name: str
    per_second: float
    latencies: list[float]
    cpu_ms: dict[str, float]
    extra: dict[str, list[float]] = field(default_factory=dict)


async def create_accounts(stack: Stack, accounts: int) -> None:
    """Register through auth's API (each from its own address: registration is limited
    per IP), take the activation token from the event, activate."""
    import aiohttp

    from portal_shared.events import decode

    # Bound before the first registration, so no event passes by unseen.
    connection, queue = await bind_events_queue(stack.exchange)
    async with aiohttp.ClientSession() as http:
        async def register(i: int) -> None:
            body = {"last_name": "Bench", "customer_number": customer_number(i), "email": email(i),
                    "password": PASSWORD, "accept_terms": True, "accept_privacy": True}
            async with http.post(f"{stack.auth}/api/v1/auth/register", json=body,
                                 headers={"X-Forwarded-For": client_ip(i)}) as response:
                assert response.status == 202, await response.text()

        await asyncio.gather(*(register(i) for i in range(accounts)))
        tokens: dict[str, str] = {}
        async with asyncio.timeout(60):
            async with queue.iterator() as messages:
                async for message in messages:
                    await message.ack()
                    payload = decode(message.body).payload
                    tokens[payload.email] = payload.activation_token  # type: ignore[attr-defined]
                    if len(tokens) == accounts:
                        break
        await connection.close()

        async def activate(i: int) -> None:
            async with http.post(f"{stack.auth}/api/v1/auth/activate", json={"token": tokens[email(i)]},
                                 headers={"X-Forwarded-For": client_ip(i)}) as response:
                assert response.status == 200, await response.text()

        await asyncio.gather(*(activate(i) for i in range(accounts)))


async def measure_logins(stack: Stack, seconds: float, clients: int, rounds: int) -> list[list[LoginResult]]:
    """`rounds` times: auth's API alone, then the portal, each for `seconds`."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=2 * clients)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        async def api_login(i: int, into: dict[str, list[float]]) -> None:
            async with http.post(f"{stack.auth}/api/v1/auth/login", json={"email": email(i), "password": PASSWORD},
                                 headers={"X-Forwarded-For": client_ip(i)}) as response:
                assert response.status == 200, await response.text()
                await response.read()

        async def portal_login(i: int, into: dict[str, list[float]]) -> None:
            forwarded = {"X-Forwarded-For": client_ip(i)}
            started = time.perf_counter()
            async with http.get(f"{stack.portal}/login", headers=forwarded) as response:
                assert response.status == 200, await response.text()
                page = await response.text()
                cookie = response.cookies[COOKIE].value
            csrf = CSRF_INPUT.search(page)
            assert csrf is not None, "no csrf_token input on /login"
            form = {"email": email(i), "password": PASSWORD, "csrf_token": csrf.group(1), "next": ""}
            posted = time.perf_counter()
            async with http.post(f"{stack.portal}/login", data=form, allow_redirects=False,
                                 headers={**forwarded, "Cookie": f"{COOKIE}={cookie}"}) as response:
                assert response.status == 303, f"{response.status}: {await response.text()}"
                assert response.headers["Location"] == "/konto"
                assert response.cookies[COOKIE].value != cookie  # a new session at login
                await response.read()
            done = time.perf_counter()
            into.setdefault("GET /login", []).append(posted - started)
            into.setdefault("POST /login", []).append(done - posted)

        async def drive(name: str, one, duration: float) -> LoginResult:  # type: ignore[no-untyped-def]
            done, latencies, extra = 0, [], {}
            deadline = time.perf_counter() + duration

            async def client(i: int) -> None:
                nonlocal done
                while time.perf_counter() < deadline:
                    sent = time.perf_counter()
                    await one(i, extra)
                    latencies.append(time.perf_counter() - sent)
                    done += 1

            async def cpu_now() -> dict[str, float]:
                cpu = {k: process_cpu(p) for k, p in stack.pids.items()}
                cpu["postgres"] = sum(process_cpu(p) for p in await async_backend_pids(stack.database))
                cpu["client"] = process_cpu(os.getpid())  # this process: the login clients
                return cpu

            before = await cpu_now()
            started = time.perf_counter()
            await asyncio.gather(*(client(i) for i in range(clients)))
            elapsed = time.perf_counter() - started
            after = await cpu_now()
            cpu = {k: (after[k] - before.get(k, 0.0)) / done * 1000 for k in after}
            return LoginResult(name, done / elapsed, sorted(latencies), cpu,
                               {k: sorted(v) for k, v in extra.items()})

        await drive("warm-up", api_login, 2)
        await drive("warm-up", portal_login, 2)
        results = []
        for _ in range(rounds):
            results.append([
                await drive("auth POST /api/v1/auth/login (baseline)", api_login, seconds),
                await drive("portal GET /login + POST /login → 303", portal_login, seconds),
            ])
        return results


async def async_backend_pids(database: str) -> list[int]:
    return await asyncio.to_thread(backend_pids, database)


def report_logins(rounds: list[list[LoginResult]], seconds: float, clients: int) -> None:
    baselines = [each[0].per_second for each in rounds]
    baseline = statistics.median(baselines)
    columns = list(zip(*rounds, strict=True))

    def cpu(column: tuple[LoginResult, ...], process: str) -> float:
        return statistics.median(r.cpu_ms.get(process, 0.0) for r in column)

    def service_cpu(column: tuple[LoginResult, ...]) -> float:
        return sum(cpu(column, p) for p in ("auth", "portal", "postgres"))

    print(f"\nLogins: {clients} clients, one account and one X-Forwarded-For address each, "
          f"{seconds:g} s each, {len(rounds)} rounds (medians); baseline per round "
          f"{', '.join(f'{b:.1f}' for b in baselines)}/s")
    print("latency: one login (portal: GET /login + POST /login). CPU per login in ms by process;")
    print("svc: auth + portal + Pg; CPU ratio: baseline svc / svc; client: this process's clients\n")
    head = (f"| {'measurement':<40} | {'logins/s':>8} | {'vs API':>6} | {'range':>9} | {'p50 ms':>6} | "
            f"{'p99 ms':>6} | {'auth':>4} | {'portal':>6} | {'Pg':>4} | {'svc':>4} | {'CPU ratio':>9} | "
            f"{'client':>6} |")
    print(head)
    print("|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|")
    for column in columns:
        ratios = [r.per_second / each[0].per_second for r, each in zip(column, rounds, strict=True)]
        rate = statistics.median(r.per_second for r in column)
        latencies = sorted(v for r in column for v in r.latencies)
        spread = "" if column is columns[0] else f"{min(ratios):.2f}–{max(ratios):.2f}"
        print(f"| {column[0].name:<40} | {rate:>8.1f} | {rate / baseline:>6.2f} | {spread:>9} | "
              f"{pct(latencies, 0.5):>6.0f} | {pct(latencies, 0.99):>6.0f} | {cpu(column, 'auth'):>4.1f} | "
              f"{cpu(column, 'portal'):>6.1f} | {cpu(column, 'postgres'):>4.1f} | {service_cpu(column):>4.1f} | "
              f"{service_cpu(columns[0]) / service_cpu(column):>9.2f} | {cpu(column, 'client'):>6.1f} |")
    parts: dict[str, list[float]] = {}
    for each in rounds:
        for part, values in each[1].extra.items():
            parts.setdefault(part, []).extend(values)
    for part, values in parts.items():
        values.sort()
        print(f"  portal, of which {part}: p50 {pct(values, 0.5):.1f} ms, p99 {pct(values, 0.99):.1f} ms")


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(len(values) * q))] * 1000 if values else 0.0


# --- the what-if portal (a bench-only patch of its FAQ client) ---------------------------


def serve_portal_what_if(mode: str) -> int:
    """`portal-web serve` with a bench-only patch. `no-reset`: asyncpg's pool does not
    send its reset query when a connection comes back. The others keep the APIs'
    anonymous GET answers per (API, path, language): `revalidate` asks again every time
    with If-None-Match (answers with an ETag only; a 304 has no body to send or parse);
    `fresh` reuses an answer for the max-age of its Cache-Control without asking (the
    FAQ: 60 s, then revalidated by ETag; auth's password policy: 3600 s)."""
    import aiohttp

    from portal_web import upstream
    from portal_web.cli import main as portal_main

    if mode == "no-reset":
        # asyncpg runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
        # on every connection it takes back; the portal's queries leave nothing to undo.
        import functools

        import asyncpg

        async def no_reset(connection: asyncpg.Connection) -> None:
            pass

        asyncpg.create_pool = functools.partial(asyncpg.create_pool, reset=no_reset)
        return portal_main(["serve"])

    original = upstream.Api.call
    kept: dict[tuple[str, str, str], tuple[float, str | None, upstream.Answer]] = {}

    async def call(self, method, path, caller, body=None, bearer=None, query=None):  # type: ignore[no-untyped-def]
        if method != "GET" or query or bearer:
            return await original(self, method, path, caller, body, bearer, query)
        key = (self.name, path, caller.language)
        hit = kept.get(key)
        if hit and mode == "fresh" and time.monotonic() < hit[0]:
            return hit[2]
        headers = {"X-Forwarded-For": caller.ip, "Accept-Language": caller.language,
                   "X-Request-ID": caller.request_id, "Accept": "application/json"}
        if hit and hit[1]:
            headers["If-None-Match"] = hit[1]
        try:
            async with self._http.get(self._base + path, headers=headers) as response:
                # Read from the case-insensitive headers: dict() keys come out as "Etag".
                etag = response.headers.get("ETag")
                age = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
                fresh_until = time.monotonic() + (int(age.group(1)) if age else 0)
                if response.status == 304 and hit:
                    kept[key] = (fresh_until, hit[1], hit[2])  # still current: fresh again
                    return hit[2]
                raw = await response.read()
                answer = upstream.Answer(response.status, upstream._json_object(raw), dict(response.headers))
        except (TimeoutError, aiohttp.ClientError):
            raise upstream.UpstreamUnavailable(self.name) from None
        if answer.status >= 500:
            raise upstream.UpstreamUnavailable(self.name)
        if answer.status == 200 and (etag or (mode == "fresh" and age)):
            kept[key] = (fresh_until, etag, answer)
        return answer

    upstream.Api.call = call  # type: ignore[method-assign]
    return portal_main(["serve"])


# --- processes, database, broker -------------------------------------------------------


@contextmanager
def service(name: str, command: list[str], env: dict[str, str], stack: Stack) -> Iterator[subprocess.Popen]:
    log = open(stack.scratch / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.pids[name] = child.pid
    try:
        yield child
    except BaseException:
        log.flush()
        sys.stderr.write(f"--- {name} output ---\n{(stack.scratch / f'{name}.log').read_text()}\n")
        raise
    finally:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()
        stack.pids.pop(name, None)


def wait_ready(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/readyz", timeout=2).read()
            return
        except OSError as exc:  # refused while starting, 503 until database/broker answer
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base}/readyz not 200 after {timeout:g} s: {exc}") from None
            time.sleep(0.1)  # polling a starting process; nothing to wait on instead


def migrate(stack: Stack) -> None:
    for program, variable in (("portal-auth", "AUTH_DATABASE_URL"), ("portal-faq", "FAQ_DATABASE_URL"),
                              ("portal-web", "PORTAL_DATABASE_URL")):
        subprocess.run([str(BIN / program), "migrate"], env={**os.environ, variable: stack.dsn},
                       check=True, capture_output=True)


def import_customers(stack: Stack, count: int) -> None:
    csv = stack.scratch / "customers.csv"
    csv.write_text("customer_number,last_name\n" + "".join(f"{customer_number(i)},Bench\n" for i in range(count)))
    subprocess.run([str(BIN / "portal-auth"), "import-customers", str(csv)],
                   env={**os.environ, "AUTH_DATABASE_URL": stack.dsn}, check=True, capture_output=True)


async def bind_events_queue(name: str):  # type: ignore[no-untyped-def]
    import aio_pika

    from portal_shared.amqp import declare_events_exchange
    from portal_shared.topology import RoutingKey

    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    exchange = await declare_events_exchange(channel, name)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, RoutingKey.REGISTRATION_CREATED)
    return connection, queue


async def delete_exchange(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(name)


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
