"""Promotions as Gofer runs them: ``POST /promotions`` records a trigger, Gofer schedules it
later or gives up, over HTTP through the client, on a manual clock (every moment exact)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from semaphore_client import (
    Promotion,
    PromotionRefused,
    PromotionStatus,
    SemaphoreClient,
)
from semaphore_client.simulator import GoferTimes, ManualClock, Simulator, parse_world

WORLD = """
projects:
  - name: app
    deployment_targets: [{name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        promotions:
          - {name: staging, pipeline_file: staging.yml}
          - {name: prod, pipeline_file: prod.yml, deployment_target: prod}
      .semaphore/staging.yml:
        queue: {name: staging, processing: serialized}
      .semaphore/prod.yml:
        queue: {name: prod, processing: serialized}
outcomes:
  - {pipeline_file: semaphore.yml, duration: 1}
"""
TIMES = GoferTimes(delay=0.2, deadline=4.0, target_deadline=6.0)


class Run:
    def __init__(self, sim: Simulator, control: httpx.AsyncClient, api: SemaphoreClient) -> None:
        self.sim, self.control, self.api = sim, control, api

    async def ci(self, sha: str = "a" * 40) -> str:
        """Push `sha` and let its CI pipeline pass (1 s); its pipeline id."""
        pushed = await self.control.post("/_sim/push", json={"project": "app", "commit_sha": sha})
        assert pushed.status_code == 200, pushed.text
        await self.sim.advance(1)
        return str(pushed.json()["pipeline_id"])

    async def script(self, **outcome: Any) -> None:
        response = await self.control.post("/_sim/outcomes", json=outcome)
        assert response.status_code == 200, response.text

    async def rows(self, ppl_id: str, name: str) -> list[Promotion]:
        return await self.api.list_promotions(ppl_id, name=name)

    async def history(self) -> list[tuple[str, str, bool]]:
        """(state, state_message, has a pipeline) of prod's history, newest first."""
        world = (await self.control.get("/_sim/world")).json()
        target = world["projects"][0]["deployment_targets"][0]["id"]
        page = await self.api.deployment_history(target)
        return [(d.state.value, d.state_message, bool(d.pipeline_id)) for d in page.deployments]


@asynccontextmanager
async def run(times: GoferTimes = TIMES) -> AsyncIterator[Run]:
    world = parse_world(WORLD)
    async with (
        Simulator(world, clock=ManualClock(), gofer=times) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
        SemaphoreClient(token="t", base_url=sim.base_url) as api,
    ):
        yield Run(sim, control, api)


async def test_a_promotion_is_processing_until_gofer_schedules_its_pipeline() -> None:
    async with run() as r:
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "staging")
        [row] = await r.rows(ci, "staging")
        assert (row.status, row.scheduled_pipeline_id) == (PromotionStatus.PROCESSING, "")
        assert row.scheduled_at is None
        await r.sim.advance(0.2)
        [row] = await r.rows(ci, "staging")
        assert row.status is PromotionStatus.PASSED and row.scheduled_pipeline_id
        pipeline = await r.api.get_pipeline(row.scheduled_pipeline_id)
        assert pipeline.promotion_of == ci


async def test_a_deployment_target_promotion_has_no_row_until_it_triggers() -> None:
    async with run() as r:
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "prod")
        assert await r.rows(ci, "prod") == []
        assert await r.history() == [("pending", "", False)]
        await r.sim.advance(0.1)
        [row] = await r.rows(ci, "prod")
        assert row.status is PromotionStatus.PROCESSING
        await r.sim.advance(0.1)
        [row] = await r.rows(ci, "prod")
        assert row.status is PromotionStatus.PASSED
        assert await r.history() == [("started", "", True)]


async def test_a_promotion_never_scheduled_fails_at_gofers_deadline() -> None:
    async with run() as r:
        await r.script(promotion="staging", never_scheduled="deadline")
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "staging")
        await r.sim.advance(3.9)
        [row] = await r.rows(ci, "staging")
        assert row.status is PromotionStatus.PROCESSING
        await r.sim.advance(0.1)
        [row] = await r.rows(ci, "staging")
        assert (row.status, row.scheduled_pipeline_id) == (PromotionStatus.FAILED, "")
        assert [e for e in r.sim.engine.events if e["type"] == "pipeline"][-1]["commit_sha"] == (
            "a" * 40
        )  # no pipeline was promoted: the last one is still the CI pipeline


