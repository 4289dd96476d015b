"""The work Slack requests leave after their ack, run by a few workers in arrival order.

Slack wants every request acknowledged within 3 seconds, while the reply may come later (a
`response_url` stays valid for 30 minutes). So a listener acks first and hands the rest
here. A fixed number of workers (not a task per request) keeps a burst from crowding out the
acks of the requests behind it on the event loop, and bounds the Redis connections and HTTP
requests the work holds at once. When more than `limit` pieces of work wait, `full` is true and
a new `/deploy` command is answered "busy" in its ack instead of joining the queue.

The queue lives in the process: work waiting when the process stops is dropped (and counted in
the log); the person gets no reply and can ask again. Changes of state are never waiting here
half-done: each is one atomic decision in the store.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.lifecycle import end_tasks, reraise_lost_cancellation

log = logging.getLogger(__name__)

WORKERS = 8
LIMIT = 1000

Work = Coroutine[Any, Any, None]


class AfterAck:
    def __init__(self, workers: int = WORKERS, limit: int = LIMIT) -> None:
        self.workers = workers
        self.limit = limit
        self._queue: asyncio.Queue[tuple[Work, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    @property
    def full(self) -> bool:
        return self.waiting >= self.limit

    def submit(self, work: Work, what: str) -> None:
        """Queue `work` (`what` names it in the log if it fails); workers start on first use.
        After `stop`, work is dropped."""
        if self._stopped:
            work.close()
            return
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name=f"slack-after-ack-{n}")
                for n in range(self.workers)
            ]
        self._queue.put_nowait((work, what))

    async def stop(self, within: float = 1.0) -> None:
        """Stop the workers (the work they run is cancelled; at most `within` seconds) and drop
        what still waits."""
        self._stopped = True
        await end_tasks(self._tasks, "slack after-ack workers", within=within)
        self._tasks = []
        dropped = 0
        while not self._queue.empty():
            work, _ = self._queue.get_nowait()
            work.close()
            dropped += 1
        if dropped:
            log.warning("slack: %d requests were still waiting at shutdown; not answered", dropped)

    async def _run(self) -> None:
        while True:
            work, what = await self._queue.get()
            try:
                await work
            except Exception:
                log.exception("slack: %s failed", what)
            # A cancellation the work lost (see bot.lifecycle) still ends this worker.
            reraise_lost_cancellation()
