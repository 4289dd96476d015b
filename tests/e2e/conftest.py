"""The bot, the Semaphore simulator and a real redis-server, all on loopback (see
bot/scenarios/harness.py): tests drive them over HTTP, like Semaphore and people would."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.scenarios.harness import Harness, running

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


@pytest.fixture
async def harness(redis_server: str) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    async with running(CONFIG, redis_url=redis_server) as h:
        yield h
