"""Whole deployments over real sockets: Semaphore simulator -> signed webhooks -> the bot's
HTTP server -> Redis inbox -> decisions -> promotions back to the simulator."""

from __future__ import annotations

import pytest

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.harness import Harness

pytestmark = pytest.mark.redis

BASE, A, B = "b" * 40, "a" * 40, "c" * 40


async def test_a_pushed_commit_is_promoted_to_beta_then_prod_once_each(harness: Harness) -> None:
    await harness.push(BASE, "base")

    async def prod_done() -> bool:
        return await harness.deployed("prod", BASE)

    await harness.until(prod_done)
    assert await harness.promotions() == [("deploy-beta.yml", BASE), ("deploy-prod.yml", BASE)]
    assert harness.bot_http is not None
    health = await harness.bot_http.get("/healthz")
    assert health.status_code == 200, health.text


async def test_a_failed_prod_deployment_rolls_back_to_the_last_good_one(harness: Harness) -> None:
    await harness.push(BASE, "base")

    async def base_on_prod() -> bool:
        return await harness.deployed("prod", BASE)

    await harness.until(base_on_prod)
    await harness.script(pipeline_file="deploy-prod.yml", commit_sha=A, result="failed")
    await harness.push(A, "A")

    async def rolled_back() -> bool:
        history = await harness.store.history("demo", "prod")
        return any(
            d.kind is DeploymentKind.ROLLBACK and d.state is DeploymentState.SUCCEEDED
            for d in history
        )

    await harness.until(rolled_back)
    assert await harness.promotions() == [
        ("deploy-beta.yml", BASE),
        ("deploy-prod.yml", BASE),
        ("deploy-beta.yml", A),
        ("deploy-prod.yml", A),
        ("deploy-prod.yml", BASE),
    ]
    state = await harness.store.load("demo", "prod")
    assert A in state.bad
