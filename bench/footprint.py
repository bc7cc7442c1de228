"""Memory and CPU of every service, idle and under load: the figures behind the resource
requests and limits in deploy/kubernetes/*.yaml.

    .venv/bin/python bench/footprint.py [--seconds 20] [--connections 32] [--clients 16]

Creates its own database, exchanges and queues (removed at the end), runs each service's
`migrate` as the init container would (peak RSS and CPU from wait4), imports customers,
starts a mail sink (`portal-mailsink`) and `portal-auth`, `portal-faq`, `portal-mailer`
and `portal-web serve` on free ports with the console scripts, as the image does, and
waits for their `/readyz`. Then:

- idle: CPU over `--seconds` with no requests (background loops: outbox relay, consumer,
  maintenance), RSS at the end;
- pages: two `wrk -t1 -c<connections/2>` on the portal (`GET /faq`, which calls the FAQ
  API, and `GET /login`, which writes a session), `--seconds`;
- API reads: two `wrk` on FAQ: `GET /api/v1/faq`, and searches, every one new (random
  words and limits), so FAQ's response cache fills up to FAQ_CACHE_ENTRIES;
- auth: `--clients` aiohttp clients registering (two argon2id hashes each) and as many
  logging in with wrong passwords (one argon2id verification), `--seconds`;
- contact: `--clients` clients sending FAQ's contact form, `--seconds`;
- drain: until no mail for 3 s. Every request of the last two phases is a new address
  (X-Forwarded-For, customer number, e-mail) and becomes mails (a contact request two),
  so the mailer works through them from the auth phase to the end of the drain.

RSS is sampled from /proc/<pid>/status every 100 ms (peak per phase); VmHWM at the end is
the process's high-water mark. CPU is utime + stime from /proc/<pid>/stat per wall
second (1.0 = one core). Everything shares the machine's cores with the load generators.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from portal_devtools.mailsink import free_port

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
BIN = Path(sys.executable).parent
TICKS = os.sysconf("SC_CLK_TCK")
PASSWORD = "Sonne!Wind7Meer"
SERVICES = ("auth", "faq", "mailer", "portal")
PROGRAMS = {"auth": "portal-auth", "faq": "portal-faq", "mailer": "portal-mailer", "portal": "portal-web"}


@dataclass
class Sampler:
    """Peak VmRSS per phase of each process, sampled in a thread."""

    pids: dict[str, int]
    phase: str = "start"
    peaks: dict[str, dict[str, int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(0.1):
            for name, pid in self.pids.items():
                rss = status_kib(pid, "VmRSS")
                peak = self.peaks.setdefault(self.phase, {})
                peak[name] = max(peak.get(name, 0), rss)

    @contextmanager
    def running(self) -> Iterator[None]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()


def status_kib(pid: int, key: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def client_ip(i: int) -> str:
    return f"10.{i // 62500 % 250}.{i // 250 % 250}.{i % 250 + 1}"


def customer_number(i: int) -> str:
    return f"8{i:05d}"


async def admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def delete_amqp(prefix: str) -> None:
    import aio_pika

    from portal_mailer.config import MailerSettings
    from portal_mailer.topology import owned_queue_names

    settings = MailerSettings(**mailer_names(prefix))
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        for queue in owned_queue_names(settings):
            await channel.queue_delete(queue)
        for exchange in (settings.events_exchange, settings.dead_letter_exchange):
            await channel.exchange_delete(exchange)


def mailer_names(prefix: str) -> dict[str, str]:
    return {
        "events_exchange": f"{prefix}.events",
        "dead_letter_exchange": f"{prefix}.dead-letters",
        "mailer_queue": f"{prefix}.mailer.events",
        "mailer_dead_letter_queue": f"{prefix}.mailer.dead-letters",
    }


def run_migrate(program: str, env: dict[str, str]) -> tuple[float, float]:
    """(peak RSS in MiB, CPU seconds) of one `migrate` run."""
    child = subprocess.Popen([str(BIN / program), "migrate"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
    output = child.stdout.read().decode() if child.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{program} migrate failed:\n{output}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{base}/readyz", timeout=2).read()
            return
        except OSError as exc:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base}/readyz not 200 after {timeout:g} s: {exc}") from None
            time.sleep(0.1)


@contextmanager
def process(name: str, command: list[str], env: dict[str, str], scratch: Path) -> Iterator[subprocess.Popen]:
    log_path = scratch / f"{name}.log"
    with log_path.open("wb") as log:
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield child
        except BaseException:
            sys.stderr.write(f"--- {name} ---\n{log_path.read_text(errors='replace')[-4000:]}\n")
            raise
        finally:
            if child.poll() is not None:  # it should still be serving
                sys.stderr.write(f"--- {name} exited early with {child.returncode} ---\n"
                                 f"{log_path.read_text(errors='replace')[-4000:]}\n")
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


# Every request a new search (2-3 words of the FAQ's own vocabulary, a limit of 1-20: far
# more combinations than FAQ_CACHE_ENTRIES) from a new address, so the response cache
# fills to its bound and the per-address limit on uncached searches never applies.
NEW_SEARCHES = """
local words = {"passwort", "vergessen", "registrieren", "aktivierung", "link", "rechnung",
               "konto", "einloggen", "kundennummer", "email", "adresse", "kontakt"}
