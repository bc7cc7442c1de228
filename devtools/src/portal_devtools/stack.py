"""`portal-dev` (`make dev`): the whole stack on this machine, stopped cleanly by Ctrl-C.

Migrates the three services, seeds a demo customer into an empty customer table, starts a
local mail sink unless SMTP_HOST points elsewhere, then runs auth, mailer and FAQ as child
processes with their output prefixed by name.
"""

from __future__ import annotations

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
from aiohttp import web

from portal_devtools.mailsink import MailSink, print_mail
from portal_devtools.portal_page import create_portal_page
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

    def port(self, env: dict[str, str]) -> int:
        return int(env.get(self.port_variable, self.default_port))


PROGRAMS = (
    Program("auth", "AUTH_PORT", 8081, "AUTH_DATABASE_URL"),
    Program("mailer", "MAILER_PORT", 8083, "MAILER_DATABASE_URL"),
    Program("faq", "FAQ_PORT", 8082, "FAQ_DATABASE_URL"),
)


def main() -> int:
    try:
        return asyncio.run(run_stack(dict(os.environ)))
    except KeyboardInterrupt:
        return 0


async def run_stack(env: dict[str, str]) -> int:
    sink = _start_mail_sink(env)
    children: list[asyncio.subprocess.Process] = []
    page: web.AppRunner | None = None
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
        page = await _start_portal_page(env)
        _print_banner(env, sink)
        exited = [asyncio.ensure_future(child.wait()) for child in children]
        await asyncio.wait([asyncio.ensure_future(stop.wait()), *exited], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            print("portal-dev: a service stopped; shutting the stack down", file=sys.stderr)
            return 1
        return 0
    finally:
        print("\nportal-dev: stopping …", flush=True)
        if page is not None:
            await page.cleanup()
        await _terminate(children)
        if sink is not None:
            sink.stop()
        print("portal-dev: stopped", flush=True)


async def _start_portal_page(env: dict[str, str]) -> web.AppRunner | None:
    """Serve the stand-in portal page where PORTAL_BASE_URL points, if that is this machine."""
    base = urlsplit(env.get("PORTAL_BASE_URL", "http://localhost:8080"))
    if base.hostname not in ("localhost", "127.0.0.1"):
        return None
    ports = {p.name: p.port(env) for p in PROGRAMS}
    runner = web.AppRunner(
        create_portal_page(f"http://127.0.0.1:{ports['auth']}", f"http://127.0.0.1:{ports['faq']}")
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", base.port or 80).start()
    except OSError as exc:
        await runner.cleanup()
        # Mailed links lead there: a stack without it would send dead links.
        raise SystemExit(f"portal-dev: cannot serve the portal page on port {base.port}: {exc.strerror}") from None
    return runner


def _start_mail_sink(env: dict[str, str]) -> MailSink | None:
    if env.get("SMTP_HOST"):
        return None
    port = int(env.get("DEV_MAILSINK_PORT", "1025"))
    sink = MailSink("127.0.0.1", port, Path("var/mails"), on_mail=print_mail).start()
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
    asyncio.ensure_future(_prefix_output(program.name, process))
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
                    raise SystemExit(f"portal-dev: {program.name} exited during start-up")
                if asyncio.get_running_loop().time() > deadline:
                    raise SystemExit(f"portal-dev: {program.name} not ready after {READY_TIMEOUT}s")
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
        f"  portal  {env.get('PORTAL_BASE_URL', 'http://localhost:8080')} (links in mails lead here)\n"
        f"  auth    http://127.0.0.1:{ports['auth']}/api/v1/auth/…\n"
        f"  faq     http://127.0.0.1:{ports['faq']}/api/v1/faq\n"
        f"  mailer  http://127.0.0.1:{ports['mailer']}/readyz\n"
        f"  {mail}\n"
        "  demo customer: 10001 / Mustermann\n"
        "Ctrl-C stops everything.\n",
        flush=True,
    )
