"""Emergency deployments to a stage whose promotion hangs off the previous stage (issue 13
items 1 and 2): promoted from the previous stage's deploy pipeline of the change, or from CI
with the stage's dedicated emergency promotion; refused, before anything is asked of
Semaphore, when neither exists. The orchestrator and adapter against the simulator."""

from __future__ import annotations

import pytest

from bot.core.model import DeploymentKind, DeploymentState
from bot.orchestrator import EmergencyRefused
from bot.service.requests import Refused, emergency_plan
from semaphore_client.simulator.world import OutcomeDef
from tests.service.sim_rig import WORLD, Rig, rig

# beta hangs off CI, prod off beta's deploy pipeline (the default `hangs_off`).
CONFIG = """
roles: {emergency: [U0SRE], block: [U0BLOCK]}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s EMERGENCY}
"""
# CI also declares prod's deploy pipeline as `prod-emergency`.
EMERGENCY_WORLD = WORLD.replace(
    "          - {name: preview, pipeline_file: preview.yml}",
    "          - {name: preview, pipeline_file: preview.yml}\n"
    "          - {name: prod-emergency, pipeline_file: deploy-prod.yml}",
)
A, B = "a" * 40, "b" * 40


def config(emergency: bool) -> str:
    extra = ", emergency: {promotion: prod-emergency}" if emergency else ""
    return CONFIG.replace(" EMERGENCY", extra)


async def ci(r: Rig, sha: str) -> None:
    r.sim.engine.start_workflow("demo", commit_sha=sha)
    await r.sim.advance(1)
    await r.orchestrator.reconcile()


async def settle(r: Rig, seconds: float = 3) -> None:
    for _ in range(int(seconds * 2)):
        await r.sim.advance(0.5)
        await r.orchestrator.reconcile()


def prod_promotions(r: Rig) -> list[tuple[str, str]]:
    """(promotion name, commit) of every promotion whose pipeline is prod's deploy file."""
    rows = [p for p in r.sim.engine.promotions if p.scheduled_pipeline_id]
    pipelines = [r.pipeline(p.scheduled_pipeline_id) for p in rows]
    return [
        (row.name, pipeline.workflow.commit_sha)
        for row, pipeline in zip(rows, pipelines, strict=True)
        if pipeline.path.endswith("deploy-prod.yml")
    ]


async def test_an_emergency_to_prod_is_promoted_from_the_changes_beta_deploy_pipeline() -> None:
    async with rig(config_text=config(False)) as r:
        await r.orchestrator.block("demo", "prod", "U0BLOCK", "hands off")
        await ci(r, A)
        await settle(r)  # A deployed to beta; prod is blocked
        assert (await r.state("prod")).queue[0].change.sha == A
        change = (await r.state("beta")).good[0].change
        await r.orchestrator.emergency_of("demo", "prod", change, "U0SRE", "checkout down")
        await settle(r)

        prod = await r.state("prod")
        done = [d for d in await r.orchestrator.stages.store.history("demo", "prod")]
        emergency = next(d for d in done if d.kind is DeploymentKind.EMERGENCY)
        assert emergency.state is DeploymentState.SUCCEEDED and emergency.change.sha == A
        assert prod_promotions(r) == [("prod", A)]
        assert prod.good[0].kind is DeploymentKind.EMERGENCY


async def test_without_the_change_on_beta_nor_an_emergency_promotion_it_is_refused_in_words() -> (
    None
):
    async with rig(config_text=config(False)) as r:
        await r.orchestrator.block("demo", "beta", "U0BLOCK", "hands off")
        await ci(r, B)  # B's CI passed; B waits on beta
        project = r.orchestrator.config.project("demo")
        plan = await emergency_plan(r.orchestrator.stages, project, "prod", B[:7], "U0SRE")
        assert isinstance(plan, Refused)
        assert "has not been deployed to beta" in plan.text
        assert "`emergency: {promotion: NAME}`" in plan.text
        change = (await r.state("beta")).queue[0].change
        with pytest.raises(EmergencyRefused):
            await r.orchestrator.emergency_of("demo", "prod", change, "U0SRE", "checkout down")
        await settle(r)
        assert prod_promotions(r) == []


async def test_with_an_emergency_promotion_a_change_that_never_reached_beta_goes_to_prod() -> None:
    async with rig(world=EMERGENCY_WORLD, config_text=config(True)) as r:
        await r.orchestrator.block("demo", "beta", "U0BLOCK", "hands off")
        await ci(r, B)
        project = r.orchestrator.config.project("demo")
        plan = await emergency_plan(r.orchestrator.stages, project, "prod", B[:7], "U0SRE")
        assert not isinstance(plan, Refused)
        change = (await r.state("beta")).queue[0].change
        await r.orchestrator.emergency_of("demo", "prod", change, "U0SRE", "checkout down")
        await settle(r)
        assert prod_promotions(r) == [("prod-emergency", B)]
        assert (await r.state("prod")).good[0].change.sha == B


async def test_an_emergency_of_a_commit_whose_ci_failed_says_so() -> None:
    async with rig(config_text=config(False)) as r:
        r.sim.engine.scripts.items.append(
            OutcomeDef(pipeline_file=".semaphore/semaphore.yml", commit_sha=B, result="failed")
        )
        await ci(r, B)
        assert await r.orchestrator.ci_state("demo", B[:7]) == "its CI pipeline failed"
        assert await r.orchestrator.ci_state("demo", "c" * 7) == "no CI pipeline of it ran on main"


def test_an_emergency_promotion_on_a_stage_promoted_from_ci_is_a_config_error() -> None:
    from bot.config.loader import ConfigError, load_config_text

    text = CONFIG.replace("bake: 0s}", "bake: 0s, emergency: {promotion: x}}", 1)
    with pytest.raises(ConfigError) as refused:
        load_config_text(text.replace(" EMERGENCY", ""), "<test>")
    assert "promoted from CI already" in str(refused.value)
