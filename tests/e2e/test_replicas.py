"""Two bot replicas on one Redis, every Semaphore webhook delivered to both, several times,
and every delivery also handed straight to both orchestrators at once (as if two workers had
taken it): each deployment is still promoted exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from bot.http.server import start_server
from bot.runtime import Runtime, build_runtime
from bot.scenarios.harness import SECRET, running
from bot.store import RedisStore
from bot.store.inbox import InboxItem, RedisInbox

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s}
"""
COPIES = 4  # deliveries of each webhook to each replica


class FanOut:
    """Stands between Semaphore and the replicas: forwards every webhook to each of them
    COPIES times, concurrently, and hands it to each orchestrator directly as well."""

    def __init__(self, replicas: list[Runtime], urls: list[str]) -> None:
        self.replicas, self.urls = replicas, urls
        self.deliveries = 0
        self.statuses: Counter[int] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-type"))
        }
        async with httpx.AsyncClient(timeout=10) as http:
            posts = [
                http.post(url, content=body, headers=headers)
                for url in self.urls
                for _ in range(COPIES)
            ]
            responses = await asyncio.gather(*posts)
        self.deliveries += len(responses)
        self.statuses.update(r.status_code for r in responses)
        item = InboxItem(id="direct", kind="semaphore", payload=body.decode(), received_at=None)  # type: ignore[arg-type]
        await asyncio.gather(*(r.orchestrator.process(item) for r in self.replicas))
        return web.json_response({"forwarded": len(responses)})


async def test_duplicated_deliveries_to_two_replicas_promote_each_deployment_once(
    redis_server: str,
) -> None:
    flush = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await flush.flushdb()
    await flush.aclose()
    async with running(
        CONFIG, redis_url=redis_server, default_duration=0.1, start_bot=False
    ) as harness:
        clients = [aioredis.Redis.from_url(redis_server, decode_responses=True) for _ in range(2)]
        replicas = [
            build_runtime(
                harness.settings,
                harness.config,
                store=RedisStore(c),
                inbox=RedisInbox(c),
                consumer=f"replica-{i}",
            )
            for i, c in enumerate(clients)
        ]
        servers = [await r.start() for r in replicas]
        fan_out = FanOut(replicas, [f"{s.url}/semaphore/webhook" for s in servers])
        app = web.Application()
        app.router.add_post("/hook", fan_out.handle)
        relay = await start_server(app, access_log=False)
        try:
            hook = {"url": f"{relay.url}/hook", "secret": SECRET, "timeout": 5000}
            (await harness.control.put("/_sim/webhook", json=hook)).raise_for_status()
            shas = [f"{n:040x}" for n in range(1, 11)]
            for sha in shas:
                await harness.push(sha, f"change {sha[-2:]}")

                async def on_prod(sha: str = sha) -> bool:
                    return await harness.deployed("prod", sha)

                await harness.until(on_prod, timeout=30)
            promoted = await harness.promotions()
            started = [
                d
                for stage in ("beta", "prod")
                for d in await harness.store.history("demo", stage)
                if d.started_at
            ]
        finally:
            await relay.stop()
            for replica in replicas:
                await replica.stop()
            for client in clients:
                await client.aclose()
    print(f"{fan_out.deliveries} webhook deliveries, {len(promoted)} promotions")
    assert fan_out.deliveries >= 200
    assert set(fan_out.statuses) == {200}
    assert Counter(promoted) == Counter(
        {(f"deploy-{stage}.yml", sha): 1 for stage in ("beta", "prod") for sha in shas}
    )
    assert len(started) == len(promoted) == 20
