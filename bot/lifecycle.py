"""Ending tasks within a bounded time: every `stop()` of deploybot goes through here.

A cancellation in asyncio is a request, and it can be lost. On Python 3.11, `asyncio.wait_for`
returns the awaited result and drops a cancellation that arrives just as the awaited future
completes (fixed in 3.12); redis-py awaits every write to its socket through `wait_for`, so any
task that talks to Redis can lose the cancellation meant to stop it and carry on. A stop that
awaits such a task without a bound waits forever: in a test's teardown, and on SIGTERM.

So a stop here cancels, waits a bounded time, cancels again (a lost cancellation is repeated
until it lands), and then gives up with one warning naming the tasks that would not end. A
loop that runs pieces of work calls `reraise_lost_cancellation` after each piece, so a
cancellation that the piece lost still ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Coroutine, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

#: How often a cancellation is repeated while a stop waits.
REPEAT = 0.1


def reraise_lost_cancellation() -> None:
    """Raise `CancelledError` if the current task was asked to stop and nothing raised it (the
    work it just ran lost the cancellation). Call it between pieces of work in a loop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def end_tasks(tasks: Iterable[asyncio.Future[Any]], what: str, *, within: float) -> bool:
    """Cancel `tasks` and wait until they end, repeating the cancellation, for at most
    `within` seconds. Returns whether all ended; if not, logs one warning naming the tasks
    still running (they are left to the event loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = {task for task in tasks if not task.done()}
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(REPEAT, left))
    if pending:
        names = ", ".join(sorted(_name(task) for task in pending))
        log.warning("%s: %s did not end within %.1f s of the stop; left running", what, names,
                    within)  # fmt: skip
        return False
    return True


async def bounded(step: Awaitable[object], what: str, *, within: float) -> bool:
    """Await `step` (a part of a stop: closing a client, a server) for at most `within`
    seconds; past that it is cancelled as in `end_tasks`. An error it raises is logged in one
    line, since a stop goes on with its other parts. Returns whether it completed."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=within)
    if not done:
        await end_tasks([task], what, within=min(1.0, within))
        return False
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("%s failed: %s", what, type(error).__name__)
        return False
    return True


def run(main: Coroutine[Any, Any, T], *, grace: float = 2.0) -> T:
    """`asyncio.run`, except that the tasks `main` leaves behind get `grace` seconds to end
    (asyncio.run waits for them without a bound, so one that loses its cancellation would keep
    the process alive after SIGTERM)."""
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        try:
            leftover = [task for task in asyncio.all_tasks(loop) if not task.done()]
            if leftover:
                loop.run_until_complete(end_tasks(leftover, "shutdown", within=grace))
            with contextlib.suppress(Exception):
                loop.run_until_complete(
                    asyncio.wait({loop.create_task(loop.shutdown_asyncgens())}, timeout=grace)
                )
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)
