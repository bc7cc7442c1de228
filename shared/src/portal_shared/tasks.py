"""Stopping background tasks reliably."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_task(task: asyncio.Task[None], patience: float = 1.0) -> None:
    """Cancel `task` until it has really stopped; re-raise what it failed with.

    aio-pika can swallow a cancellation that arrives while it opens a connection or a
    channel, and the task then carries on; one `cancel()` is not enough.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=patience)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()
