"""Helpers the tests share: running a service app on a real port, waiting on conditions."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

T = TypeVar("T")


@asynccontextmanager
async def running(app: web.Application) -> AsyncIterator[TestClient]:
    """Serve `app` on a free port (its cleanup_ctx runs as in production) and yield a client."""
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def eventually(
    probe: Callable[[], Awaitable[T]], timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Await `probe` until it returns something truthy; fail at the deadline.

    For conditions that have no notification of their own (a row appearing, a
    connection state); each retry is a check of the condition, not a guess at timing.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class TcpProxy:
    """A TCP relay to a real server that a test can cut and restore.

    `cut()` drops every open connection and refuses new ones, as a broker outage would;
    `restore()` listens again on the same port.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


async def run_command(*argv: str, env: dict[str, str] | None = None) -> CommandResult:
    """Run a console script the way an operator would, without blocking the event loop."""
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return CommandResult(process.returncode, stdout.decode(), stderr.decode())


def console_script(name: str) -> str:
    return str(Path(sys.executable).parent / name)


class ServiceProcess:
    """A service's console script run as a child process, as operators start it (`portal-auth
    serve`, `portal-mailer serve`), configured by environment variables; its log goes to a
    file that `log_tail` shows when a test fails."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log_dir: Path) -> None:
        self.name = name
        self.port = port
        self._argv = argv
        self._env = env
        self.log = log_dir / f"{name}.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self, timeout: float = 45, ready_path: str = "/readyz") -> ServiceProcess:
        """Start and wait until `ready_path` answers 200 (`/readyz`: database and broker
        reachable; `/healthz`: the process serves)."""
        with self.log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self._argv, env=self._env, stdout=log, stderr=asyncio.subprocess.STDOUT,
            )
        await self.start_ready(timeout, ready_path)
        return self

    async def start_ready(self, timeout: float = 45, path: str = "/readyz") -> None:
        async def answers() -> bool:
            assert self._process is not None
            if self._process.returncode is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log_tail()}")
            return await self.status(path) == 200

        await eventually(answers, timeout=timeout, interval=0.2)

    async def status(self, path: str) -> int:
        """The HTTP status of a GET (0 when the process does not answer)."""
        return (await self._get(path))[0]

    async def text(self, path: str) -> str | None:
        status, body = await self._get(path)
        return body if status == 200 else None

    async def _get(self, path: str) -> tuple[int, str]:
        import aiohttp

        try:
            async with aiohttp.ClientSession() as http, http.get(
                f"{self.base_url}{path}", timeout=aiohttp.ClientTimeout(total=5)
            ) as response:
                return response.status, await response.text()
        except (aiohttp.ClientError, TimeoutError):
            return 0, ""

    async def metric(self, name: str) -> float:
        """Sum of a Prometheus metric's samples over all labels."""
        text = await self.text("/metrics")
        assert text is not None, f"{self.name}: /metrics unreachable"
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith((f"{name}{{", f"{name} "))
        )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 20)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
@asynccontextmanager
async def serving(
    program: str, env: Mapping[str, str], port: int, timeout: float = 30
) -> AsyncIterator[str]:
    """`program serve` as a process of its own (`env` over ours), yielding its base URL
    once it answers /healthz; terminated afterwards. A process that exits before it is
    healthy fails at once, with the end of what it wrote to stderr."""
    with tempfile.TemporaryFile() as stderr:
        process = await asyncio.create_subprocess_exec(
            console_script(program), "serve", env={**os.environ, **env},
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
        )
        base = f"http://127.0.0.1:{port}"

        async def healthy(http: aiohttp.ClientSession) -> bool:
            if process.returncode is not None:
                stderr.seek(0)
                said = stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"{program} serve exited with {process.returncode}:\n{said}")
            try:
                async with http.get(f"{base}/healthz") as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        try:
            async with aiohttp.ClientSession() as http:
                await eventually(lambda: healthy(http), timeout=timeout)
            yield base
        finally:
            if process.returncode is None:
                process.terminate()
            await asyncio.wait_for(process.wait(), 20)



async def run_schemathesis(document: str, base: str, token: str, report: Path) -> None:
    """schemathesis against a running service, as an editor or customer (`token`): no
    5xx, and every answer as documented; its JUnit report goes to `report`."""
    result = await run_command(
        console_script("schemathesis"), "run", document,
        "--url", base,
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        "--header", f"Authorization: Bearer {token}",
        "--max-examples", "25", "--seed", "20261124", "--no-color",
        "--report", "junit", "--report-junit-path", str(report),
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert report.exists()
