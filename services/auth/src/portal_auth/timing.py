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
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    try:
        yield
    finally:
        remaining = deadline - loop.time()
        if remaining > 0:
            await asyncio.sleep(remaining)
