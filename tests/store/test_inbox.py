"""The inbox contract on four backends (in-memory, fakeredis, a real redis-server, a 3-master
Redis Cluster), and the worker that drains it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.metrics import Metrics
from bot.service.inbox_worker import InboxWorker, Unit
from bot.store.inbox import Inbox, InboxItem, MemoryInbox, RedisInbox


@dataclass
class Backend:
    """Builds inboxes that share one backend: two of them are two replicas of the bot."""

    make: Callable[[], Inbox]
    closers: list[aioredis.Redis] = field(default_factory=list)


@pytest.fixture(
    params=[
        "memory",
        "fakeredis",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.redis),
    ]
)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        shared = MemoryInbox()
        yield Backend(lambda: shared)
        return
    clients: list[aioredis.Redis] = []
    if request.param == "cluster":
        port = request.getfixturevalue("redis_cluster")[0]
        first_node = RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
        await first_node.flushall(target_nodes=RedisCluster.PRIMARIES)
        clients.append(first_node)  # type: ignore[arg-type]

        def client() -> aioredis.Redis:
            node = RedisCluster(host="127.0.0.1", port=port, decode_responses=True)
            return node  # type: ignore[return-value]
    elif request.param == "fakeredis":
        server = fakeredis.FakeServer()

        def client() -> aioredis.Redis:
            return fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    else:
        url = request.getfixturevalue("redis_server")
        await (first := aioredis.Redis.from_url(url, decode_responses=True)).flushdb()
        clients.append(first)

        def client() -> aioredis.Redis:
            return aioredis.Redis.from_url(url, decode_responses=True)

    def make() -> Inbox:
        clients.append(c := client())
        return RedisInbox(c)

    yield Backend(make, clients)
    for c in clients:
        await c.aclose()


@pytest.fixture
def inbox(backend: Backend) -> Inbox:
    return backend.make()


async def test_a_recorded_item_is_taken_with_its_kind_payload_and_time(inbox: Inbox) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert await inbox.put("semaphore", ["webhook:1"], '{"a": 1}')
    [item] = await inbox.take("c1", block_ms=0)
    assert (item.kind, item.payload) == ("semaphore", '{"a": 1}')
    assert before <= item.received_at <= datetime.now(UTC) + timedelta(seconds=1)


async def test_a_duplicate_key_records_nothing(inbox: Inbox) -> None:
    assert await inbox.put("semaphore", "webhook:1", "first")
    assert not await inbox.put("semaphore", "webhook:1", "second")
    assert await inbox.length() == 1
    assert [i.payload for i in await inbox.take("c1", block_ms=0)] == ["first"]


async def test_a_delivery_is_a_duplicate_when_any_of_its_keys_was_seen(inbox: Inbox) -> None:
    assert await inbox.put("semaphore", ["webhook:1", "pipeline:p1:passed"], "one")
    # A redelivery with a new webhook id, but the same pipeline and result.
    assert not await inbox.put("semaphore", ["webhook:2", "pipeline:p1:passed"], "again")
    # The refused delivery marked nothing: its webhook id is still new.
    assert await inbox.put("semaphore", ["webhook:2", "pipeline:p1:failed"], "two")
    assert not await inbox.put("semaphore", ["webhook:1"], "late")
    assert await inbox.length() == 2


async def test_an_item_needs_a_dedupe_key(inbox: Inbox) -> None:
    with pytest.raises(ValueError):
        await inbox.put("semaphore", [], "x")
    with pytest.raises(ValueError):
        await inbox.put("semaphore", [""], "x")


async def test_items_are_taken_in_the_order_recorded(inbox: Inbox) -> None:
    for n in range(7):
        await inbox.put("alertmanager", [f"k{n}"], str(n))
    first = await inbox.take("c1", count=4, block_ms=0)
    rest = await inbox.take("c1", count=10, block_ms=0)
    assert [i.payload for i in first + rest] == [str(n) for n in range(7)]
    assert [i.id for i in first + rest] == sorted(
        (i.id for i in first + rest), key=lambda x: tuple(map(int, x.split("-")))
    )


async def test_each_item_goes_to_one_consumer_of_two_replicas(backend: Backend) -> None:
    one, two = backend.make(), backend.make()
    for n in range(20):
        await one.put("semaphore", [f"k{n}"], str(n))
    got: dict[str, list[str]] = {"a": [], "b": []}
    while True:
        a, b = await asyncio.gather(
            one.take("replica-a", count=3, block_ms=0), two.take("replica-b", count=3, block_ms=0)
        )
        if not a and not b:
            break
        got["a"] += [i.payload for i in a]
        got["b"] += [i.payload for i in b]
    assert sorted(got["a"] + got["b"], key=int) == [str(n) for n in range(20)]
    assert not set(got["a"]) & set(got["b"])
    assert got["a"] and got["b"]


async def test_items_recorded_before_the_first_take_are_delivered(backend: Backend) -> None:
    writer, reader = backend.make(), backend.make()
    await writer.put("semaphore", ["k"], "early")
    assert [i.payload for i in await reader.take("c1", block_ms=0)] == ["early"]


async def test_take_waits_for_an_item(inbox: Inbox, backend: Backend) -> None:
    writer = backend.make()
    waiting = asyncio.create_task(inbox.take("c1", block_ms=5000))
    await asyncio.sleep(0.05)
    await writer.put("semaphore", ["k"], "arrived")
    assert [i.payload for i in await asyncio.wait_for(waiting, 5)] == ["arrived"]


async def test_take_without_waiting_on_an_empty_inbox(inbox: Inbox) -> None:
    assert await inbox.take("c1", block_ms=0) == []


async def test_ack_removes_the_item(inbox: Inbox) -> None:
    await inbox.put("semaphore", ["k1"], "1")
    await inbox.put("semaphore", ["k2"], "2")
    assert (await inbox.pending(), await inbox.length()) == (0, 2)
    first, second = await inbox.take("c1", block_ms=0)
    assert (await inbox.pending(), await inbox.length()) == (2, 2)
    await inbox.ack(first.id)
    assert (await inbox.pending(), await inbox.length()) == (1, 1)
    await inbox.ack(second.id)
    assert (await inbox.pending(), await inbox.length()) == (0, 0)


async def test_several_items_are_acked_at_once(inbox: Inbox) -> None:
    for n in range(3):
        await inbox.put("semaphore", [f"k{n}"], str(n))
    first, second, third = await inbox.take("c1", block_ms=0)
    await inbox.ack(first.id, third.id)
    assert (await inbox.pending(), await inbox.length()) == (1, 1)
    assert [i.id for i in await inbox.reclaim("c2", min_idle_ms=0)] == [second.id]
    await inbox.ack()  # nothing to ack: nothing changes
    assert (await inbox.pending(), await inbox.length()) == (1, 1)


async def test_put_many_records_each_new_item_in_order(inbox: Inbox) -> None:
    assert await inbox.put("slack", "n#0", "seen before")
    recorded = await inbox.put_many(
        "slack",
        [("n#1", "one"), ("n#0", "again"), (["n#2", "x"], "two"), ("x", "same call")],
    )
    assert recorded == [True, False, True, False]
    assert [(i.kind, i.payload) for i in await inbox.take("c1", block_ms=0)] == [
        ("slack", "seen before"), ("slack", "one"), ("slack", "two"),
    ]  # fmt: skip
    assert await inbox.put_many("slack", []) == []


async def test_an_unacked_item_is_reclaimed_once_idle(backend: Backend) -> None:
    crashed, survivor = backend.make(), backend.make()
    await crashed.put("semaphore", ["k"], "orphan")
    [taken] = await crashed.take("replica-a", block_ms=0)
    assert await survivor.reclaim("replica-b", min_idle_ms=60_000) == []
    await asyncio.sleep(0.05)
    [reclaimed] = await survivor.reclaim("replica-b", min_idle_ms=10)
    assert (reclaimed.id, reclaimed.payload) == (taken.id, "orphan")
    assert await survivor.take("replica-b", block_ms=0) == []
    await survivor.ack(reclaimed.id)
    assert (await survivor.pending(), await survivor.length()) == (0, 0)


async def test_a_touched_item_is_not_idle_and_keeps_its_delivery_count(backend: Backend) -> None:
    """A replica still working on what it took says so: no other replica reclaims it, and a
    touch is not a delivery (it never brings an item closer to the dead letters)."""
    working, other = backend.make(), backend.make()
    await working.put("slack", ["k"], "long")
    assert await other.reclaim("replica-b", min_idle_ms=60_000) == []  # connected: not timed
    [taken] = await working.take("replica-a", block_ms=0)
    await asyncio.sleep(0.12)
    await working.touch("replica-a", taken.id)
    assert await other.reclaim("replica-b", min_idle_ms=100) == []
    await asyncio.sleep(0.12)
    [reclaimed] = await other.reclaim("replica-b", min_idle_ms=100)
    assert reclaimed.id == taken.id
    assert await other.fail(taken.id, "E", max_attempts=3) == (2, False)


async def test_concurrent_puts_of_one_key_record_one_item(backend: Backend) -> None:
    replicas = [backend.make() for _ in range(3)]
    results = await asyncio.gather(
        *(replicas[n % 3].put("semaphore", ["webhook:x"], f"try{n}") for n in range(12))
    )
    assert results.count(True) == 1
    assert await replicas[0].length() == 1


@pytest.mark.parametrize("flavour", ["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
async def test_the_group_is_recreated_when_the_stream_vanishes(
    flavour: str, request: pytest.FixtureRequest
) -> None:
    if flavour == "fakeredis":
        client: aioredis.Redis = fakeredis.FakeAsyncRedis(decode_responses=True)
    else:
        client = aioredis.Redis.from_url(
            request.getfixturevalue("redis_server"), decode_responses=True
        )
    await client.flushdb()
    inbox = RedisInbox(client)
    assert await inbox.take("c1", block_ms=0) == []
    await client.flushdb()
    await inbox.put("semaphore", ["k"], "after")
    assert [i.payload for i in await inbox.take("c1", block_ms=0)] == ["after"]
    assert await inbox.pending() == 1
    await client.aclose()


# Dead letters


async def fail_until_dead(
    backend: Backend, item_id: str, error: str, attempts: int = 5
) -> list[tuple[int, bool]]:
    """Fail the item on each delivery (a take, then reclaims), as a worker would."""
    inbox = backend.make()
    seen = [tuple(await inbox.fail(item_id, error, attempts))]
    while not seen[-1][1]:
        await asyncio.sleep(0.002)
        assert [i.id for i in await inbox.reclaim("c1", min_idle_ms=1)] == [item_id]
        seen.append(tuple(await inbox.fail(item_id, error, attempts)))
    return seen  # type: ignore[return-value]


async def test_an_item_failing_on_every_delivery_becomes_a_dead_letter(
    inbox: Inbox, backend: Backend
) -> None:
    await inbox.put("alertmanager", ["poison"], '{"poison": 1}')
    await inbox.put("alertmanager", ["fine"], '{"fine": 1}')
    [poison] = await inbox.take("c1", count=1, block_ms=0)
    attempts = await fail_until_dead(backend, poison.id, "OverflowError: date value out of range")
    assert attempts == [(1, False), (2, False), (3, False), (4, False), (5, True)]
    # Off the live stream, acked: only the good item is left, and reclaim never returns it again.
    assert (await inbox.length(), await inbox.pending(), await inbox.dead_count()) == (1, 0, 1)
    [fine] = await inbox.take("c1", block_ms=0)
    assert fine.payload == '{"fine": 1}'
    await asyncio.sleep(0.002)
    assert [i.id for i in await inbox.reclaim("c1", min_idle_ms=1)] == [fine.id]
    [letter] = await inbox.dead_letters()
    assert letter == await inbox.dead_letter(poison.id)
    assert (letter.id, letter.kind, letter.payload) == (poison.id, "alertmanager", '{"poison": 1}')
    assert (letter.attempts, letter.error) == (5, "OverflowError: date value out of range")
    assert letter.received_at == poison.received_at <= letter.dead_at
    # A late failure report (another replica's) changes nothing.
    assert tuple(await inbox.fail(poison.id, "again", 5)) == (0, False)
    assert await inbox.dead_count() == 1


async def test_a_dead_letter_is_retried_as_a_new_item_or_dropped(inbox: Inbox) -> None:
    for n in range(2):
        await inbox.put("semaphore", [f"k{n}"], f"payload {n}")
    first, second = await inbox.take("c1", block_ms=0)
    assert (await inbox.fail(first.id, "E: one", 1)).dead
    assert (await inbox.fail(second.id, "E: two", 1)).dead
    assert [d.id for d in await inbox.dead_letters()] == [first.id, second.id]
    new_id = await inbox.retry_dead(first.id)
    assert new_id is not None and new_id != first.id
    [again] = await inbox.take("c1", block_ms=0)
    assert (again.id, again.kind, again.payload) == (new_id, "semaphore", "payload 0")
    assert await inbox.drop_dead(second.id)
    assert (await inbox.dead_count(), await inbox.dead_letters()) == (0, [])
    assert await inbox.retry_dead(second.id) is None
    assert not await inbox.drop_dead(first.id)
    assert await inbox.dead_letter(first.id) is None


async def test_dead_letters_of_two_inboxes_are_apart(backend: Backend) -> None:
    events, slack = backend.make(), backend.make().sibling("slack")
    await slack.put("slack", ["n"], "notice")
    [notice] = await slack.take("c1", block_ms=0)
    assert (await slack.fail(notice.id, "E", 1)).dead
    assert (await slack.dead_count(), await events.dead_count()) == (1, 0)


# The worker


class Recorder:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.seen: list[str] = []
        self.fail = fail or set()

    async def __call__(self, item: InboxItem) -> None:
        self.seen.append(item.payload)
        if item.payload in self.fail:
            raise RuntimeError(f"cannot handle {item.payload}")


async def test_the_worker_processes_and_acks_everything(inbox: Inbox) -> None:
    metrics = Metrics()
    for n in range(3):
        await inbox.put("semaphore", [f"k{n}"], str(n))
    process = Recorder()
    worker = InboxWorker(inbox, process, "c1", metrics=metrics)
    assert await worker.drain_once() == 3
    assert process.seen == ["0", "1", "2"]
    assert (await inbox.pending(), await inbox.length()) == (0, 0)
    assert (
        metrics.registry.get_sample_value(
            "deploybot_inbox_processed_total", {"outcome": "processed"}
        )
        == 3
    )


async def test_folded_units_are_acked_one_by_one_and_kept_from_other_replicas(
    backend: Backend,
) -> None:
    """The Slack worker's way: what was taken together is folded into units; each unit is
    acknowledged once done, a failing unit counts against each of its items, and the items
    still waiting in a long pass are touched, so another replica never takes them over."""
    inbox, other = backend.make(), backend.make()
    for n in range(5):
        await inbox.put("slack", [f"k{n}"], str(n))
    # The other replica connects (on Cluster: learns the slots, connects to each node) and
    # finds its group now, not inside the timed pass, where that once took over 350 ms.
    assert await other.reclaim("replica-b", min_idle_ms=60_000) == []
    seen: list[tuple[str, int]] = []
    stolen: list[str] = []

    async def fold(items: list[InboxItem]) -> list[Unit]:
        def unit(group: list[InboxItem]) -> Unit:
            async def work() -> None:
                # Each unit takes 0.25 s, the pass 0.75 s: longer than the 0.6 s after which
                # another replica takes an item over, unless the worker touched it (every
                # 0.2 s, between units). The margins (0.35 s) survive a busy machine.
                await asyncio.sleep(0.25)
                stolen.extend(i.payload for i in await other.reclaim("replica-b", min_idle_ms=600))
                seen.append(("+".join(i.payload for i in group), await inbox.length()))
                if group[0].payload == "2":
                    raise RuntimeError("Slack said no")

            return group, work

        return [unit(items[:2]), unit(items[2:3]), unit(items[3:])]

    worker = InboxWorker(inbox, Recorder(), "replica-a", retry_after_ms=600, fold=fold)
    assert await worker.drain_once() == 4
    assert seen == [("0+1", 5), ("2", 3), ("3+4", 3)]
    assert set(stolen) <= {"2"}  # only the failed item, idle since it failed, is taken over
    assert await inbox.length() == 1
    [left] = await other.reclaim("replica-b", min_idle_ms=0)
    assert left.payload == "2"


async def test_the_worker_acks_a_batch_once_the_batch_scope_ended(inbox: Inbox) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def batch() -> AsyncIterator[None]:
        seen.append("begin")
        yield
        seen.append(f"end with {await inbox.pending()} pending")

    for n in range(3):
        await inbox.put("semaphore", [f"k{n}"], str(n))
    worker = InboxWorker(inbox, Recorder(), "c1", batch=batch)
    assert await worker.drain_once() == 3
    assert seen == ["begin", "end with 3 pending"]
    assert (await inbox.pending(), await inbox.length()) == (0, 0)


async def test_a_failed_item_stays_pending_and_is_retried(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    await inbox.put("semaphore", ["k1"], "secret-payload")
    await inbox.put("semaphore", ["k2"], "fine")
    process = Recorder(fail={"secret-payload"})
    worker = InboxWorker(inbox, process, "c1", metrics=metrics, retry_after_ms=0)
    with caplog.at_level(logging.INFO):
        assert await worker.drain_once() == 1
    assert (await inbox.pending(), await inbox.length()) == (1, 1)
    assert "secret-payload" not in caplog.text
    assert "RuntimeError" in caplog.text
    process.fail.clear()
    assert await worker.drain_once() == 1
    assert process.seen == ["secret-payload", "fine", "secret-payload"]
    assert (await inbox.pending(), await inbox.length()) == (0, 0)
    sample = metrics.registry.get_sample_value
    assert sample("deploybot_inbox_processed_total", {"outcome": "failed"}) == 1
    assert sample("deploybot_inbox_processed_total", {"outcome": "processed"}) == 2


async def test_an_item_that_always_fails_is_dead_lettered_after_5_attempts(
    inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    poison = '{"startsAt": "0001-01-01T00:00:00+01:00"}'
    await inbox.put("alertmanager", ["k1"], poison)
    process = Recorder(fail={poison})
    worker = InboxWorker(inbox, process, "c1", metrics=metrics, retry_after_ms=0)
    for _ in range(4):
        assert await worker.drain_once() == 0
    assert (await inbox.pending(), await inbox.dead_count()) == (1, 0)
    with caplog.at_level(logging.INFO):
        assert await worker.drain_once() == 0
    assert (await inbox.pending(), await inbox.length(), await inbox.dead_count()) == (0, 0, 1)
    [letter] = await inbox.dead_letters()
    assert letter.attempts == 5
    assert letter.error == "RuntimeError: cannot handle <payload>"  # never the payload
    assert "dead letters after 5 attempts" in caplog.text and poison not in caplog.text
    sample = metrics.registry.get_sample_value
    assert sample("deploybot_inbox_dead_letters_total", {}) == 1
    # It is not tried again, and the next good item is processed.
    await inbox.put("alertmanager", ["k2"], "good")
    assert await worker.drain_once() == 1
    assert process.seen == [poison] * 5 + ["good"]
    assert (await inbox.pending(), await inbox.length()) == (0, 0)


async def test_a_transient_failure_never_dead_letters_an_item(inbox: Inbox) -> None:
    class Unreachable(Exception):
        pass

    async def process(item: InboxItem) -> None:
        raise Unreachable("Semaphore is down")

    await inbox.put("semaphore", ["k1"], "webhook")
    worker = InboxWorker(inbox, process, "c1", retry_after_ms=0, transient=(Unreachable,))
    for _ in range(7):
        assert await worker.drain_once() == 0
    assert (await inbox.pending(), await inbox.dead_count()) == (1, 0)


async def test_a_failed_item_waits_for_the_retry_delay(inbox: Inbox) -> None:
    await inbox.put("semaphore", ["k1"], "bad")
    process = Recorder(fail={"bad"})
    worker = InboxWorker(inbox, process, "c1", retry_after_ms=60_000)
    assert await worker.drain_once() == 0
    assert await worker.drain_once() == 0
    assert process.seen == ["bad"]


async def test_the_worker_runs_until_stopped(inbox: Inbox, backend: Backend) -> None:
    done = asyncio.Event()

    async def process(item: InboxItem) -> None:
        if item.payload == "last":
            done.set()

    worker = InboxWorker(inbox, process, "c1", block_ms=50)
    running = asyncio.create_task(worker.run())
    writer = backend.make()
    await writer.put("semaphore", ["k1"], "first")
    await writer.put("semaphore", ["k2"], "last")
    await asyncio.wait_for(done.wait(), 5)
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert await inbox.length() == 0


async def test_the_worker_survives_an_unavailable_inbox(caplog: pytest.LogCaptureFixture) -> None:
    client = dead_redis()
    worker = InboxWorker(RedisInbox(client), Recorder(), "c1", block_ms=10, error_pause=0.01)
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(0.3)
    assert not running.done()
    worker.stop()
    await asyncio.wait_for(running, 5)
    assert "inbox unavailable" in caplog.text
    await client.aclose()


def dead_redis() -> aioredis.Redis:
    """A client of a port nobody listens on, failing at once instead of retrying."""
    return aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
