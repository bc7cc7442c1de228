"""Answers that take the same time whichever way they went."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


@asynccontextmanager
async def lasting_at_least(seconds: float) -> AsyncIterator[None]:
    """Pad the enclosed work to `seconds`, including when it ends in an error.

    Used where the amount of database work differs between "found" and "not found"
    (a few milliseconds) and the answer must not tell which it was.
    """
    deadline = asyncio.get_running_loop().time() + seconds
    try:
        yield
    finally:
        await sleep_until(deadline)


async def sleep_until(deadline: float) -> None:
    """Wait until the event loop's clock reaches `deadline` (at once when it has)."""
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining > 0:
        await asyncio.sleep(remaining)