request = function()
  local q = words[math.random(#words)] .. "+" .. words[math.random(#words)]
  if math.random(2) == 1 then q = q .. "+" .. words[math.random(#words)] end
  local ip = "10." .. math.random(0, 250) .. "." .. math.random(0, 250) .. "." .. math.random(1, 250)
  return wrk.format("GET", "/api/v1/faq/search?q=" .. q .. "&limit=" .. math.random(20), {["X-Forwarded-For"] = ip})
end
"""


def wrk(url: str, connections: int, seconds: int, script: Path | None = None) -> subprocess.Popen:
    extra = ["-s", str(script)] if script else []
    return subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *extra, url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_summary(child: subprocess.Popen) -> str:
    output = child.communicate()[0]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if rps is None or bad:
        raise RuntimeError(f"wrk: {output}")
    return f"{float(rps.group(1)):.0f} req/s"


async def writes(urls: dict[str, str], kinds: tuple[str, ...], clients: int, seconds: float,
                 first: int) -> int:
    """`clients` clients per kind for `seconds`; returns how many requests were answered.
    Request i comes from its own address and uses customer number / e-mail i."""
    import aiohttp

    done = 0
    next_id = iter(range(first, 10**9))
    deadline = time.monotonic() + seconds

    def request(kind: str, i: int) -> tuple[str, dict, int]:
        if kind == "register":
            return f"{urls['auth']}/api/v1/auth/register", {
                "last_name": "Footprint", "customer_number": customer_number(i),
                "email": f"fp{i}@example.de", "password": PASSWORD,
                "accept_terms": True, "accept_privacy": True}, 202
        if kind == "login":
            return f"{urls['auth']}/api/v1/auth/login", {
                "email": f"nobody{i}@example.de", "password": PASSWORD}, 401
        return f"{urls['faq']}/api/v1/contact", {
            "name": "Erika Muster", "email": f"fp{i}@example.de", "subject": "Frage",
            "message": "Wann kommt die nächste Rechnung?"}, 202

    async def client(http: aiohttp.ClientSession, kind: str) -> None:
        nonlocal done
        while time.monotonic() < deadline:
            i = next(next_id)
            url, body, expected = request(kind, i)
            async with http.post(url, json=body, headers={"X-Forwarded-For": client_ip(i)}) as response:
                text = await response.text()
                if response.status != expected:
                    raise RuntimeError(f"{url}: {response.status} {text[:300]}")
            done += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=len(kinds) * clients),
                                     cookie_jar=aiohttp.DummyCookieJar()) as http:
        await asyncio.gather(*(client(http, kind) for kind in kinds for _ in range(clients)))
    return done


async def sent_mails(dsn: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT count(*) FROM mailer.processed_events")
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each phase")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections per phase")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients per kind of write")
    parser.add_argument("--hash-threads", type=int, default=2, help="auth's PASSWORD_HASH_THREADS")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    prefix = f"footprint-{uuid.uuid4().hex[:8]}"
    database = prefix.replace("-", "_")
    dsn = ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}"
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    try:
        with tempfile.TemporaryDirectory() as scratch:
            return measure(args, prefix, dsn, Path(scratch))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        asyncio.run(delete_amqp(prefix))


def measure(args: argparse.Namespace, prefix: str, dsn: str, scratch: Path) -> int:
    names = {key.upper(): value for key, value in mailer_names(prefix).items()}
    base_env = {**os.environ, "AMQP_URL": AMQP_URL, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json",
                "TRUSTED_PROXIES": '["127.0.0.1/32"]', **names}
    database_env = {f"{name.upper()}_DATABASE_URL": dsn for name in SERVICES}
    env = {**base_env, **database_env}
    migrations = {name: run_migrate(PROGRAMS[name], env) for name in SERVICES}

    customers = 5000
    csv = scratch / "customers.csv"
    csv.write_text("customer_number,last_name\n"
                   + "".join(f"{customer_number(i)},Footprint\n" for i in range(customers)))
    subprocess.run([str(BIN / "portal-auth"), "import-customers", str(csv)], env=env, check=True,
                   capture_output=True)

    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    smtp_port = free_port()
    service_env = {
        "auth": {"AUTH_PORT": str(ports["auth"]), "JWT_KEY_DIR": str(scratch / "jwt"),
                 "PASSWORD_HASH_THREADS": str(args.hash_threads)},
        "faq": {"FAQ_PORT": str(ports["faq"]), "CONTACT_MAX_PER_HOUR": "5"},
        "mailer": {"MAILER_PORT": str(ports["mailer"]), "SMTP_PORT": str(smtp_port),
                   "MAILER_CONCURRENCY": "8"},
        "portal": {"PORTAL_PORT": str(ports["portal"]), "PORTAL_BASE_URL": urls["portal"],
                   "AUTH_API_URL": urls["auth"], "FAQ_API_URL": urls["faq"]},
    }
    with ExitStack() as stack:
        stack.enter_context(process("mailsink", [str(BIN / "portal-mailsink"), "--port", str(smtp_port),
                                                 "--folder", str(scratch / "mails")], env, scratch))
        pids = {}
        for name in SERVICES:
            child = stack.enter_context(process(
                name, [str(BIN / PROGRAMS[name]), "serve"], {**env, **service_env[name]}, scratch))
            pids[name] = child.pid
        for name in SERVICES:
            wait_ready(urls[name])
        sampler = Sampler(pids)
        stack.enter_context(sampler.running())
        cpu: dict[str, dict[str, float]] = {}
        notes: dict[str, str] = {}

        @contextmanager
        def phase(name: str) -> Iterator[None]:
            sampler.phase = name
            before = {k: process_cpu(p) for k, p in pids.items()}
            started = time.monotonic()
            yield
            elapsed = time.monotonic() - started
            cpu[name] = {k: (process_cpu(p) - before[k]) / elapsed for k, p in pids.items()}

        time.sleep(3)  # settle after start
        with phase("idle"):
            time.sleep(args.seconds)
        idle_rss = {name: status_kib(pid, "VmRSS") for name, pid in pids.items()}

        half = max(args.connections // 2, 1)
        with phase("pages"):
            runs = [wrk(f"{urls['portal']}/faq", half, args.seconds),
                    wrk(f"{urls['portal']}/login", half, args.seconds)]
            notes["pages"] = "portal GET /faq " + wrk_summary(runs[0]) + ", GET /login " + wrk_summary(runs[1])
        with phase("reads"):
            script = scratch / "searches.lua"
            script.write_text(NEW_SEARCHES)
            runs = [wrk(f"{urls['faq']}/api/v1/faq", half, args.seconds),
                    wrk(urls["faq"], half, args.seconds, script)]
            notes["reads"] = ("faq GET /api/v1/faq " + wrk_summary(runs[0])
                              + ", a new search each time " + wrk_summary(runs[1]))
        with phase("auth"):
            done = asyncio.run(writes(urls, ("register", "login"), args.clients, args.seconds, 0))
            notes["auth"] = (f"{done / args.seconds:.0f} req/s: registrations and failed logins, "
                             f"{args.clients} clients each")
        with phase("contact"):
            done = asyncio.run(writes(urls, ("contact",), args.clients, args.seconds, 10**6))
            notes["contact"] = f"{done / args.seconds:.0f} req/s: faq POST /api/v1/contact, {args.clients} clients"
        with phase("drain"):
            # Until no mail for 3 s (a registration is one mail, a contact request two).
            mails, still_since, deadline = -1, time.monotonic(), time.monotonic() + 300
            while time.monotonic() - still_since < 3 and time.monotonic() < deadline:
                time.sleep(0.5)
                now = asyncio.run(sent_mails(dsn))
                if now != mails:
                    mails, still_since = now, time.monotonic()
            notes["drain"] = f"{mails} mails sent in all by the end"
        high_water = {name: status_kib(pid, "VmHWM") for name, pid in pids.items()}

    mib = 1024
    print(f"\nmachine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.2f}; "
          f"phases of {args.seconds} s, wrk {args.connections} connections, {args.clients} writing clients")
    for name, note in notes.items():
        print(f"  {name}: {note}")
    loads = [p for p in cpu if p != "idle"]
    print("\n| service | migrate: peak RSS, CPU | idle RSS | idle CPU | peak RSS (phase) | VmHWM "
          f"| CPU in cores: {' / '.join(loads)} |")
    print("| --- | --- | ---: | ---: | --- | ---: | --- |")
    for name in SERVICES:
        peak_phase = max(sampler.peaks, key=lambda p: sampler.peaks[p].get(name, 0))
        migrate_rss, migrate_cpu = migrations[name]
        print(f"| {name} | {migrate_rss:.0f} MiB, {migrate_cpu:.2f} s | {idle_rss[name] / mib:.0f} MiB "
              f"| {cpu['idle'][name] * 1000:.0f} m | {sampler.peaks[peak_phase][name] / mib:.0f} MiB "
              f"({peak_phase}) | {high_water[name] / mib:.0f} MiB "
              f"| {' / '.join(f'{cpu[p][name]:.2f}' for p in loads)} |")
    print("\ncommand: .venv/bin/python bench/footprint.py " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
