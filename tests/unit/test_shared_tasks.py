"""Shutting an app down stops its background tasks even when a cancellation is lost."""

from __future__ import annotations

import asyncio

import pytest

from portal_shared.tasks import stop_task


async def test_a_task_that_swallows_one_cancellation_is_still_stopped() -> None:
    started = asyncio.Event()

    async def swallows_once() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            pass  # what aio-pika does when cancelled while opening a channel
        await asyncio.Event().wait()

    task = asyncio.create_task(swallows_once())
    await started.wait()
    await stop_task(task)
    assert task.cancelled()


async def test_a_task_that_failed_reports_its_error_on_stop() -> None:
    async def fails() -> None:
        raise RuntimeError("relay broke")

    task = asyncio.create_task(fails())
    await asyncio.wait({task})
    with pytest.raises(RuntimeError, match="relay broke"):
        await stop_task(task)
