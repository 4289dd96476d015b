"""Property tests: random event sequences through the rules, the stage service and a store,
with every invariant of DESIGN.md section 4 checked after every step.

A two-stage pipeline (beta -> prod) with randomly drawn stage policies is driven by random
operations: pushes (also out of order), deploy pipelines finishing, promotions Semaphore gives
up on (and, with time passing, ones it never starts), time passing, blockers of every kind
coming and going, alarms, windows, approvals, emergencies, manual rollbacks, and replays of
earlier events. At the end every blocker is lifted and the pipeline is run until
quiet: every queue must drain.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
import redis.asyncio as aioredis
from builders import T0, blocker, change, policy
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import events as ev
from bot.core.decision import Decision, StageSnapshot
from bot.core.model import (
    AfterRollback,
    Blocker,
    BlockerKind,
    DeploymentKind,
    DeploymentState,
    RollbackPolicy,
    StagePolicy,
    StageState,
)
from bot.core.rules import decide
from bot.service.effects import Effect, StartDeployment, StopDeployment
from bot.service.stages import StageService
from bot.store import MemoryStore, RedisStore, Store

STAGES = ("beta", "prod")
EMERGENCY_BASE = 200  # emergency changes get shas of their own, never pushed through CI

policies = st.builds(
    lambda rb, ar, sup, bake: [
        policy(stage="beta", promotion="beta", bake=timedelta(minutes=10)),
        policy(
            stage="prod",
            promotion="prod",
            hangs_off_previous=True,
            rollback=rb,
            after_rollback=ar,
            supersede=sup,
            bake=timedelta(minutes=bake),
            is_last=True,
        ),
    ],
    st.sampled_from(RollbackPolicy),
    st.sampled_from(AfterRollback),
    st.booleans(),
    st.sampled_from([0, 30]),
)

# An operation is (name, stage, k); `k` picks the variant (outcome, duration, blocker...).
# Common operations are listed more than once so that long pipelines happen often.
OP_NAMES = ["push"] * 3 + ["finish"] * 4 + ["advance"] * 2 + [
    "started", "gave_up", "block", "lift", "alarm", "resolve", "window",
    "approve", "dismiss", "emergency", "rollback", "replay",
]  # fmt: skip
ops = st.tuples(st.sampled_from(OP_NAMES), st.sampled_from(STAGES), st.integers(0, 11))
OUTCOMES = ("succeeded", "succeeded", "failed", "cancelled")
MINUTES = (1, 10, 30, 60)

REPLAY_SAFE = (
    ev.ChangeReady,
    ev.DeploymentStarted,
    ev.DeploymentNotStarted,
    ev.DeploymentFinished,
    ev.BakeFinished,
    ev.AlarmFiring,
    ev.AlarmResolved,
    ev.BlockerAdded,
    ev.BlockerLifted,
    ev.Tick,
    ev.RollbackApproved,
    ev.RollbackDismissed,
    ev.RollbackRequested,
)


@dataclass
class World:
    service: StageService
    now: datetime = T0
    n: int = 0
    pushes: int = 0
    windows: dict[str, bool] = field(default_factory=dict)
    in_flight: dict[str, str | None] = field(default_factory=lambda: dict.fromkeys(STAGES))
    ever_queued: dict[str, dict[str, DeploymentKind]] = field(
        default_factory=lambda: {s: {} for s in STAGES}
    )
    applied: list[tuple[str, ev.Event]] = field(default_factory=list)
    emergency_shas: set[str] = field(default_factory=set)

    def eid(self) -> str:
        self.n += 1
        return f"ev{self.n}"


def _calendar(world: World) -> object:
    def blockers(project: str, stage: str, now: datetime) -> list[Blocker]:
        if world.windows.get(stage):
            return [blocker(BlockerKind.WINDOW, id="window", reason="outside deploy windows")]
        return []

    return blockers


def make_world(pipeline: list[StagePolicy], store: Store) -> World:
    world: World
    effects_seen: list[Effect] = []

    async def effects(effect: Effect) -> None:
        effects_seen.append(effect)
        await forget_not_started(world, effect.stage)
        check_effect(world, effect)

    service = StageService(
        MemoryStore(), {"shop": pipeline}, effects=effects, clock=lambda: world.now
    )
    world = World(service=service)
    service._calendar = _calendar(world)  # type: ignore[assignment]
    return world


async def forget_not_started(world: World, stage: str) -> None:
    """A deployment that ended as not started had no pipeline: nothing is in flight."""
    flying = world.in_flight[stage]
    if flying is None:
        return
    history = await world.service.store.history("shop", stage, limit=1000)
    if any(d.id == flying and d.outcome.startswith("not started") for d in history):
        world.in_flight[stage] = None


def check_effect(world: World, effect: Effect) -> None:
    """Invariant 1, seen from Semaphore: a stage never has two deploy pipelines at once."""
    stopped = isinstance(effect, StopDeployment)
    if stopped and world.in_flight[effect.stage] == effect.deployment.id:
        world.in_flight[effect.stage] = None
    if isinstance(effect, StartDeployment):
        assert world.in_flight[effect.stage] is None, f"{effect.stage}: two deployments at once"
        world.in_flight[effect.stage] = effect.deployment.id


async def apply(world: World, stage: str, event: ev.Event) -> Decision | None:
    before = await world.service.snapshot("shop", stage, event)
    decision = await world.service.handle("shop", stage, event)
    world.applied.append((stage, event))
    if decision is not None:
        await check_decision(world, stage, before, event, decision)
    return decision


async def check_decision(
    world: World, stage: str, before: StageSnapshot, event: ev.Event, decision: Decision
) -> None:
    state = decision.state
    # Invariant 1: at most one deployment occupies the stage.
    assert all(d.state is DeploymentState.QUEUED for d in state.queue)
    if state.current is not None:
        assert state.current.state in (DeploymentState.RUNNING, DeploymentState.BAKING)
    # Invariant 2: a blocked stage starts nothing a blocker holds (emergencies bypass all).
    if decision.start is not None:
        holding = [b for b in decision.blocked_by if b.holds(decision.start)]
        assert not holding, f"{decision.start.kind} started while blocked by {holding}"
    # Invariant 3: rollbacks go first, and are never superseded or cancelled.
    if decision.start is not None and decision.start.kind is DeploymentKind.ROLLFORWARD:
        for queue in (before.state.queue, state.queue):
            assert not any(d.kind is DeploymentKind.ROLLBACK for d in queue), "roll-forward first"
    for done in decision.finished:
        if done.kind is DeploymentKind.ROLLBACK:
            assert done.state is not DeploymentState.SUPERSEDED
            if done.state is DeploymentState.CANCELLED:  # only one Semaphore never started,
                assert done.outcome.startswith("not started")  # and it is tried again
                live = [*state.queue, *([state.current] if state.current else [])]
                assert any(
                    d.kind is DeploymentKind.ROLLBACK and d.change == done.change for d in live
                )
    # Rule 9: nothing runs without a pipeline past its start_timeout.
    current = state.current
    if current is not None and current.state is DeploymentState.RUNNING:
        started = current.started_at or current.created_at
        assert current.deploy_pipeline_id or world.now < started + before.policy.start_timeout
    # Invariant 2: nothing queued is dropped; a queued roll-forward leaves only by starting
    # or by being superseded by a newer change.
    for d in state.queue:
        world.ever_queued[stage][d.id] = d.kind
    if state.current is not None:
        world.ever_queued[stage].setdefault(state.current.id, state.current.kind)
    history = {d.id: d for d in await world.service.store.history("shop", stage, limit=1000)}
    live = {d.id for d in state.queue} | ({state.current.id} if state.current else set())
    for dep_id, kind in world.ever_queued[stage].items():
        assert dep_id in live or dep_id in history, f"{dep_id} was lost"
        if dep_id in history and history[dep_id].started_at is None:
            assert (
                kind is DeploymentKind.ROLLFORWARD
                and history[dep_id].state is DeploymentState.SUPERSEDED
            )
    # Invariant 5 (rule 7): an emergency never sends its change onward; nor does a rollback.
    if decision.onward is not None:
        assert decision.onward.change.sha not in world.emergency_shas
        assert any(
            d.state is DeploymentState.DONE and d.kind is DeploymentKind.ROLLFORWARD
            for d in decision.finished
        )
    if stage == "prod":
        assert not any(
            d.change.sha in world.emergency_shas and d.kind is DeploymentKind.ROLLFORWARD
            for d in state.queue
        )
    # Invariant 6: the same event again changes nothing (the rules alone, without the store).
    if isinstance(event, REPLAY_SAFE):
        after = before.model_copy(update={"state": state})
        again = decide(after, event, world.now)
        assert again.state.model_copy(update={"version": state.version}) == state
        assert again.start is None and again.stop == () and again.onward is None


async def step(world: World, op: tuple[str, str, int]) -> None:
    kind, stage, k = op
    store = world.service.store
    if kind == "push":
        world.pushes += 1
        created = T0 + timedelta(minutes=10 * world.pushes + (k % 7 - 3) * 7)  # some out of order
        ready = ev.ChangeReady(id=world.eid(), change=change(world.pushes, created_at=created))
        await apply(world, "beta", ready)
    elif kind == "advance":
        world.now += timedelta(minutes=MINUTES[k % 4])
        for s in STAGES:
            await apply(world, s, ev.Tick(id=world.eid()))
    elif kind == "replay":
        if world.applied:
            stage, event = world.applied[-1 - k % len(world.applied)]
            before = await store.load("shop", stage)
            again = await world.service.handle("shop", stage, event)
            assert again is None or (not again.changed and again.notices == ())
            assert await store.load("shop", stage) == before
    elif kind == "finish":
        await finish_one(world, stage, OUTCOMES[k % 4])
    else:
        state = await store.load("shop", stage)
        await apply(world, stage, person_or_alarm(world, kind, stage, state, k))


async def finish_one(world: World, stage: str, outcome: str) -> None:
    """The deploy pipeline of a running deployment is done (on `stage`, else the other one)."""
    for s in (stage, *STAGES):
        current = (await world.service.store.load("shop", s)).current
        if current is not None and current.state is DeploymentState.RUNNING:
            if world.in_flight[s] == current.id:
                world.in_flight[s] = None
            done = ev.DeploymentFinished(id=world.eid(), deployment_id=current.id, outcome=outcome)  # type: ignore[arg-type]
            await apply(world, s, done)
            return


def person_or_alarm(world: World, kind: str, stage: str, state: StageState, k: int) -> ev.Event:
    eid = world.eid()
    alarm = ("errors", "latency")[k % 2]
    if kind == "started" and state.current is not None:
        pipeline = f"p-{state.current.id}"
        return ev.DeploymentStarted(id=eid, deployment_id=state.current.id, pipeline_id=pipeline)
    if kind == "gave_up" and state.current is not None:
        return ev.DeploymentNotStarted(
            id=eid, deployment_id=state.current.id, reason="Semaphore gave up: deadline_reached"
        )
    if kind == "block":
        minutes = (None, 20, 90)[k % 3]
        until = world.now + timedelta(minutes=minutes) if minutes else None
        bkind = (BlockerKind.MANUAL, BlockerKind.FREEZE)[k % 2]
        b = blocker(bkind, id=f"b{world.n}", until=until, created_at=world.now)
        return ev.BlockerAdded(id=eid, blocker=b)
    if kind == "lift" and state.blockers:
        target = state.blockers[k % len(state.blockers)]
        return ev.BlockerLifted(id=eid, blocker_id=target.id, by="U1")
    if kind == "alarm":
        return ev.AlarmFiring(id=eid, alarm=alarm)
    if kind == "resolve":
        return ev.AlarmResolved(id=eid, alarm=alarm)
    if kind == "window":
        world.windows[stage] = bool(k % 2)
    if kind == "approve":
        return ev.RollbackApproved(id=eid, by="U2")
    if kind == "dismiss":
        return ev.RollbackDismissed(id=eid, by="U2")
    if kind == "emergency":
        c = change(EMERGENCY_BASE + world.n, created_at=world.now)
        world.emergency_shas.add(c.sha)
        return ev.EmergencyRequested(
            id=eid, change=c, source_pipeline_id="ci-x", by="U3", reason="fix"
        )
    if kind == "rollback":
        return ev.RollbackRequested(id=eid, by="U4", force=bool(k % 2))
    return ev.Tick(id=eid)


async def settle(world: World) -> None:
    """Lift every blocker, open every window, decide every rollback, and run until quiet:
    every queue must then be empty (invariant 2: the queue drains when the last blocker ends)."""
    world.windows.clear()
    for _ in range(60):
        busy = False
        for s in STAGES:
            state = await world.service.store.load("shop", s)
            for b in state.blockers:
                await apply(world, s, ev.BlockerLifted(id=world.eid(), blocker_id=b.id, by="U1"))
            if state.pending_rollback is not None:
                await apply(world, s, ev.RollbackDismissed(id=world.eid(), by="U2"))
            state = await world.service.store.load("shop", s)
            if state.current is not None and state.current.state is DeploymentState.RUNNING:
                world.in_flight[s] = None
                await apply(
                    world,
                    s,
                    ev.DeploymentFinished(
                        id=world.eid(), deployment_id=state.current.id, outcome="succeeded"
                    ),
                )
            busy = busy or bool(state.queue) or state.current is not None or bool(state.blockers)
        world.now += timedelta(hours=1)
        for s in STAGES:
            await apply(world, s, ev.Tick(id=world.eid()))
        if not busy:
            break
    for s in STAGES:
        state = await world.service.store.load("shop", s)
        assert state.queue == () and state.current is None, f"{s} did not drain: {state}"


@settings(max_examples=500, deadline=None)
@given(pipeline=policies, operations=st.lists(ops, min_size=15, max_size=60))
def test_every_invariant_holds_after_every_step(
    pipeline: list[StagePolicy], operations: list[tuple[str, str, int]]
) -> None:
    asyncio.run(run(pipeline, operations, MemoryStore()))


@pytest.mark.redis
def test_every_invariant_holds_on_a_real_redis(redis_server: str) -> None:
    """The same property with the Redis store (Lua apply, real server) under the rules."""

    @settings(max_examples=500, deadline=None)
    @given(pipeline=policies, operations=st.lists(ops, min_size=15, max_size=60))
    def on_redis(pipeline: list[StagePolicy], operations: list[tuple[str, str, int]]) -> None:
        async def go() -> None:
            client = aioredis.Redis.from_url(redis_server, decode_responses=True)
            await client.flushdb()
            try:
                await run(pipeline, operations, RedisStore(client))
            finally:
                await client.aclose()

        asyncio.run(go())

    on_redis()


async def run(
    pipeline: list[StagePolicy], operations: list[tuple[str, str, int]], store: Store
) -> None:
    world = make_world(pipeline, store)
    for op in operations:
        await step(world, op)
    await settle(world)