async def test_a_stuck_deployment_target_promotion_fails_in_history_without_a_row() -> None:
    async with run() as r:
        await r.script(promotion="prod", never_scheduled="deadline", commit_sha="a" * 40)
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "prod")
        await r.sim.advance(5.9)
        assert await r.history() == [("pending", "", False)]
        await r.sim.advance(0.1)
        assert await r.history() == [("failed", "deadline_reached", False)]
        assert await r.rows(ci, "prod") == []
        other = await r.ci("b" * 40)  # the script names commit a only
        await r.api.trigger_promotion(other, "prod")
        await r.sim.advance(0.2)
        assert (await r.history())[0] == ("started", "", True)


async def test_a_full_queue_is_retried_until_the_deadline_then_fails_with_the_reason() -> None:
    async with run() as r:
        await r.script(promotion="prod", never_scheduled="queue_limit")
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "prod")
        await r.sim.advance(0.2)
        [row] = await r.rows(ci, "prod")
        assert row.status is PromotionStatus.PROCESSING
        await r.sim.advance(3.8)
        [row] = await r.rows(ci, "prod")
        assert row.status is PromotionStatus.FAILED
        assert await r.history() == [("failed", "Deadline reached", False)]


async def test_plumbers_limit_of_30_queuing_pipelines_holds_a_promotion_until_there_is_room() -> (
    None
):
    async with run(GoferTimes(delay=0.2, deadline=40.0)) as r:
        await r.script(pipeline_file="staging.yml", duration=1)
        ci = await r.ci()
        for n in range(30):
            await r.api.trigger_promotion(ci, "staging", request_token=f"fill-{n}")
        await r.sim.advance(0.2)  # 30 staging pipelines: 1 running, 29 queuing
        await r.api.trigger_promotion(ci, "staging", request_token="one-more")
        await r.sim.advance(0.4)
        newest = (await r.rows(ci, "staging"))[0]
        assert newest.status is PromotionStatus.PROCESSING  # the queue is full
        await r.sim.advance(1.0)  # the first staging pipeline is done: room for one
        newest = (await r.rows(ci, "staging"))[0]
        assert newest.status is PromotionStatus.PASSED and newest.scheduled_pipeline_id
        refused = [
            e
            for e in r.sim.engine.events
            if e["result_reason"] == "Limit of queuing pipelines reached"
        ]
        assert len(refused) == 1


async def test_a_deactivated_target_fails_an_accepted_trigger_when_gofer_checks_again() -> None:
    async with run() as r:
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "prod")
        target = await r.api.find_deployment_target(await project_id(r), "prod")
        assert target is not None
        await r.api.deactivate_deployment_target(target.id)
        await r.sim.advance(1)
        assert await r.history() == [("failed", "cordoned_target", False)]
        assert await r.rows(ci, "prod") == []


async def test_the_target_is_checked_before_the_request_token() -> None:
    """A retry with a token Gofer has seen, after the target was deactivated, is refused
    (as in Gofer: override, then the target, then the token)."""
    async with run() as r:
        ci = await r.ci()
        await r.api.trigger_promotion(ci, "prod", request_token="once")
        await r.sim.advance(0.2)
        target = await r.api.find_deployment_target(await project_id(r), "prod")
        assert target is not None
        await r.api.deactivate_deployment_target(target.id)
        with pytest.raises(PromotionRefused) as refused:
            await r.api.trigger_promotion(ci, "prod", request_token="once")
        assert refused.value.target_cordoned
        await r.api.activate_deployment_target(target.id)
        await r.api.trigger_promotion(ci, "prod", request_token="once")  # the repeat: OK
        await r.sim.advance(1)
        assert [s for s, _, _ in await r.history()] == ["started"]  # and nothing new


@pytest.mark.parametrize(
    ("outcome", "error"),
    [
        ({"promotion": "prod", "pipeline_file": "prod.yml"}, "either pipeline_file or promotion"),
        ({"result": "failed"}, "either pipeline_file or promotion"),
        ({"pipeline_file": "prod.yml", "never_scheduled": "deadline"}, "for a promotion"),
        ({"promotion": "prod", "never_scheduled": "soon"}, "never_scheduled"),
    ],
)
async def test_a_bad_promotion_script_is_refused(outcome: dict[str, Any], error: str) -> None:
    async with run() as r:
        response = await r.control.post("/_sim/outcomes", json=outcome)
        assert response.status_code == 400 and error in response.json()["error"]


async def project_id(r: Run) -> str:
    return (await r.api.describe_project("app")).id
