"""A started deployment is watched until Semaphore shows its pipeline (DESIGN.md rule 9): the
bot's orchestrator and Semaphore adapter against the simulator, on the simulator's manual
clock (the bot reads the same clock), so every step is exact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.adapters.semaphore import Semaphore, SemaphoreEffects, request_token
from bot.bootstrap import build_stage_service
from bot.config.loader import load_config_text
from bot.core import events as ev
from bot.core.decision import NoticeKind
from bot.core.model import Change, Deployment, DeploymentState, StageState
from bot.orchestrator import Orchestrator
from bot.service.effects import Effect, Tell
from bot.store import MemoryStore
from semaphore_client import NotFound, RetryPolicy, SemaphoreClient
from semaphore_client.simulator import GoferTimes, ManualClock, Simulator
from semaphore_client.simulator.world import OutcomeDef

CONFIG = """
roles: {block: [U0BLOCK]}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, START}
      - {name: prod, promotion: prod}
"""
SHA = "a" * 40


@dataclass
class Rig:
    sim: Simulator
    client: SemaphoreClient
    orchestrator: Orchestrator
    effects: SemaphoreEffects
    told: list[Tell]

    async def advance(self, seconds: float) -> None:
        await self.sim.advance(seconds)

    async def ci(self, sha: str = SHA) -> str:
        """`sha` pushed and its CI passed; the bot hears of it (reconciliation)."""
        _, pipeline = self.sim.engine.start_workflow("demo", commit_sha=sha)
        await self.advance(1)
        await self.orchestrator.reconcile()
        return pipeline.ppl_id

    async def beta(self) -> StageState:
        return await self.orchestrator.stages.store.load("demo", "beta")

    def notices(self, kind: NoticeKind) -> list[str]:
        return [t.notice.text for t in self.told if t.notice.kind is kind]


@asynccontextmanager
async def rig(start: str = "", gofer: GoferTimes | None = None) -> AsyncIterator[Rig]:
    config = load_config_text(CONFIG.replace("START", start or "bake: 0s"), "<test>")
    clock = ManualClock()
    told: list[Tell] = []
    times = gofer or GoferTimes(delay=0.2, deadline=4.0, target_deadline=6.0)
    async with (
        Simulator(clock=clock, default_duration=1.0, gofer=times) as sim,
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
        yield Rig(sim, client, Orchestrator(config, stages, semaphore, effects), effects, told)


async def watch(r: Rig, stage: str = "beta") -> None:
    """What a stage's wake-up does."""
    await r.orchestrator.tick("demo", stage, r.orchestrator.stages.clock())


async def test_a_promotion_semaphore_gave_up_on_is_tried_again_then_blocks_the_stage() -> None:
    async with rig() as r:
        r.sim.engine.scripts.items.append(_never("beta"))
        await r.ci()
        first = (await r.beta()).current
        assert first is not None and first.state is DeploymentState.RUNNING
        await r.advance(5.9)
        await watch(r)
        assert (await r.beta()).current == first  # Semaphore is still on it: PENDING
        for attempt in (2, 3):
            await r.advance(0.1)
            await watch(r)  # history FAILED (deadline_reached): tried again at once
            current = (await r.beta()).current
            assert current is not None and current.attempt == attempt
            await r.advance(5.9)
        await r.advance(0.1)
        await watch(r)
        state = await r.beta()
        assert state.current is None and [d.attempt for d in state.queue] == [1]
        [held] = state.blockers
        assert "deadline_reached" in held.reason and "3 times" in held.reason
        said = r.notices(NoticeKind.NOT_STARTED)
        assert len(said) == 2 and all("deadline_reached" in s for s in said)
        assert await r.orchestrator.stages.store.outbox("demo", "beta") == []


async def test_a_permanent_404_ends_the_attempt_instead_of_retrying_forever() -> None:
    async with rig() as r:
        change = Change(sha=SHA, ci_pipeline_id="no-such-pipeline", created_at=datetime.now(UTC))
        await r.orchestrator.stages.handle("demo", "beta", ev.ChangeReady(id="c", change=change))
        state = await r.beta()
        assert state.current is None
        [held] = state.blockers
        assert "404" in held.reason
        assert await r.orchestrator.stages.store.outbox("demo", "beta") == []  # nothing left


async def test_no_pipeline_within_start_timeout_is_not_started_even_while_semaphore_waits() -> None:
    async with rig("start_timeout: 10s", GoferTimes(target_deadline=60.0)) as r:
        r.sim.engine.scripts.items.append(_never("beta"))
        await r.ci()
        await r.advance(9.9)
        await watch(r)
        assert (await r.beta()).current is not None
        await r.advance(0.1)
        await watch(r)
        [ended] = await r.orchestrator.stages.store.history("demo", "beta")
        assert ended.outcome == "not started: Semaphore started no pipeline within 10s"
        again = (await r.beta()).current
        assert again is not None and again.attempt == 2 and again.state is DeploymentState.RUNNING


async def test_a_refused_repeat_adopts_the_pipeline_semaphore_started_before_a_crash() -> None:
    """The bot promoted, died before it recorded it, and the target was deactivated since:
    Semaphore refuses the repeat (it checks the target before the token), and the bot adopts
    the pipeline its first call started instead of ending the deployment."""
    async with rig() as r:
        stages = r.orchestrator.stages
        started: list[Deployment] = []

        async def crashed(effect: Effect) -> None:  # the crashed bot's effects never ran
            if effect.type == "start":
                started.append(effect.deployment)  # type: ignore[union-attr]

        stages.effects = crashed  # type: ignore[assignment]
        ci = await r.ci()
        [deployment] = started
        await r.client.trigger_promotion(ci, "beta", request_token=request_token(deployment.id))
        await r.advance(0.2)
        [promoted] = await r.client.list_promotions(ci, name="beta")
        target = await r.orchestrator.semaphore.target_id("demo", "beta")
        assert target is not None
        await r.client.deactivate_deployment_target(target)
        stages.effects = r.effects  # type: ignore[assignment]

        await r.effects.start(deployment)  # the restarted bot repeats the promotion

        current = (await r.beta()).current
        assert current is not None and current.id == deployment.id
        assert current.deploy_pipeline_id == promoted.scheduled_pipeline_id
        assert r.notices(NoticeKind.NOT_STARTED) == []


@pytest.mark.parametrize("error", [NotFound("Not Found", status=404), RuntimeError("a bug")])
async def test_one_stage_failing_never_stops_the_reconciliation_of_the_others(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig() as r:
        reconciled: list[str] = []

        async def one(project: object, stage: str, listed: object = None) -> None:
            reconciled.append(stage)
            if stage == "beta":
                raise error

        r.orchestrator._reconcile_stage = one  # type: ignore[method-assign,assignment]
        await r.orchestrator.reconcile()
        assert reconciled == ["beta", "prod"]
        assert any("demo/beta" in record.getMessage() for record in caplog.records)


def _never(promotion: str) -> OutcomeDef:
    """Semaphore accepts the promotion's triggers and never schedules them."""
    return OutcomeDef(promotion=promotion, never_scheduled="deadline")
