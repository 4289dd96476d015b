"""Stopping the simulator's background tasks within a bound (the simulator stands alone, so it
does not use deploybot's `bot.lifecycle`; the reason is the same: on Python 3.11 a
cancellation can be lost inside `asyncio.wait_for`, and a stop must still end)."""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


async def end_task(task: asyncio.Task[None], *, within: float = 1.0) -> None:
    """Cancel `task`, repeating the cancellation every 0.1 s until it ends or `within` seconds
    pass; then leave it with one warning."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not task.done() and (left := deadline - loop.time()) > 0:
        task.cancel()
        await asyncio.wait({task}, timeout=min(0.1, left))
    if not task.done():
        log.warning("simulator: task %s did not end within %.1f s of the stop", task.get_name(),
                    within)  # fmt: skip
