"""Over real sockets, the simulator's tag, pull-request and nightly builds never make a change:
not by webhook (signed, through the bot's HTTP route and Redis inbox), not by reconciliation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.scenarios.harness import Harness, running
from semaphore_client.simulator import World, parse_world

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
WORLD = """
organization: demo-org
projects:
  - name: demo
    deployment_targets: [{name: beta}, {name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        promotions: [{name: beta, pipeline_file: deploy-beta.yml, deployment_target: beta}]
      .semaphore/deploy-beta.yml:
        queue: {name: demo-beta}
        promotions: [{name: prod, pipeline_file: deploy-prod.yml, deployment_target: prod}]
      .semaphore/deploy-prod.yml:
        queue: {name: demo-prod}
      .semaphore/nightly.yml:
        name: Nightly
        promotions: [{name: beta, pipeline_file: deploy-beta.yml, deployment_target: beta}]
"""
MAIN, TAG, PR, NIGHTLY = "a" * 40, "7" * 40, "9" * 40, "e" * 40


def world() -> World:
    return parse_world(WORLD)


@pytest.fixture
async def harness(redis_server: str) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    async with running(CONFIG, world=world(), redis_url=redis_server, default_duration=0.1) as h:
        yield h


async def push_the_others(harness: Harness) -> None:
    """A tag, a pull request, and a nightly run of main: each passes."""
    await harness.push(TAG, "release", tag="v1.2.3")
    await harness.push(PR, "feature", branch="feature-x", pull_request=42)
    await harness.push(NIGHTLY, "nightly", pipeline_file=".semaphore/nightly.yml")

    async def all_passed() -> bool:
        done = [e for e in await harness.sim_events("pipeline") if e["state"] == "done"]
        return {e["commit_sha"] for e in done if e["result"] == "passed"} >= {TAG, PR, NIGHTLY}

    await harness.until(all_passed)


async def seen_by_the_bot(harness: Harness) -> set[str]:
    """Every sha the bot queued, ran or finished on any stage."""
    found = set()
    for stage in ("beta", "prod"):
        state = await harness.store.load("demo", stage)
        for d in [*state.queue, *([state.current] if state.current else [])]:
            found.add(d.change.sha)
        found |= {d.change.sha for d in await harness.store.history("demo", stage)}
    return found


async def test_webhooks_of_a_tag_a_pull_request_and_a_nightly_build_change_nothing(
    harness: Harness,
) -> None:
    await push_the_others(harness)

    async def three_delivered() -> bool:
        hooks = await harness.sim_events("webhook")
        return {e["commit_sha"] for e in hooks if e["state"] == "delivered"} >= {TAG, PR, NIGHTLY}

    await harness.until(three_delivered)
    await harness.push(MAIN, "main")

    async def main_on_prod() -> bool:
        return await harness.deployed("prod", MAIN)

    await harness.until(main_on_prod)
    assert await harness.promotions() == [("deploy-beta.yml", MAIN), ("deploy-prod.yml", MAIN)]
    assert await seen_by_the_bot(harness) == {MAIN}


async def test_reconciliation_passes_over_a_newer_nightly_build_and_tags_and_pull_requests(
    harness: Harness,
) -> None:
    (await harness.control.put("/_sim/webhook", json={"url": None})).raise_for_status()
    await harness.push(MAIN, "main")
    await push_the_others(harness)  # the nightly build of main is the newest pipeline on main
    reconcile = harness.runtime.orchestrator.reconcile

    async def main_on_prod() -> bool:
        await reconcile()
        return await harness.deployed("prod", MAIN)

    await harness.until(main_on_prod)
    await reconcile()
    assert await harness.promotions() == [("deploy-beta.yml", MAIN), ("deploy-prod.yml", MAIN)]
    assert await seen_by_the_bot(harness) == {MAIN}
    assert await harness.sim_events("webhook") == []
