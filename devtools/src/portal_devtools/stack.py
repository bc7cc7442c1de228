"""`portal-dev` (`make dev`): the whole stack on this machine, stopped cleanly by Ctrl-C.

Migrates the four services, seeds a demo customer into an empty customer table, starts a
local mail sink unless SMTP_HOST points elsewhere, then runs auth, mailer, FAQ and the
portal as child processes with their output prefixed by name. The portal serves where
PORTAL_BASE_URL points (http://localhost:8080), so the links in mails open its pages.

`portal-dev reset` (`make reset-dev`) drops the development database and the stored
mails, so the walk-through can start again from nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg

from portal_devtools.mailsink import MailSink, print_mail
from portal_shared.settings import DEFAULT_DATABASE_URL

DEMO_CUSTOMERS = "customer_number,last_name\n10001,Mustermann\n"
READY_TIMEOUT = 60
STOP_TIMEOUT = 20


@dataclass(frozen=True)
class Program:
    name: str
    port_variable: str
    default_port: int
    database_variable: str

    @property
    def executable(self) -> str:
        return str(Path(sys.executable).parent / f"portal-{self.name}")

    @property
    def label(self) -> str:
        return "portal" if self.name == "web" else self.name

    def port(self, env: dict[str, str]) -> int:
        return int(env.get(self.port_variable, self.default_port))


PROGRAMS = (
    Program("auth", "AUTH_PORT", 8081, "AUTH_DATABASE_URL"),
    Program("mailer", "MAILER_PORT", 8083, "MAILER_DATABASE_URL"),
    Program("faq", "FAQ_PORT", 8082, "FAQ_DATABASE_URL"),
    Program("web", "PORTAL_PORT", 8080, "PORTAL_DATABASE_URL"),
)
MAILS = Path("var/mails")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="portal-dev",
        description="Run the whole stack on this machine (make dev); Ctrl-C stops all of it.",
    )
    parser.add_argument(
        "action", nargs="?", choices=["reset"],
        help="instead: drop the development database and the stored mails (make reset-dev)",
    )
    args = parser.parse_args(argv)
    env = dict(os.environ)
    if args.action == "reset":
        return asyncio.run(reset(env))
    try:
        return asyncio.run(run_stack(env))
    except KeyboardInterrupt:
        return 0


async def reset(env: dict[str, str]) -> int:
    """Drop the development database(s) and the stored mails."""
    for database_url in {env.get(p.database_variable, DEFAULT_DATABASE_URL) for p in PROGRAMS}:
        base, _, name = database_url.rpartition("/")
        name = name.split("?")[0]
        conn = await asyncpg.connect(f"{base}/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        print(f"portal-dev: dropped database {name}")
    if MAILS.is_dir():
        for mail in MAILS.glob("*.eml"):
            mail.unlink()
        print(f"portal-dev: removed the mails in {MAILS}/")
    return 0


def _wire_portal(env: dict[str, str]) -> None:
    """The portal serves at PORTAL_BASE_URL and calls the local APIs, which believe the
    customer's address it forwards (it is their only proxy here)."""
    if "PORTAL_BASE_URL" not in env and env.get("PORTAL_PORT"):
        # Only the port moved (8080 taken): the links in mails must follow it.
        env["PORTAL_BASE_URL"] = f"http://localhost:{env['PORTAL_PORT']}"
    base = urlsplit(env.setdefault("PORTAL_BASE_URL", "http://localhost:8080"))
    if base.hostname not in ("localhost", "127.0.0.1"):
        raise SystemExit("portal-dev: PORTAL_BASE_URL must point at this machine (localhost)")
    base_port = str(base.port or 80)
    if env.setdefault("PORTAL_PORT", base_port) != base_port:
        raise SystemExit(
            f"portal-dev: PORTAL_PORT={env['PORTAL_PORT']} but PORTAL_BASE_URL={env['PORTAL_BASE_URL']}: "
            "the links in mails would not reach the portal; set one of them, or both alike"
        )
    ports = {p.name: p.port(env) for p in PROGRAMS}
    env.setdefault("AUTH_API_URL", f"http://127.0.0.1:{ports['auth']}")
    env.setdefault("FAQ_API_URL", f"http://127.0.0.1:{ports['faq']}")
    env.setdefault("TRUSTED_PROXIES", '["127.0.0.1/32", "::1/128"]')


