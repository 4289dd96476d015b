"""Redis work per processed webhook. It is a count, not a timing, so the bot runs in this process
(`bench.stack.stack`: Slack on, notices not paced), where a wrapper around the redis.asyncio
client sees every round trip and which task made it.

The same load as the throughput benchmark (signed passed-CI webhooks over the projects of
`bench.throughput`, each stage blocked first, so each event is a decision whose notices go to
Slack), but a fixed number of events sent by the closed-loop generator; the count ends once
both the inbox and the `slack` inbox are empty (every event decided, every notice delivered).

A round trip is every `execute_command` outside a pipeline plus every pipeline `execute`. Each
is put down to a path by the name of the asyncio task making it: the Slack worker's
("slack-worker", which posts notices to Slack) is *Slack delivery*; every other task (HTTP
intake handlers, "inbox-worker", timers) is the *decision path*, against which the target of
at most 4 round trips per event is checked; tasks named "bench-..." are the benchmark's own
and are left out. Notices delivered are the items the Slack worker acknowledged (the ids in
XACKs of the `slack` stream, seen by the same wrapper); the stand-in's Web API calls are kept
beside them. `INFO commandstats` deltas (commands run inside Lua included) give the commands
per event, less the benchmark's own.

The inbox workers take and acknowledge items in batches, so the per-event figures depend
somewhat on how many events wait at once (the generator's 4 clients keep a small backlog).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.client import Pipeline, Redis

from bench.env import counters, delta
from bench.load import closed_loop
from bench.stack import WEBHOOK_ROUTE, Payloads, signed, stack, template
from bench.throughput import CONFIG, WORKERS, decided, projects, template_event
from bot.store import keys
from bot.store.inbox import Inbox

DECISION, SLACK, BENCH = "decision", "slack", "bench"
SLACK_TASK = "slack-worker"
BENCH_TASKS = "bench-"


@dataclass
class Trips:
    """Round trips by path and by command (a pipeline is one, named by what it holds)."""

    paths: dict[str, Counter[str]] = field(
        default_factory=lambda: {DECISION: Counter(), SLACK: Counter(), BENCH: Counter()}
    )
    #: Item ids acknowledged on the `slack` stream (notices delivered).
    slack_acked: int = 0

    def total(self, path: str) -> int:
        return sum(self.paths[path].values())


def _path() -> str:
    task = asyncio.current_task()
    name = task.get_name() if task is not None else ""
    if name == SLACK_TASK:
        return SLACK
    return BENCH if name.startswith(BENCH_TASKS) else DECISION


def _name(args: tuple[Any, ...]) -> str:
    return str(args[0]).upper() if args else "?"


def _pipeline_label(pipe: Pipeline) -> str:
    names = list(dict.fromkeys(_name(args) for args, _ in pipe.command_stack))
    kind = "MULTI" if pipe.is_transaction or pipe.explicit_transaction else "PIPELINE"
    return f"{kind}({'+'.join(names)})"


@contextmanager
def round_trips(slack_stream: str) -> Iterator[Trips]:
    """Count the Redis round trips of every redis.asyncio client in this process, by path and
    command, and the ids acknowledged (XACK) on `slack_stream`."""
    trips = Trips()
    single, batch = Redis.execute_command, Pipeline.execute

    def acked(args: tuple[Any, ...]) -> None:
        if _name(args) == "XACK" and len(args) > 3 and str(args[1]) == slack_stream:
            trips.slack_acked += len(args) - 3

    async def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        trips.paths[_path()][_name(args)] += 1
        acked(args)
        return await single(self, *args, **options)  # type: ignore[no-untyped-call]

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        trips.paths[_path()][_pipeline_label(self)] += 1
        for args, _ in self.command_stack:
            acked(args)
        return await batch(self, raise_on_error)

    Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        Redis.execute_command = single  # type: ignore[method-assign]
        Pipeline.execute = batch  # type: ignore[method-assign]


async def measure(redis_url: str, events: int, workers: int = WORKERS) -> dict[str, Any]:
    async with stack(CONFIG, redis_url) as h:
        assert h.bot_http is not None and h.standin is not None
        body = await template(h)
        for project in projects():
            await h.runtime.orchestrator.block(project, "beta", "U0BLOCK", "bench: hold")
        slack = h.inbox.sibling("slack")
        await _settled(h.inbox, slack)  # the blockers' notices are delivered
        payloads, names = Payloads(body), projects()
        bodies = [payloads.next(names[i % len(names)]) for i in range(events)]

        def make(i: int) -> tuple[bytes, dict[str, str]]:
            return bodies[i], signed(bodies[i])

        url = f"{str(h.bot_http.base_url).rstrip('/')}{WEBHOOK_ROUTE}"
        h.standin.calls.clear()
        before = await counters(redis_url)
        with round_trips(keys.inbox("slack")) as trips:
            began = time.perf_counter()
            sent = await closed_loop(url, make, workers=workers, requests=events,
                                     answer_key="status")  # fmt: skip
            await asyncio.create_task(_settled(h.inbox, slack), name=f"{BENCH_TASKS}settle")
            elapsed = time.perf_counter() - began
        after = await counters(redis_url)
        api_calls = Counter(
            c.method for c in h.standin.calls if not c.method.startswith("response:")
        )
        done = await decided(h.store, template_event(body))
        left = {"inbox": await h.inbox.length(), "slack": await slack.length()}
    return _report(trips, before, after, sent.answers.get("recorded", 0), done, left,
                   dict(api_calls), sent.count, elapsed)  # fmt: skip


async def _settled(inbox: Inbox, slack: Inbox, timeout: float = 120) -> None:
    """Until the inbox and the `slack` inbox are both empty, twice in a row 50 ms apart."""
    empty = 0
    async with asyncio.timeout(timeout):
        while empty < 2:
            quiet = await inbox.length() == 0 and await slack.length() == 0
            empty = empty + 1 if quiet else 0
            await asyncio.sleep(0.05)


def _per(counts: Counter[str], n: int) -> dict[str, float]:
    return {k: round(v / n, 3) for k, v in counts.most_common()}


def _report(trips: Trips, before: dict[str, int], after: dict[str, int], recorded: int,
            done: int, left: dict[str, int], api_calls: dict[str, int], sent: int,
            elapsed: float) -> dict[str, Any]:  # fmt: skip
    commands = delta(before, after)
    mine = sum(trips.paths[BENCH].values()) + commands.pop("info", 0)  # INFO: the counters'
    for name, n in trips.paths[BENCH].items():
        commands[name.lower()] = commands.get(name.lower(), 0) - n
    processed = commands.pop("total_commands_processed", 0) - mine
    per, notices = max(done, 1), max(trips.slack_acked, 1)
    decision, slack = trips.total(DECISION), trips.total(SLACK)
    return {
        "events": sent,
        "recorded": recorded,
        "decided": done,
        "lost": recorded - done,
        "left": left,
        "seconds": round(elapsed, 3),
        "notices_delivered": trips.slack_acked,
        "slack_api_calls": api_calls,
        "decision_round_trips_per_event": round(decision / per, 2),
        "slack_round_trips_per_event": round(slack / per, 2),
        "slack_round_trips_per_notice": round(slack / notices, 2),
        "round_trips_per_event": round((decision + slack) / per, 2),
        "decision_by_command_per_event": _per(trips.paths[DECISION], per),
        "slack_by_command_per_event": _per(trips.paths[SLACK], per),
        "bench_own_round_trips": dict(trips.paths[BENCH]),
        "commands_per_event": round(sum(v for v in commands.values() if v > 0) / per, 2),
        "commands_processed_per_event": round(processed / per, 2),
        "commandstats_per_event": {
            k: round(v / per, 3)
            for k, v in sorted(commands.items(), key=lambda kv: -kv[1])
            if v > 0
        },
    }
