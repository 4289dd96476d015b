"""The inbox worker: takes recorded events from the inbox and hands each to the orchestrator,
acknowledging it only once it was handled (so a crash or an error means a retry, never a loss).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext

from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.lifecycle import reraise_lost_cancellation
from bot.metrics import Metrics
from bot.store.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)
#: The longest wait between two tries while the inbox (Redis) is unavailable.
MAX_ERROR_PAUSE = 30.0
Process = Callable[[InboxItem], Awaitable[None]]
#: Items folded into one piece of work: the items it stands for, and the work that does them.
Unit = tuple[list[InboxItem], Callable[[], Awaitable[None]]]
#: Folds what was taken into units (the Slack worker: many notices about one message, one
#: edit); errors other than the store's fall back to one unit per item.
Fold = Callable[[list[InboxItem]], Awaitable[list[Unit]]]
#: Deliveries after which an item whose processing fails is moved to the dead letters.
MAX_ATTEMPTS = 5
#: The longest error text kept with a dead letter.
ERROR_LIMIT = 200
#: Failures that say nothing about the item (the store is down): never a reason to give up.
ALWAYS_TRANSIENT: tuple[type[BaseException], ...] = (RedisError, OSError)


class InboxWorker:
    """Takes items, hands each to `process`, acks it when `process` returns.

    When `process` raises, the item is logged (id and kind only) and left unacked: it is retried
    once it has been idle `retry_after_ms` (idle items are reclaimed, whichever consumer took
    them, every half `retry_after_ms`). Once it has been delivered `max_attempts` times, a failure
    moves it to the inbox's dead letters with its error (type and first line, without the
    payload) and the worker goes on with the next item; a `transient` failure (Redis down, or what
    the caller names: Semaphore unreachable) never does. A failing inbox (Redis down) is logged
    and retried after `error_pause`. The items of a batch are acknowledged together once the batch is handled:
    one round trip per batch, and a crash repeats at most the batch it interrupted.

    With `fold`, the items taken together are folded into units first (every item waiting is
    taken: `count` is the most), each unit done and acknowledged on its own, in order; a unit
    that fails counts as a failure of each of its items. Items still waiting their turn in a
    long pass are touched every third of `retry_after_ms`, so that no other replica reclaims
    what this one is about to do.
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
        max_attempts: int = MAX_ATTEMPTS,
        transient: tuple[type[BaseException], ...] = (),
        fold: Fold | None = None,
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
        self.max_attempts = max_attempts
        self.transient = ALWAYS_TRANSIENT + transient
        self.fold = fold
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
        if self.fold is not None:
            return await self._handle_units(items, self.fold)
        done: list[str] = []
        async with self.batch():
            for item in items:
                try:
                    await self.process(item)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    await self._failed(item, exc)
                    continue
                done.append(item.id)
        await self.inbox.ack(*done)
        for _ in done:
            self._count("processed")
        return len(done)

    async def _handle_units(self, items: list[InboxItem], fold: Fold) -> int:
        try:
            units = await fold(items)
        except self.transient:
            raise
        except Exception as exc:  # a bug in folding must not stop delivery: item by item
            log.error("folding %d inbox items failed: %s", len(items), _name(exc))
            log.debug("folding traceback", exc_info=True)
            units = [([item], functools.partial(self.process, item)) for item in items]
        done, touched = 0, time.monotonic()
        for n, (unit, work) in enumerate(units):
            if time.monotonic() - touched > self.retry_after_ms / 3000:
                waiting = [item.id for later, _ in units[n:] for item in later]
                await self.inbox.touch(self.consumer, *waiting)
                touched = time.monotonic()
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                for item in unit:
                    await self._failed(item, exc)
                continue
            await self.inbox.ack(*(item.id for item in unit))
            for _ in unit:
                self._count("processed")
            done += len(unit)
        return done

    async def _failed(self, item: InboxItem, exc: Exception) -> None:
        # The exception's text may quote the payload: only its type is logged.
        log.error("inbox item %s (%s) failed: %s", item.id, item.kind, _name(exc))
        log.debug("inbox item %s traceback", item.id, exc_info=True)
        self._count("failed")
        if not isinstance(exc, self.transient):
            await self._give_up(item, exc)

    async def _give_up(self, item: InboxItem, exc: Exception) -> None:
        """Dead-letter the item if it has had its attempts (`fail` decides, atomically)."""
        try:
            failure = await self.inbox.fail(item.id, describe(exc, item.payload), self.max_attempts)
        except (RedisError, OSError) as unavailable:  # it stays pending: tried again later
            log.error(
                "inbox item %s: could not count its failure (%s)", item.id, _name(unavailable)
            )
            return
        if failure.dead:
            log.error(
                "inbox item %s (%s) moved to the dead letters after %d attempts: %s "
                "(see `deploybot inbox list`)",
                item.id, item.kind, failure.attempts, _name(exc),
            )  # fmt: skip
            if self.metrics is not None:
                self.metrics.inbox_dead_letter()

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.inbox_outcome(outcome)


def describe(exc: BaseException, payload: str) -> str:
    """`Type: first line of the message`, short, and never quoting the payload: a validation
    error gives its locations and messages without input values, and any copy of the payload
    in another message is cut out."""
    if isinstance(exc, ValidationError):
        details = exc.errors(include_input=False, include_url=False)
        text = "; ".join(
            f"{'.'.join(str(s) for s in d['loc'])}: {d['msg']}" if d["loc"] else str(d["msg"])
            for d in details[:3]
        )
    else:
        text = str(exc).strip()
        if len(payload.strip()) >= 4:
            text = text.replace(payload.strip(), "<payload>")
        text = text.splitlines()[0] if text else ""
    text = f"{_name(exc)}: {text}" if text else _name(exc)
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


def _name(exc: BaseException) -> str:
    return type(exc).__name__
