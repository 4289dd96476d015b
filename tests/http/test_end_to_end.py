"""The Semaphore simulator posts its signed webhook to this server over loopback; the item
lands in a RedisInbox on a real redis-server."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest
import redis.asyncio as aioredis

from bot.http import HttpDeps
from bot.store.inbox import RedisInbox
from semaphore_client import PipelineDoneEvent, PipelineResult
from semaphore_client.simulator import Simulator

Serve = Callable[..., Awaitable[httpx.AsyncClient]]
SECRET = "e2e-secret"


@pytest.mark.redis
async def test_a_simulated_pipeline_lands_in_the_redis_inbox(
    serve: Serve, deps: HttpDeps, redis_server: str
) -> None:
    redis = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await redis.flushdb()
    inbox = RedisInbox(redis)
    bot = await serve(inbox=inbox, webhook_secret=SECRET)
    url = f"{bot.base_url}/semaphore/webhook"
    async with (
        Simulator(default_duration=0.05, webhook_url=url, webhook_secret=SECRET) as sim,
        httpx.AsyncClient(base_url=sim.url, timeout=5) as control,
    ):
        pushed = (
            await control.post("/_sim/push", json={"project": "demo", "commit_sha": "e" * 40})
        ).json()
        items = []
        for _ in range(100):
            items += await inbox.take("replica-a", block_ms=50)
            if items:
                break
        await sim.drain_webhooks()
        events = (await control.get("/_sim/events")).json()["events"]

    [item] = items
    event = PipelineDoneEvent.from_body(item.payload)
    assert item.kind == "semaphore"
    assert event.pipeline.ppl_id == pushed["pipeline_id"]
    assert event.pipeline.result is PipelineResult.PASSED
    assert event.revision.commit_sha == "e" * 40
    delivered = [(e["pipeline_id"], e["http_status"]) for e in events if e["type"] == "webhook"]
    assert delivered == [(pushed["pipeline_id"], 200)]
    await redis.aclose()
