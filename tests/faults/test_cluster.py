"""The 3-master Redis Cluster fixture is a real cluster (a script across slots is refused
with CROSSSLOT there), so the store contract passing on it proves every script's keys share
a slot; the inbox (its Lua recording, consumer group and acks) works on it too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from bot.store import keys
from bot.store.inbox import RedisInbox

pytestmark = [pytest.mark.faults, pytest.mark.redis]


@pytest.fixture
async def cluster(redis_cluster: list[int]) -> AsyncIterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=redis_cluster[0], decode_responses=True)
    await client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    await client.aclose()


async def test_the_cluster_refuses_a_script_whose_keys_span_slots(cluster: RedisCluster) -> None:
    assert len({n.port for n in cluster.get_primaries()}) == 3
    script = "return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)"
    across = [keys.state("demo", "beta"), keys.state("demo", "prod")]
    assert cluster.keyslot(across[0]) != cluster.keyslot(across[1])
    with pytest.raises((ResponseError, RedisClusterException)):
        await cluster.eval(script, 2, *across)
    one_stage = [keys.state("demo", "beta"), keys.outbox("demo", "beta")]
    assert await cluster.eval(script, 2, *one_stage) == "OK"


async def test_the_inbox_records_takes_and_acks_on_the_cluster(cluster: RedisCluster) -> None:
    inbox = RedisInbox(cluster)  # type: ignore[arg-type]
    assert await inbox.put("semaphore", ["webhook:w1", "pipeline:p1:passed"], "{}")
    assert not await inbox.put("semaphore", ["pipeline:p1:passed"], "{}")
    taken = await inbox.take("c1", block_ms=0)
    assert [item.kind for item in taken] == ["semaphore"]
    assert await inbox.pending() == 1
    await inbox.ack(taken[0].id)
    assert await inbox.pending() == 0


async def test_redis_cluster_true_runs_the_stores_on_the_cluster(
    redis_cluster: list[int], cluster: RedisCluster
) -> None:
    from datetime import UTC, datetime
    from pathlib import Path

    from builders import change

    from bot.bootstrap import build_stage_service, build_stores
    from bot.config.loader import load_config
    from bot.core import events as ev
    from bot.service.effects import Effect, StartDeployment
    from bot.settings import Settings

    settings = Settings(redis_url=f"redis://127.0.0.1:{redis_cluster[1]}", redis_cluster=True)
    store, inbox = build_stores(settings)
    started: list[Effect] = []

    async def effects(effect: Effect) -> None:
        started.append(effect)

    example = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"
    svc = build_stage_service(load_config(example), store, effects=effects,
                              clock=lambda: datetime(2026, 12, 1, 9, 30, tzinfo=UTC))  # fmt: skip
    async with svc.batch():  # one acknowledgement across stages in several slots
        for stage in ("beta", "gamma", "prod"):
            await svc.handle("shop", stage, ev.ChangeReady(id=f"{stage}-1", change=change(1)))
    assert [e.stage for e in started if isinstance(e, StartDeployment)] == ["beta", "gamma", "prod"]
    assert all([await store.outbox("shop", s) == [] for s in ("beta", "gamma", "prod")])
    view = await store.change_view("shop", ["beta", "gamma", "prod"], change(1).sha)
    assert all(state.current is not None for state in view.states.values())
    assert await inbox.put_many("semaphore", [("k1", "1"), ("k1", "again"), ("k2", "2")]) == [
        True, False, True,
    ]  # fmt: skip
    assert [i.payload for i in await inbox.take("c1", block_ms=0)] == ["1", "2"]
    await store.close()
