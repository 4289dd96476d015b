"""Reconciliation finishes what lost webhooks left undone; `enforce: true` cordons the
Semaphore deployment target while a stage is blocked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis.asyncio as aioredis

from bot.scenarios.harness import Harness, running

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s, enforce: true}
"""
SHA = "d" * 40


@pytest.fixture
async def harness(redis_server: str) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    async with running(CONFIG, redis_url=redis_server, default_duration=0.1) as h:
        yield h


async def target_active(harness: Harness, name: str) -> bool:
    world = (await harness.control.get("/_sim/world")).json()
    targets = {t["name"]: t["active"] for t in world["projects"][0]["deployment_targets"]}
    return bool(targets[name])


async def test_without_any_webhook_reconciliation_completes_the_pipeline(harness: Harness) -> None:
    (await harness.control.put("/_sim/webhook", json={"url": None})).raise_for_status()
    await harness.push(SHA, "no webhooks")
    reconcile = harness.runtime.orchestrator.reconcile

    async def on_prod() -> bool:
        await reconcile()  # what the timer does every reconcile_interval
        return await harness.deployed("prod", SHA)

    await harness.until(on_prod, timeout=30)
    assert await harness.promotions() == [("deploy-beta.yml", SHA), ("deploy-prod.yml", SHA)]
    assert await harness.sim_events("webhook") == []
    # Every call reconciliation made to Semaphore is counted, by endpoint and result.
    sample = harness.runtime.metrics.registry.get_sample_value
    calls = {"endpoint": "POST /promotions", "result": "200"}
    assert sample("deploybot_semaphore_api_calls_total", calls) == 2
    listed = {"endpoint": "GET /pipelines", "result": "200"}
    assert (sample("deploybot_semaphore_api_calls_total", listed) or 0) >= 1


async def test_enforce_cordons_the_target_while_blocked_and_opens_it_to_deploy(
    harness: Harness,
) -> None:
    orchestrator = harness.runtime.orchestrator
    decision = await orchestrator.block("demo", "prod", "U0BLOCK", "DB migration")
    assert decision is not None

    async def prod_cordoned() -> bool:  # the effect may be carried out by a concurrent drain
        return not await target_active(harness, "prod")

    await harness.until(prod_cordoned)
    assert await target_active(harness, "beta")  # only the stage with enforce: true
    await harness.push(SHA, "held")

    async def on_beta() -> bool:
        return await harness.deployed("beta", SHA)

    await harness.until(on_beta)
    assert ("deploy-prod.yml", SHA) not in await harness.promotions()
    blocker = decision.state.blockers[0]
    await orchestrator.unblock("demo", "prod", "U0BLOCK", blocker.id)

    async def on_prod() -> bool:
        return await harness.deployed("prod", SHA)

    await harness.until(on_prod)
    assert await target_active(harness, "prod")  # it was opened before the promotion


async def test_the_periodic_pass_asks_about_an_idle_project_once_per_ceiling(
    harness: Harness,
) -> None:
    """Issue 19: with every webhook lost, an idle project's passed CI pipeline is found only
    when its look is due (once per reconcile_idle); once something runs there, every pass
    asks about it. A pass with no budget left asks nothing, and ticks all the same."""
    (await harness.control.put("/_sim/webhook", json={"url": None})).raise_for_status()
    orchestrator, clock = harness.runtime.orchestrator, harness.runtime.stages.clock
    idle = harness.runtime.timers.idle_every  # reconcile_interval: 1h, so 1h
    sample = harness.runtime.metrics.registry.get_sample_value

    def listed() -> float:
        labels = {"endpoint": "GET /pipelines", "result": "200"}
        return sample("deploybot_semaphore_api_calls_total", labels) or 0

    start = clock()
    assert await orchestrator.reconcile_within(100, idle, start) == []  # first seen: spread
    assert listed() == 0
    await harness.push(SHA, "lost webhook")

    async def ci_passed() -> bool:
        return any(e["state"] == "done" for e in await harness.sim_events("pipeline"))

    await harness.until(ci_passed)  # its webhook lost
    first = (await harness.runtime.store.reconciled())["demo"]
    assert start - idle < first <= start
    assert await orchestrator.reconcile_within(100, idle, first + idle / 2) == []
    assert listed() == 0 and await harness.promotions() == []
    assert await orchestrator.reconcile_within(100, idle, first + idle) == ["demo"]
    beta = (await harness.runtime.store.load("demo", "beta")).current
    assert listed() == 1 and beta is not None and beta.change.sha == SHA  # promoted

    later = first + idle + timedelta(minutes=1)
    assert await orchestrator.reconcile_within(0, idle, later) == []  # beta runs; no budget

    def described() -> float:
        labels = {"endpoint": "GET /pipelines/:id", "result": "200"}
        return sample("deploybot_semaphore_api_calls_total", labels) or 0

    described_before = described()

    async def on_prod() -> bool:
        nonlocal later
        later += timedelta(minutes=1)  # beta is in flight: asked about on every pass
        assert await orchestrator.reconcile_within(100, idle, later) == ["demo"]
        return await harness.deployed("prod", SHA)

    await harness.until(on_prod, timeout=30)
    assert await orchestrator.reconcile_within(100, idle, later + timedelta(minutes=1)) == []
    # How long each lost webhook took to be made up for: the CI pipeline's, up to the ceiling.
    ci = {"kind": "ci"}
    assert sample("deploybot_webhook_recovery_seconds_count", ci) == 1
    took = sample("deploybot_webhook_recovery_seconds_sum", ci)
    assert took is not None and 0 < took <= idle.total_seconds() + 60
    assert (sample("deploybot_webhook_recovery_seconds_count", {"kind": "deploy"}) or 0) >= 2
    # Running deploy pipelines were seen done in the pass's one listing, never described by
    # reconciliation: the two describes are the decisions' own, checking what Semaphore's
    # deployment history says is live before each stage starts (one per stage).
    assert described() == described_before + 2
