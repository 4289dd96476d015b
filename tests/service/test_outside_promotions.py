"""Promotions deploybot did not trigger (issue 13 items 15 and 16): a pipeline promoted from
the same source as a deployment the bot runs never finishes that deployment unless it is the
deployment's own promotion; a deploy pipeline someone started in Semaphore's UI is recorded,
shown, and becomes last good when it passes. The orchestrator and the Semaphore adapter run
against the simulator on its manual clock, and pipelines' news arrives as the simulator's
webhook bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.adapters.semaphore import Semaphore, SemaphoreEffects
from bot.bootstrap import build_stage_service
from bot.config.loader import load_config_text
from bot.core.decision import NoticeKind
from bot.core.model import DeploymentKind, DeploymentState, StageState
from bot.orchestrator import Orchestrator
from bot.service.effects import Tell
from bot.store import MemoryStore
from semaphore_client import PipelineDoneEvent, RetryPolicy, SemaphoreClient
from semaphore_client.simulator import GoferTimes, ManualClock, Simulator
from semaphore_client.simulator.engine import SimPipeline
from semaphore_client.simulator.webhooks import webhook_payload
from semaphore_client.simulator.world import OutcomeDef, parse_world

# CI declares beta's promotion and a `preview` one no stage uses; beta's deploy pipeline
# declares prod's promotion. No deployment targets: the promotions list says it all.
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
          - {name: preview, pipeline_file: preview.yml}
      .semaphore/deploy-beta.yml:
        name: Deploy to beta
        blocks: [{name: Deploy}]
        promotions:
          - {name: prod, pipeline_file: deploy-prod.yml}
      .semaphore/preview.yml:
        name: Preview
        blocks: [{name: Deploy}]
      .semaphore/deploy-prod.yml:
        name: Deploy to prod
        blocks: [{name: Deploy}]
"""
CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 0s}
      - {name: prod, promotion: prod, bake: 0s}
"""


@dataclass
class Rig:
    sim: Simulator
    orchestrator: Orchestrator
    told: list[Tell]

    async def state(self, stage: str) -> StageState:
        return await self.orchestrator.stages.store.load("demo", stage)

    async def webhook(self, pipeline: SimPipeline) -> None:
        """Semaphore's "pipeline done" webhook for `pipeline`, as the bot receives it."""
        body = json.dumps(webhook_payload(pipeline, self.sim.world)).encode()
        await self.orchestrator.on_pipeline_done(PipelineDoneEvent.from_body(body))

    def pipeline(self, ppl_id: str) -> SimPipeline:
        return self.sim.engine.pipelines[ppl_id]

    def said(self, kind: NoticeKind) -> list[str]:
        return [t.notice.text for t in self.told if t.notice.kind is kind]


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    config = load_config_text(CONFIG, "<test>")
    clock = ManualClock()
    told: list[Tell] = []
    async with (
        Simulator(
            parse_world(WORLD), clock=clock, default_duration=1.0, gofer=GoferTimes(delay=0.5)
        ) as sim,
        SemaphoreClient(token="t", base_url=sim.base_url, retry=RetryPolicy.never()) as client,
    ):

        def now() -> datetime:
            return datetime.fromtimestamp(clock.now(), UTC)

        async def notices(batch: list[Tell]) -> None:
            told.extend(batch)

        stages = build_stage_service(config, MemoryStore(), clock=now)
        semaphore = Semaphore(client, config)
        effects = SemaphoreEffects(semaphore, stages)
        stages.effects, stages.notices = effects, notices  # type: ignore[assignment]
        yield Rig(sim, Orchestrator(config, stages, semaphore, effects), told)


def promote(r: Rig, source: str, name: str, user: str = "U-person") -> None:
    """A person clicks a promotion in Semaphore's UI."""
    r.sim.engine.promoter.trigger(
        r.pipeline(source), name, override=False, parameters={}, request_token="", user=user
    )


