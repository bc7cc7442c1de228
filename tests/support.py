"""Helpers the tests share: running a service app on a real port, waiting on conditions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

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
