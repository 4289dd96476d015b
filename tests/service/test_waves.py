"""Waves (issue 18) through the stage service, on every store backend: a change starts on every
target of a wave at once, goes on only once the whole wave baked it, and a failure on one
target stops it there (rolling back the wave's other targets with `scope: wave`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from builders import blocker, change

from bot.bootstrap import build_stage_service
from bot.config import load_config_text
from bot.core import events as ev
from bot.core.decision import NoticeKind
from bot.core.model import DeploymentKind, DeploymentState
from bot.service.effects import Effect, StartDeployment, Tell
from bot.service.stages import StageService
from bot.store import Store

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
W1 = ("prod-wave-1/us-east-1", "prod-wave-1/eu-west-1")
W2 = ("prod-wave-2/us-west-2", "prod-wave-2/ap-south-1", "prod-wave-2/sa-east-1")

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
projects:
  - name: shop
    channel: C0123ABC
    stages:
      - name: beta
        promotion: Deploy beta
      - name: prod-wave-1
        bake: 10m
        rollback: {policy: auto, scope: SCOPE}
        targets:
          - {name: us-east-1, promotion: Deploy us-east-1}
          - {name: eu-west-1, promotion: Deploy eu-west-1}
      - name: prod-wave-2
        bake: 10m
        rollback: {policy: auto, scope: SCOPE}
        targets:
          - {name: us-west-2, promotion: Deploy us-west-2, hangs_off: prod-wave-1/us-east-1}
          - {name: ap-south-1, promotion: Deploy ap-south-1, hangs_off: prod-wave-1/eu-west-1}
          - {name: sa-east-1, promotion: Deploy sa-east-1, hangs_off: ci}
"""


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.effects: list[Effect] = []

    async def __call__(self, effect: Effect) -> None:
        self.effects.append(effect)

    def starts(self, stage: str) -> list[StartDeployment]:
        return [e for e in self.effects if isinstance(e, StartDeployment) and e.stage == stage]

    def told(self, stage: str, kind: NoticeKind) -> list[str]:
        return [
            e.notice.text
            for e in self.effects
            if isinstance(e, Tell) and e.stage == stage and e.notice.kind is kind
        ]


def rig(store: Store, scope: str = "target") -> tuple[StageService, Clock, Recorder]:
    clock, recorder = Clock(), Recorder()
    config = load_config_text(CONFIG.replace("SCOPE", scope))
    return build_stage_service(config, store, effects=recorder, clock=clock), clock, recorder


async def start(svc: StageService, stage: str) -> str:
    state = await svc.store.load("shop", stage)
    assert state.current is not None, f"nothing runs on {stage}"
    pipeline = f"pipe-{state.current.id}"
    started = ev.DeploymentStarted(
        id=f"started-{state.current.id}", deployment_id=state.current.id, pipeline_id=pipeline
    )
    await svc.handle("shop", stage, started)
    return state.current.id


async def finish(svc: StageService, stage: str, outcome: str = "succeeded") -> None:
    deployment_id = await start(svc, stage)
    done = ev.DeploymentFinished(
        id=f"done-{deployment_id}",
        deployment_id=deployment_id,
        outcome=outcome,  # type: ignore[arg-type]
    )
    await svc.handle("shop", stage, done)


async def tick(svc: StageService, clock: Clock, after: timedelta, stages: tuple[str, ...]) -> None:
    clock.now += after
    for stage in stages:
        await svc.handle("shop", stage, ev.Tick(id=f"tick-{stage}-{clock.now.isoformat()}"))


async def through_beta(svc: StageService, n: int) -> None:
    await svc.handle("shop", "beta", ev.ChangeReady(id=f"ci-{n}", change=change(n)))
    await finish(svc, "beta")


async def test_a_change_starts_on_every_target_of_a_wave_at_once(store: Store) -> None:
    svc, _, recorder = rig(store)
    await through_beta(svc, 1)
    beta_pipe = f"pipe-{recorder.starts('beta')[0].deployment.id}"
    for stage in W1:  # both targets at once, each promoted from beta's deploy pipeline
        (started,) = recorder.starts(stage)
        assert started.deployment.source_pipeline_id == beta_pipe
        assert started.deployment.stage == stage
    assert all(recorder.starts(stage) == [] for stage in W2)


