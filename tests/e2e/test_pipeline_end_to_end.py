"""Whole deployments over real sockets: Semaphore simulator -> signed webhooks -> the bot's
HTTP server -> Redis inbox -> decisions -> promotions back to the simulator."""

from __future__ import annotations

import pytest

from bot.core.model import DeploymentKind, DeploymentState

pytestmark = pytest.mark.redis

BASE, A, B = "b" * 40, "a" * 40, "c" * 40


async def test_a_pushed_commit_is_promoted_to_beta_then_prod_once_each(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.push(BASE, "base")

    async def prod_done() -> bool:
        return await harness.deployed("prod", BASE)

    await harness.until(prod_done)
    assert await harness.promotions() == [("beta", BASE), ("prod", BASE)]
    health = await harness.bot_http.get("/healthz")
    assert health.status_code == 200, health.text


async def test_a_failed_prod_deployment_rolls_back_to_the_last_good_one(harness) -> None:  # type: ignore[no-untyped-def]
    await harness.push(BASE, "base")

    async def base_on_prod() -> bool:
        return await harness.deployed("prod", BASE)

    await harness.until(base_on_prod)
    await harness.script(pipeline_file="deploy-prod.yml", commit_sha=A, result="failed")
    await harness.push(A, "A")

    async def rolled_back() -> bool:
        history = await harness.bot.store.history("demo", "prod")
        return any(
            d.kind is DeploymentKind.ROLLBACK and d.state is DeploymentState.SUCCEEDED
            for d in history
        )

    await harness.until(rolled_back)
    assert await harness.promotions() == [
        ("beta", BASE),
        ("prod", BASE),
        ("beta", A),
        ("prod", A),
        ("prod", BASE),
    ]
    state = await harness.bot.store.load("demo", "prod")
    assert A in state.bad
