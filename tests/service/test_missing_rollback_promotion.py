"""A rollback whose old commit's pipeline file does not declare the rollback promotion
(issue 12 bot item 4, on the simulator's per-commit pipeline files, item 5): Semaphore answers
400 "Target for switch ... not found"; the stage is held at once, with a blocker naming that
answer, and people are told what they can do. Nothing is retried, nothing is lost silently."""

from __future__ import annotations

import httpx

from bot.core.decision import NoticeKind
from semaphore_client.simulator.world import OutcomeDef, PipelineDef
from tests.service.sim_rig import Rig, rig

WORLD = """
organization: demo-org
projects:
  - name: demo
    repository_url: https://github.com/demo-org/demo
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        blocks: [{name: Test}]
        promotions:
          - {name: beta, pipeline_file: deploy-beta.yml}
      .semaphore/deploy-beta.yml:
        name: Deploy to beta
        blocks: [{name: Deploy}]
        promotions:
          - {name: prod, pipeline_file: deploy-prod.yml}
          - {name: prod-rollback, pipeline_file: rollback-prod.yml}
      .semaphore/deploy-prod.yml:
        name: Deploy to prod
        blocks: [{name: Deploy}]
      .semaphore/rollback-prod.yml:
        name: Roll back prod
        blocks: [{name: Roll back}]
"""
CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s, rollback: {policy: auto, promotion: prod-rollback}}
"""
#: base's deploy-beta.yml, from before prod-rollback was declared.
OLD_DEPLOY_BETA = PipelineDef.model_validate(
    {
        "name": "Deploy to beta",
        "blocks": [{"name": "Deploy"}],
        "promotions": [{"name": "prod", "pipeline_file": "deploy-prod.yml"}],
    }
)
BASE, A = "b" * 40, "a" * 40


async def settle(r: Rig, seconds: float = 4) -> None:
    for _ in range(int(seconds * 2)):
        await r.sim.advance(0.5)
        await r.orchestrator.reconcile()


async def test_a_rollback_the_old_file_cannot_run_holds_the_stage_and_says_what_to_do() -> None:
    async with rig(world=WORLD, config_text=CONFIG) as r:
        r.sim.engine.start_workflow(
            "demo", commit_sha=BASE, files={".semaphore/deploy-beta.yml": OLD_DEPLOY_BETA}
        )
        await settle(r)
        assert (await r.state("prod")).good[0].change.sha == BASE
        r.sim.engine.scripts.items.append(
            OutcomeDef(pipeline_file="deploy-prod.yml", commit_sha=A, result="failed")
        )
        r.sim.engine.start_workflow("demo", commit_sha=A)
        await settle(r)  # A fails on prod; its rollback to base is refused by Semaphore

        prod = await r.state("prod")
        assert prod.current is None and prod.queue == ()
        [held] = prod.blockers
        assert held.id.startswith("rollback-not-started:") and "not found" in held.reason
        [alert] = [t.notice.text for t in r.told if t.notice.kind is NoticeKind.ROLLBACK_FAILED]
        assert "/deploy rollback prod to SHA" in alert and "prod-rollback" in alert
        assert r.said(NoticeKind.NOT_STARTED) == []  # no pointless retries


async def test_a_push_can_carry_its_own_pipeline_files() -> None:
    async with (
        rig(world=WORLD, config_text=CONFIG) as r,
        httpx.AsyncClient(base_url=r.sim.url) as control,
    ):
        text = "name: Deploy to beta\nblocks: [{name: Deploy}]\n"
        body = {
            "project": "demo",
            "commit_sha": BASE,
            "files": {".semaphore/deploy-beta.yml": text},
        }
        pushed = await control.post("/_sim/push", json=body)
        assert pushed.status_code == 200
        workflow = r.sim.engine.workflows[pushed.json()["workflow_id"]]
        assert workflow.spec(".semaphore/deploy-beta.yml").promotions == []
        bad = {**body, "files": {".semaphore/deploy-beta.yml": "blocks: ["}}
        refused = await control.post("/_sim/push", json=bad)
        assert refused.status_code == 400 and "not a valid pipeline file" in refused.text