def promoted(r: Rig, source: str, name: str) -> SimPipeline:
    [row] = [p for p in r.sim.engine.promotions if p.source_ppl_id == source and p.name == name]
    return r.pipeline(row.scheduled_pipeline_id)


async def test_another_promotion_of_the_same_source_does_not_finish_the_deployment() -> None:
    async with rig() as r:
        _, ci = r.sim.engine.start_workflow("demo", commit_sha="a" * 40)
        await r.sim.advance(1)
        await r.orchestrator.reconcile()  # A is ready: beta promoted, not scheduled yet
        running = (await r.state("beta")).current
        assert running is not None and running.deploy_pipeline_id == ""
        r.sim.engine.scripts.items.append(
            OutcomeDef(pipeline_file=".semaphore/preview.yml", result="failed", duration=0.2)
        )
        promote(r, ci.ppl_id, "preview")  # someone starts a preview from the same CI pipeline
        await r.sim.advance(0.9)
        preview = promoted(r, ci.ppl_id, "preview")
        await r.webhook(preview)  # the preview failed; beta's own pipeline is still running

        beta = await r.state("beta")
        assert beta.current is not None and beta.current.id == running.id
        assert beta.current.state is DeploymentState.RUNNING
        assert beta.current.deploy_pipeline_id not in ("", preview.ppl_id)
        assert r.said(NoticeKind.FAILED) == []


async def test_a_promotion_done_in_semaphores_ui_is_recorded_and_becomes_last_good() -> None:
    async with rig() as r:
        _, ci = r.sim.engine.start_workflow("demo", commit_sha="b" * 40, commit_message="fix")
        await r.sim.advance(1)
        await r.orchestrator.block("demo", "beta", "U0BLOCK", "DB migration")
        await r.orchestrator.reconcile()  # held by the blocker: the bot promotes nothing
        assert (await r.state("beta")).current is None
        promote(r, ci.ppl_id, "beta", user="U-alice")  # someone goes past it in Semaphore
        await r.sim.advance(2)
        beta_pipeline = promoted(r, ci.ppl_id, "beta")
        await r.webhook(beta_pipeline)

        beta = await r.state("beta")
        [outside] = beta.good
        assert outside.kind is DeploymentKind.OUTSIDE
        assert outside.change.sha == "b" * 40 and outside.deploy_pipeline_id == beta_pipeline.ppl_id
        [said] = r.said(NoticeKind.OUTSIDE_PAST_BLOCK)
        assert "U-alice" in said and "DB migration" in said and "bbbbbbb" in said
        history = await r.orchestrator.stages.store.history("demo", "beta")
        assert [d.kind for d in history] == [DeploymentKind.OUTSIDE]
        audit = await r.orchestrator.stages.store.audit("demo", "beta")
        assert any(e.action == "outside_deployment" for e in audit)

        await r.webhook(beta_pipeline)  # the same webhook again: recorded once
        assert len((await r.state("beta")).good) == 1
        assert len(r.said(NoticeKind.OUTSIDE_PAST_BLOCK)) == 1


async def test_the_bots_own_finished_pipelines_are_not_taken_for_outside_ones() -> None:
    async with rig() as r:
        r.sim.engine.start_workflow("demo", commit_sha="c" * 40)
        await r.sim.advance(1)
        await r.orchestrator.reconcile()
        await r.sim.advance(0.6)
        await r.orchestrator.reconcile()  # the bot learns its pipeline
        await r.sim.advance(1)
        beta = await r.state("beta")
        deployed = beta.current.deploy_pipeline_id if beta.current else ""
        assert deployed
        for _ in range(2):  # the webhook, and a duplicate of it after the deployment ended
            await r.webhook(r.pipeline(deployed))
        beta = await r.state("beta")
        assert [d.kind for d in beta.good] == [DeploymentKind.ROLLFORWARD]
        assert r.said(NoticeKind.OUTSIDE) == r.said(NoticeKind.OUTSIDE_PAST_BLOCK) == []
