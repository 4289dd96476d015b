"""The bot, the Semaphore simulator and a real redis-server, all on loopback.

`harness` starts the simulator (built-in `demo` world, fast pipelines), then the bot's whole
runtime (HTTP server, inbox worker, timers) on a real Redis, and points the simulator's signed
webhooks at the bot. Tests drive it over HTTP, like Semaphore and people would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from bot.config.loader import load_config_text
from bot.core.model import DeploymentState
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.store import RedisStore
from bot.store.inbox import RedisInbox
from semaphore_client.simulator import Simulator

SECRET = "e2e-webhook-secret"
CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
        bake: 1s
      - name: prod
        promotion: prod
        bake: 1s
        rollback: {policy: auto}
"""


@dataclass
class Harness:
    sim: Simulator
    bot: Runtime
    control: httpx.AsyncClient
    bot_http: httpx.AsyncClient

    async def push(self, sha: str, message: str = "change") -> dict[str, Any]:
        body = {"project": "demo", "branch": "main", "commit_sha": sha, "commit_message": message}
        response = await self.control.post("/_sim/push", json=body)
        response.raise_for_status()
        return dict(response.json())

    async def script(self, **outcome: Any) -> None:
        (await self.control.post("/_sim/outcomes", json=outcome)).raise_for_status()

    async def sim_events(self, type_: str | None = None) -> list[dict[str, Any]]:
        events = (await self.control.get("/_sim/events")).json()["events"]
        return [e for e in events if type_ is None or e["type"] == type_]

    async def deployed(self, stage: str, sha: str) -> bool:
        """`sha` finished (and baked) on `stage`."""
        history = await self.bot.store.history("demo", stage)
        good = (DeploymentState.DONE, DeploymentState.SUCCEEDED)
        return any(d.change.sha == sha and d.state in good for d in history)

    async def promotions(self) -> list[tuple[str, str]]:
        """(stage, commit) of every pipeline the simulator started for a promotion, in order."""
        events = await self.sim_events("pipeline")
        started = [
            e for e in events if e["triggered_by"] == "promotion" and e["state"] == "initializing"
        ]
        return [(_stage(e["pipeline_file"]), e["commit_sha"]) for e in started]

    async def until(self, check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not await check():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {check.__name__}")
            await asyncio.sleep(0.05)


def _stage(pipeline_file: str) -> str:
    return pipeline_file.rsplit("deploy-", 1)[-1].removesuffix(".yml")


@pytest.fixture
async def harness(redis_server: str) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    async with Simulator(default_duration=0.2) as sim:
        settings = Settings(
            semaphore_api_url=sim.base_url,
            semaphore_api_token="e2e-token",
            semaphore_webhook_secret=SECRET,
        )
        bot = build_runtime(
            settings, load_config_text(CONFIG), store=RedisStore(client), inbox=RedisInbox(client)
        )
        server = await bot.start()
        async with (
            httpx.AsyncClient(base_url=sim.url, timeout=10) as control,
            httpx.AsyncClient(base_url=server.url, timeout=10) as bot_http,
        ):
            hook = {"url": f"{server.url}/semaphore/webhook", "secret": SECRET}
            (await control.put("/_sim/webhook", json=hook)).raise_for_status()
            yield Harness(sim, bot, control, bot_http)
        await bot.stop()
