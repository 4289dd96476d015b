"""Sustained load and Redis work per event.

Signed passed-CI webhooks (made-up pipelines, one new commit each) are POSTed by `WORKERS`
closed-loop clients for the duration, spread over `PROJECTS` projects whose one stage is
blocked first (each event is then a real decision: the change is queued, older queued changes
are superseded, people are told; no promotion, since the simulator does not know the pipelines).
The rate is the sustained one: events processed / (time from the first POST until the inbox was
empty again), so a backlog left at the end counts against it.

Proof that nothing was lost: the `recorded` answers equal the ChangeReady audit entries written
(one per event id, `ci:<pipeline>`), and the inbox is empty with nothing pending.

Redis work: `INFO commandstats` and `total_commands_processed` deltas on the benchmark's own
redis-server (commands run inside Lua are counted by commandstats only), and round trips counted
on the client: every `execute_command` outside a pipeline plus every pipeline `execute`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis.asyncio.client import Pipeline, Redis

from bench.env import counters, delta
from bench.load import closed_loop
from bench.stack import WEBHOOK_ROUTE, Payloads, projects_config, signed, stack, template

PROJECTS = 20
WORKERS = 4
#: Senders wait while more than this many events are recorded but not yet processed, so the
#: rate sent settles at the rate the bot processes (the backlog stays bounded).
BACKLOG = 200
CONFIG = projects_config(PROJECTS, 1)


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """Count the Redis round trips of every redis.asyncio client in this process, by command."""
    seen: Counter[str] = Counter()
    single, batch = Redis.execute_command, Pipeline.execute

    async def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        seen[str(args[0]).upper()] += 1
        return await single(self, *args, **options)

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        seen["PIPELINE"] += 1
        return await batch(self, raise_on_error)

    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        Redis.execute_command = single  # type: ignore[method-assign]
        Pipeline.execute = batch  # type: ignore[method-assign]


def _projects() -> list[str]:
    return ["demo", *(f"project-{p:04d}" for p in range(1, PROJECTS))]


async def measure(redis_url: str, duration: float, workers: int = WORKERS) -> dict[str, Any]:
    async with stack(CONFIG, redis_url) as h:
        assert h.bot_http is not None
        body = await template(h)
        for project in _projects():
            await h.runtime.orchestrator.block(project, "beta", "U0BLOCK", "bench: hold")
        await asyncio.sleep(0.5)  # the blockers' notices are posted
        payloads, names = Payloads(body), _projects()
        bodies = [payloads.next(names[i % len(names)]) for i in range(int(duration * 2000))]

        def make(i: int) -> tuple[bytes, dict[str, str]]:
            data = bodies[i] if i < len(bodies) else payloads.next(names[i % len(names)])
            return data, signed(data)

        url = f"{str(h.bot_http.base_url).rstrip('/')}{WEBHOOK_ROUTE}"
        watch = _Backlog(h)
        before = await counters(redis_url)
        with round_trips() as trips:
            began = time.perf_counter()
            watcher = asyncio.create_task(watch.run())
            sent = await closed_loop(url, make, workers=workers, duration=duration,
                                     answer_key="status", gate=watch.gate)  # fmt: skip
            backlog = await h.inbox.length()
            drain_calls = [await _drained(h)]
            elapsed = time.perf_counter() - began
            watcher.cancel()
            await asyncio.sleep(0.3)  # the last notices reach Slack
        after = await counters(redis_url)
        # The benchmark's own XLEN calls (the back-pressure watch, the drain wait) are not the bot's.
        mine = watch.calls + drain_calls[0]
        trips["XLEN"] -= mine
        after["xlen"] = after.get("xlen", 0) - mine
        after["total_commands_processed"] -= mine
        recorded = sent.answers.get("recorded", 0)
        decided = await _decided(h)
        left = await h.inbox.length()
    commands = delta(before, after)
    total = commands.pop("total_commands_processed", 0)
    per = max(decided, 1)
    return {
        "workers": workers,
        "sent": sent.count,
        "statuses": sent.statuses,
        "answers": sent.answers,
        "recorded": recorded,
        "decided": decided,
        "lost": recorded - decided,
        "inbox_left": left,
        "backlog_at_end_of_sending": backlog,
        "seconds_sending": round(sent.seconds, 3),
        "seconds_until_drained": round(elapsed, 3),
        "accepted_per_s": round(recorded / sent.seconds, 1),
        "events_per_s": round(decided / elapsed, 1),
        "round_trips_per_event": round(sum(trips.values()) / per, 2),
        "round_trips_by_command": {k: round(v / per, 3) for k, v in trips.most_common()},
        "commands_per_event": round(sum(commands.values()) / per, 2),
        "commands_processed_per_event": round(total / per, 2),
        "commandstats_per_event": {
            k: round(v / per, 3) for k, v in sorted(commands.items(), key=lambda kv: -kv[1])
        },
    }


class _Backlog:
    def __init__(self, h: Any) -> None:
        self.h, self.length, self.calls = h, 0, 0

    async def run(self) -> None:
        while True:
            self.calls += 1
            self.length = await self.h.inbox.length()
            await asyncio.sleep(0.02)

    async def gate(self) -> None:
        while self.length > BACKLOG:
            await asyncio.sleep(0.005)


async def _drained(h: Any, timeout: float = 120) -> int:
    """Until the inbox is empty; returns how many XLEN calls that took."""
    calls = 0
    async with asyncio.timeout(timeout):
        while True:
            calls += 1
            if await h.inbox.length() == 0:
                return calls
            await asyncio.sleep(0.01)


async def _decided(h: Any) -> int:
    ids: set[str] = set()
    for project in _projects():
        for entry in await h.store.audit(project, "beta", limit=1_000_000):
            if entry.detail.startswith("ci:"):
                ids.add(entry.detail)
    return len(ids)