async def run_stack(env: dict[str, str]) -> int:
    _wire_portal(env)
    sink = _start_mail_sink(env)
    children: list[asyncio.subprocess.Process] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for database_url in {env.get(p.database_variable, DEFAULT_DATABASE_URL) for p in PROGRAMS}:
            await _ensure_database(database_url)
        for program in PROGRAMS:
            await _run_to_completion([program.executable, "migrate"], env)
        await _seed_demo_customer(env)
        for program in PROGRAMS:
            children.append(await _spawn(program, env))
        await _wait_until_ready(env, children)
        _print_banner(env, sink)
        exited = [asyncio.ensure_future(child.wait()) for child in children]
        await asyncio.wait([asyncio.ensure_future(stop.wait()), *exited], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            print("portal-dev: a service stopped; shutting the stack down", file=sys.stderr)
            return 1
        return 0
    finally:
        print("\nportal-dev: stopping …", flush=True)
        await _terminate(children)
        if sink is not None:
            sink.stop()
        print("portal-dev: stopped", flush=True)


def _start_mail_sink(env: dict[str, str]) -> MailSink | None:
    if env.get("SMTP_HOST"):
        return None
    # SMTP_PORT (README: Configuration) moves the sink when 1025 is taken.
    port = int(env.get("DEV_MAILSINK_PORT") or env.get("SMTP_PORT") or "1025")
    sink = MailSink("127.0.0.1", port, MAILS, on_mail=print_mail).start()
    env.setdefault("SMTP_SECURITY", "none")
    env["SMTP_HOST"], env["SMTP_PORT"] = sink.host, str(sink.port)
    return sink


async def _ensure_database(database_url: str) -> None:
    """Create the database named in the URL if it does not exist yet (dev convenience)."""
    base, _, name = database_url.rpartition("/")
    name = name.split("?")[0]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
            print(f"portal-dev: created database {name}")
    finally:
        await conn.close()


async def _run_to_completion(argv: list[str], env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(*argv, env=env)
    if await process.wait() != 0:
        raise SystemExit(f"portal-dev: {Path(argv[0]).name} {' '.join(argv[1:])} failed")


async def _seed_demo_customer(env: dict[str, str]) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", encoding="utf-8") as demo:
        demo.write(DEMO_CUSTOMERS)
        demo.flush()
        auth = PROGRAMS[0].executable
        await _run_to_completion([auth, "import-customers", "--if-empty", demo.name], env)


async def _spawn(program: Program, env: dict[str, str]) -> asyncio.subprocess.Process:
    # A session of its own: Ctrl-C reaches only portal-dev, which stops the children in order.
    process = await asyncio.create_subprocess_exec(
        program.executable, "serve",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    asyncio.ensure_future(_prefix_output(program.label, process))
    return process


async def _prefix_output(name: str, process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    async for line in process.stdout:
        print(f"{name:>6} | {line.decode(errors='replace').rstrip()}", flush=True)


async def _wait_until_ready(env: dict[str, str], children: list[asyncio.subprocess.Process]) -> None:
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        for program in PROGRAMS:
            url = f"http://127.0.0.1:{program.port(env)}/readyz"
            while not await _is_ready(http, url):
                if any(c.returncode is not None for c in children):
                    raise SystemExit(f"portal-dev: {program.label} exited during start-up")
                if asyncio.get_running_loop().time() > deadline:
                    raise SystemExit(f"portal-dev: {program.label} not ready after {READY_TIMEOUT}s")
                await asyncio.sleep(0.25)


async def _is_ready(http: aiohttp.ClientSession, url: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    return False


async def _terminate(children: list[asyncio.subprocess.Process]) -> None:
    for child in children:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.wait(), STOP_TIMEOUT)
        except TimeoutError:
            child.kill()
            await child.wait()


def _print_banner(env: dict[str, str], sink: MailSink | None) -> None:
    ports = {p.name: p.port(env) for p in PROGRAMS}
    mail = f"mail sink on {sink.host}:{sink.port}, mails in var/mails/" if sink else f"SMTP {env['SMTP_HOST']}"
    print(
        "\nKundenportal läuft / is running:\n"
        f"  portal  {env['PORTAL_BASE_URL']}  ← open this in your browser (links in mails lead here)\n"
        f"  auth    http://127.0.0.1:{ports['auth']}/api/v1/auth/…\n"
        f"  faq     http://127.0.0.1:{ports['faq']}/api/v1/faq\n"
        f"  mailer  http://127.0.0.1:{ports['mailer']}/readyz\n"
        f"  {mail}\n"
        "  demo customer: Kundennummer 10001, Nachname Mustermann\n"
        "Ctrl-C stops everything; `make reset-dev` starts over with an empty database.\n",
        flush=True,
    )
