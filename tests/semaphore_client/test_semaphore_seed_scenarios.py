"""DESIGN.md §1 item 3, reproduced by the simulator alone (no deploybot), over HTTP.

World: CI auto-promotes to a roll-forward deploy pipeline; the deploy pipeline uses fail-fast
and a ``result = 'failed'`` auto-promotion into a rollback pipeline that shares its queue.
Time is a manual clock moved with ``POST /_sim/advance``, so every timestamp is exact. Gofer
schedules a promotion 0.2 s after it is triggered (the simulator's default).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from semaphore_client import (
    Pipeline,
    PipelineResult,
    PipelineTrigger,
    ResultReason,
    SemaphoreClient,
)
from semaphore_client.simulator import ManualClock, Simulator, parse_world

WORLD = """
organization: shop-org
projects:
  - name: shop
    deployment_targets: [{name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        promotions:
          - name: Deploy
            pipeline_file: deploy.yml
            deployment_target: prod
            auto_promote: {when: "result = 'passed' and branch = 'main'"}
      .semaphore/deploy.yml:
        name: Roll forward
        queue: {name: prod-deploys, processing: serialized}
        AUTO_CANCEL
        fail_fast: {stop: {when: "true"}}
        promotions:
          - name: Rollback
            pipeline_file: rollback.yml
            deployment_target: prod
            auto_promote: {when: "result = 'failed'"}
      .semaphore/rollback.yml:
        name: Roll back
        queue: {name: prod-deploys, processing: serialized}
outcomes:
  - {pipeline_file: semaphore.yml, duration: 1}
  - {pipeline_file: deploy.yml, duration: 3}
  - {pipeline_file: deploy.yml, commit_sha: aaaa, result: failed, duration: 3, fail_after: 2}
  - {pipeline_file: rollback.yml, duration: 1, pending: 2}
"""


class Scenario:
    """Drives one run over HTTP: the control API, and the v1alpha API through the client."""

    def __init__(self, sim: Simulator, control: httpx.AsyncClient, api: SemaphoreClient):
        self.sim, self.control, self.api = sim, control, api
        self.start = sim.clock.now()

    async def push(self, sha: str) -> None:
        body = {"project": "shop", "commit_sha": sha}
        response = await self.control.post("/_sim/push", json=body)
        assert response.status_code == 200, response.text

    async def advance_to(self, seconds: float) -> None:
        elapsed = self.sim.clock.now() - self.start
        response = await self.control.post("/_sim/advance", json={"seconds": seconds - elapsed})
        assert response.status_code == 200, response.text

    async def events(self) -> list[dict[str, Any]]:
        response = await self.control.get("/_sim/events")
        return list(response.json()["events"])

    async def pipeline(self, file: str, sha: str) -> Pipeline:
        for event in await self.events():
            if event["pipeline_file"] == f".semaphore/{file}" and event["commit_sha"] == sha:
                return await self.api.get_pipeline(event["pipeline_id"])
        raise AssertionError(f"no {file} pipeline for {sha}")

    async def started(self) -> list[tuple[str, str]]:
        """(file, commit) of every pipeline that started running, in order."""
        return [
            (e["pipeline_file"].rsplit("/", 1)[1], e["commit_sha"])
            for e in await self.events()
            if e["type"] == "pipeline" and e["state"] == "running"
        ]

    def at(self, moment: datetime | None) -> float | None:
        """Seconds since the scenario began."""
        return None if moment is None else round(moment.timestamp() - self.start, 6)


@asynccontextmanager
async def scenario(auto_cancel: str) -> AsyncIterator[Scenario]:
    world = parse_world(WORLD.replace("AUTO_CANCEL", auto_cancel))
    async with (
        Simulator(world, clock=ManualClock()) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
        SemaphoreClient(token="t", base_url=sim.base_url) as api,
    ):
        yield Scenario(sim, control, api)


@pytest.mark.parametrize("strategy", ["running", "queued"])
async def test_auto_cancel_cancels_the_rollback_and_b_runs_on_the_broken_deployment(
    strategy: str,
) -> None:
    async with scenario(f'auto_cancel: {{{strategy}: {{when: "true"}}}}') as s:
        await s.push("aaaa")  # t=0: CI A; t=1.2 roll-forward A starts
        await s.advance_to(3.5)  # t=3.2: A fails (fail-fast), rollback A pending from 3.4
        await s.push("bbbb")  # t=3.5: B pushed; its CI passes at 4.5, B's deploy at 4.7
        await s.advance_to(10)

        forward_a = await s.pipeline("deploy.yml", "aaaa")
        rollback_a = await s.pipeline("rollback.yml", "aaaa")
        forward_b = await s.pipeline("deploy.yml", "bbbb")
        assert (forward_a.result, s.at(forward_a.done_at)) == (PipelineResult.FAILED, 3.2)
        assert rollback_a.result is PipelineResult.CANCELED
        assert rollback_a.result_reason is ResultReason.STRATEGY
        assert rollback_a.running_at is None and s.at(rollback_a.done_at) == 4.7
        assert rollback_a.triggerer is not None
        assert rollback_a.triggerer.ppl_triggered_by is PipelineTrigger.AUTO_PROMOTION
        assert forward_b.passed and s.at(forward_b.running_at) == 4.7
        assert await s.started() == [
            ("semaphore.yml", "aaaa"),
            ("deploy.yml", "aaaa"),
            ("semaphore.yml", "bbbb"),
            ("deploy.yml", "bbbb"),
        ]  # the rollback of A never ran: B was deployed on top of the broken A


async def test_without_auto_cancel_b_deploys_before_the_rollback() -> None:
    async with scenario("") as s:
        await s.push("aaaa")  # t=0: CI A; t=1.2 roll-forward A runs until it fails at 3.2
        await s.advance_to(0.5)
        await s.push("bbbb")  # t=0.5: CI B queues behind CI A (same implicit queue)
        await s.advance_to(12)

        forward_a = await s.pipeline("deploy.yml", "aaaa")
        forward_b = await s.pipeline("deploy.yml", "bbbb")
        rollback_a = await s.pipeline("rollback.yml", "aaaa")
        assert forward_a.result is PipelineResult.FAILED and s.at(forward_a.done_at) == 3.2
        assert s.at(forward_b.created_at) == 2.2  # CI B ran 1..2, roll-forward B waits for A
        assert s.at(forward_b.running_at) == 3.2
        assert s.at(rollback_a.created_at) == 3.4
        assert rollback_a.passed and s.at(rollback_a.running_at) == 6.2  # after B finished
        assert [x for x in await s.started() if x[0] != "semaphore.yml"] == [
            ("deploy.yml", "aaaa"),
            ("deploy.yml", "bbbb"),
            ("rollback.yml", "aaaa"),
        ]  # B deployed before the rollback of A
