"""The inbox worker: takes recorded events from the inbox and hands each to the orchestrator,
acknowledging it only once it was handled (so a crash or an error means a retry, never a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext

from redis.exceptions import RedisError

from bot.lifecycle import reraise_lost_cancellation
from bot.metrics import Metrics
from bot.store.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)
#: The longest wait between two tries while the inbox (Redis) is unavailable.
MAX_ERROR_PAUSE = 30.0
Process = Callable[[InboxItem], Awaitable[None]]


class InboxWorker:
    """Takes items, hands each to `process`, acks it when `process` returns.

    When `process` raises, the item is logged (id and kind only) and left unacked: it is retried
    once it has been idle `retry_after_ms` (idle items are reclaimed, whichever consumer took
    them, every half `retry_after_ms`). A failing inbox (Redis down) is logged and retried after
    `error_pause`. The items of a batch are acknowledged together once the batch is handled:
    one round trip per batch, and a crash repeats at most the batch it interrupted.
    """

    def __init__(
        self,
        inbox: Inbox,
        process: Process,
        consumer: str,
        *,
        metrics: Metrics | None = None,
        count: int = 25,
        block_ms: int = 1000,
        retry_after_ms: int = 30_000,
        error_pause: float = 1.0,
        batch: Callable[[], AbstractAsyncContextManager[None]] = nullcontext,
    ) -> None:
        self.inbox = inbox
        self.process = process
        self.consumer = consumer
        self.metrics = metrics
        self.count = count
        self.block_ms = block_ms
        self.retry_after_ms = retry_after_ms
        self.error_pause = error_pause
        #: Entered around each batch (the stage service's `batch`: one ack of its effects).
        self.batch = batch
        self._stopping = asyncio.Event()
        self._reclaim_at = 0.0

    def stop(self) -> None:
        """Ask `run` to return after the current pass (at most `block_ms` later)."""
        self._stopping.set()

    async def run(self) -> None:
        self._stopping.clear()
        pause = self.error_pause
        while not self._stopping.is_set():
            try:
                now = time.monotonic()
                if now >= self._reclaim_at:
                    self._reclaim_at = now + self.retry_after_ms / 2000
                    await self._handle(await self.inbox.reclaim(self.consumer, self.retry_after_ms))
                await self._handle(await self.inbox.take(self.consumer, self.count, self.block_ms))
                reraise_lost_cancellation()  # bot.lifecycle: Redis calls can lose one
                pause = self.error_pause
            except (RedisError, OSError) as exc:
                # Backs off (doubling, up to MAX_ERROR_PAUSE) while Redis stays down.
                log.error("inbox unavailable (%s); retrying in %.1fs", _name(exc), pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                pause = min(pause * 2, MAX_ERROR_PAUSE)

    async def drain_once(self) -> int:
        """Process what is there now (idle reclaimable items, then new ones) without waiting.

        Returns how many items were processed successfully.
        """
        done = await self._handle(await self.inbox.reclaim(self.consumer, self.retry_after_ms))
        while batch := await self.inbox.take(self.consumer, self.count, block_ms=0):
            done += await self._handle(batch)
        return done

    async def _handle(self, items: list[InboxItem]) -> int:
        if not items:
            return 0
        done: list[str] = []
        async with self.batch():
            for item in items:
                try:
                    await self.process(item)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # The exception's text may quote the payload: only its type is logged.
                    log.error("inbox item %s (%s) failed: %s", item.id, item.kind, _name(exc))
                    log.debug("inbox item %s traceback", item.id, exc_info=True)
                    self._count("failed")
                    continue
                done.append(item.id)
        await self.inbox.ack(*done)
        for _ in done:
            self._count("processed")
        return len(done)

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.inbox_outcome(outcome)


def _name(exc: BaseException) -> str:
    return type(exc).__name__
