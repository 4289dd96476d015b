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