async def test_the_next_wave_waits_until_every_target_baked(store: Store) -> None:
    svc, clock, recorder = rig(store)
    await through_beta(svc, 1)
    await finish(svc, W1[0])
    await tick(svc, clock, timedelta(minutes=10), W1)  # us-east-1 baked; eu-west-1 still runs
    assert (await store.history("shop", W1[0]))[0].state is DeploymentState.DONE
    assert all(recorder.starts(stage) == [] for stage in W2)
    await finish(svc, W1[1])
    await tick(svc, clock, timedelta(minutes=5), W1)
    assert all(recorder.starts(stage) == [] for stage in W2)  # eu-west-1 bakes 5 more minutes
    await tick(svc, clock, timedelta(minutes=5), W1)
    east, west = (recorder.starts(stage)[-1].deployment.id for stage in W1)
    sources = [recorder.starts(stage)[0].deployment.source_pipeline_id for stage in W2]
    # Each target of wave 2 is promoted from the pipeline its promotion is declared in.
    assert sources == [f"pipe-{east}", f"pipe-{west}", change(1).ci_pipeline_id]


async def test_two_targets_baking_out_at_once_send_the_change_on_once(store: Store) -> None:
    svc, clock, recorder = rig(store)
    await through_beta(svc, 1)
    for stage in W1:
        await finish(svc, stage)
    clock.now += timedelta(minutes=10)
    await asyncio.gather(*(svc.handle("shop", stage, ev.Tick(id=f"tick-{stage}")) for stage in W1))
    assert [len(recorder.starts(stage)) for stage in W2] == [1, 1, 1]


async def test_a_failure_on_one_target_stops_the_change_at_its_wave(store: Store) -> None:
    svc, clock, recorder = rig(store)
    await through_beta(svc, 1)
    for stage in W1:
        await finish(svc, stage)
    await tick(svc, clock, timedelta(minutes=10), W1)
    for stage in W2:
        await finish(svc, stage)
    await tick(svc, clock, timedelta(minutes=10), W2)  # change 1 is everywhere
    await through_beta(svc, 2)
    await finish(svc, W1[0], "failed")
    # The failed target rolls back to change 1; the other keeps what it deploys.
    rollback = recorder.starts(W1[0])[-1].deployment
    assert (rollback.kind, rollback.change.sha) == (DeploymentKind.ROLLBACK, change(1).sha)
    await finish(svc, W1[1])
    await tick(svc, clock, timedelta(minutes=10), W1)
    assert (await store.history("shop", W1[1]))[0].state is DeploymentState.DONE
    assert [len(recorder.starts(stage)) for stage in W2] == [1, 1, 1]  # change 2 never goes on


async def test_a_copy_still_queued_on_another_target_never_starts(store: Store) -> None:
    svc, _, recorder = rig(store)
    await svc.handle("shop", W1[1], ev.BlockerAdded(id="b", blocker=blocker(id="manual-1")))
    await through_beta(svc, 1)
    await finish(svc, W1[0], "failed")
    state = await store.load("shop", W1[1])
    assert state.queue == ()
    (text,) = recorder.told(W1[1], NoticeKind.CANCELLED)
    assert f"failed on {W1[0]}" in text
    await svc.handle("shop", W1[1], ev.BlockerLifted(id="l", blocker_id="manual-1", by="U0BLOCK"))
    assert recorder.starts(W1[1]) == []


async def test_scope_wave_rolls_back_every_target_that_took_the_change(store: Store) -> None:
    svc, clock, recorder = rig(store, scope="wave")
    await through_beta(svc, 1)
    for stage in W1:
        await finish(svc, stage)
    await tick(svc, clock, timedelta(minutes=10), W1)
    await through_beta(svc, 2)
    await finish(svc, W1[1])  # eu-west-1 deployed change 2 and bakes it
    await finish(svc, W1[0], "failed")
    for stage in W1:
        rollback = recorder.starts(stage)[-1].deployment
        assert (rollback.kind, rollback.change.sha) == (DeploymentKind.ROLLBACK, change(1).sha)
    baking = (await store.history("shop", W1[1]))[0]
    assert (baking.change.sha, baking.state) == (change(2).sha, DeploymentState.FAILED)
    assert "rolled back with its wave" in baking.outcome


@pytest.mark.parametrize("scope", ["target", "wave"])
async def test_a_replayed_failure_changes_nothing_more(store: Store, scope: str) -> None:
    svc, clock, recorder = rig(store, scope=scope)
    await through_beta(svc, 1)
    for stage in W1:
        await finish(svc, stage)
    await tick(svc, clock, timedelta(minutes=10), W1)
    await through_beta(svc, 2)
    deployment_id = await start(svc, W1[0])
    failed = ev.DeploymentFinished(id="f", deployment_id=deployment_id, outcome="failed")
    await svc.handle("shop", W1[0], failed)
    before = len(recorder.effects)
    assert await svc.handle("shop", W1[0], failed) is None
    assert len(recorder.effects) == before
