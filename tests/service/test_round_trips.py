"""What one event costs in Redis round trips, on a real redis-server: a stage this service
already knows is decided on without reading it, and a decision's notices are handed over in
one call. (Counts, not timings: the benchmark reports the figures per event under load.)"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from builders import change

from bench.redis_work import DECISION
from bench.redis_work import round_trips as bench_round_trips
from bot.bootstrap import build_stage_service
from bot.config.loader import load_config
from bot.core import events as ev
from bot.service.stages import StageService
from bot.slack.notifier import SlackOutbox
from bot.store import RedisStore
from bot.store.inbox import RedisInbox
from bot.store.redis import redis_client

pytestmark = pytest.mark.redis

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"
#: Thursday 3 December 2026, 16:30 in Berlin: shop/prod's window is closed, changes wait.
CLOSED = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    """The benchmark's count of Redis round trips (a pipeline is one, named by what it holds)."""
    with bench_round_trips(slack_stream="") as trips:
        yield trips.paths[DECISION]


@pytest.fixture
async def client(redis_server: str) -> AsyncIterator[aioredis.Redis]:
    client = redis_client(redis_server)
    await client.flushdb()
    yield client
    await client.aclose()


def service(client: aioredis.Redis, slack: RedisInbox) -> StageService:
    svc = build_stage_service(load_config(EXAMPLE), RedisStore(client), clock=lambda: CLOSED)
    svc.notices = SlackOutbox(slack)
    return svc


async def test_an_event_on_a_known_stage_is_one_write_one_handover_one_ack(
    client: aioredis.Redis,
) -> None:
    slack = RedisInbox(client).sibling("slack")
    svc = service(client, slack)
    with round_trips() as first:
        await svc.handle("shop", "prod", ev.ChangeReady(id="c1", change=change(1)))
    assert first["HGET"] == 1 and first["LRANGE"] == 1, "a stage seen first is read"
    with round_trips() as second:
        decision = await svc.handle("shop", "prod", ev.ChangeReady(id="c2", change=change(2)))
    assert decision is not None and len(decision.notices) >= 2, "queued and superseded"
    assert second == Counter({"EVALSHA": 2, "PIPELINE(LREM)": 1}), second
    assert await slack.length() == 2 + len(decision.notices)  # c1's notices, then c2's
    assert [d.change for d in (await svc.store.load("shop", "prod")).queue] == [change(2)]


async def test_another_replica_s_write_costs_a_read_and_a_second_write(
    client: aioredis.Redis,
) -> None:
    slack = RedisInbox(client).sibling("slack")
    a, b = service(client, slack), service(client, slack)
    await a.handle("shop", "prod", ev.ChangeReady(id="c1", change=change(1)))
    await b.handle("shop", "prod", ev.ChangeReady(id="c2", change=change(2)))
    with round_trips() as trips:
        await a.handle("shop", "prod", ev.ChangeReady(id="c3", change=change(3)))
    assert trips["HGET"] == 1 and trips["EVALSHA"] == 3, trips  # conflict, reload, write, tell
    assert [d.change for d in (await a.store.load("shop", "prod")).queue] == [change(3)]


async def test_a_batch_acknowledges_the_effects_of_all_its_events_at_once(
    client: aioredis.Redis,
) -> None:
    slack = RedisInbox(client).sibling("slack")
    svc = service(client, slack)
    for stage in ("beta", "prod"):
        await svc.handle("shop", stage, ev.ChangeReady(id=f"{stage}-c1", change=change(1)))
    with round_trips() as trips:
        async with svc.batch():
            for n in (2, 3):
                for stage in ("beta", "prod"):
                    ready = ev.ChangeReady(id=f"{stage}-c{n}", change=change(n))
                    await svc.handle("shop", stage, ready)
            assert await svc.store.outbox("shop", "prod"), "not acknowledged before the end"
    # 4 decisions and 4 handovers, the test's own look at the outbox, one acknowledgement
    assert trips == Counter({"EVALSHA": 8, "LRANGE": 1, "PIPELINE(LREM)": 1}), trips
    assert await svc.store.outbox("shop", "beta") == await svc.store.outbox("shop", "prod") == []
