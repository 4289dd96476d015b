"""A rig for the orchestrator and the Semaphore adapter against the simulator over HTTP, on
the simulator's manual clock (the bot reads the same clock), with pipelines' news delivered
as the simulator's webhook bodies."""

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
from bot.core.model import StageState
from bot.orchestrator import Orchestrator
from bot.service.effects import Tell
from bot.store import MemoryStore
from semaphore_client import PipelineDoneEvent, RetryPolicy, SemaphoreClient
from semaphore_client.simulator import GoferTimes, ManualClock, Simulator
from semaphore_client.simulator.engine import SimPipeline
from semaphore_client.simulator.webhooks import webhook_payload
from semaphore_client.simulator.world import parse_world

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
async def rig(world: str = WORLD, config_text: str = CONFIG) -> AsyncIterator[Rig]:
    config = load_config_text(config_text, "<test>")
    clock = ManualClock()
    told: list[Tell] = []
    async with (
        Simulator(
            parse_world(world), clock=clock, default_duration=1.0, gofer=GoferTimes(delay=0.5)
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
