"""The stage service over the example configuration, on every store backend (the in-memory
store, fakeredis and a real redis-server): whole pipelines, windows, replicas, crashes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from builders import change

from bot.bootstrap import build_stage_service
from bot.config.loader import load_config
from bot.core import events as ev
from bot.core.decision import NoticeKind
from bot.core.model import Blocker, BlockerKind, DeploymentKind, DeploymentState
from bot.service.effects import Effect, StartDeployment, StopDeployment, Tell
from bot.service.stages import StageService
from bot.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"
#: Tuesday 1 December 2026, 10:30 in Berlin: inside shop/prod's window, no holiday.
TUESDAY = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """The effects port: records what deploybot asked of Semaphore and Slack."""

    def __init__(self, fail_first: int = 0) -> None:
        self.effects: list[Effect] = []
        self._failures = fail_first

    async def __call__(self, effect: Effect) -> None:
        if self._failures:
            self._failures -= 1
            raise ConnectionError("Semaphore is down")
        self.effects.append(effect)

    def starts(self, stage: str | None = None) -> list[StartDeployment]:
        return [
            e
            for e in self.effects
            if isinstance(e, StartDeployment) and (stage is None or e.stage == stage)
        ]


def service(store: Store, clock: Clock, recorder: Recorder) -> StageService:
    return build_stage_service(load_config(EXAMPLE), store, effects=recorder, clock=clock)


async def finish(svc: StageService, stage: str, outcome: str = "succeeded") -> None:
    state = await svc.store.load("shop", stage)
    assert state.current is not None, f"nothing runs on {stage}"
    started = ev.DeploymentStarted(
        id=f"started-{state.current.id}",
        deployment_id=state.current.id,
        pipeline_id=f"pipe-{state.current.id}",
    )
    await svc.handle("shop", stage, started)
    done = ev.DeploymentFinished(
        id=f"done-{state.current.id}",
        deployment_id=state.current.id,
        outcome=outcome,  # type: ignore[arg-type]
    )
    await svc.handle("shop", stage, done)


async def tick(svc: StageService, clock: Clock, after: timedelta) -> None:
    clock.now += after
    for stage in ("beta", "gamma", "prod"):
        await svc.handle("shop", stage, ev.Tick(id=f"tick-{stage}-{clock.now.isoformat()}"))


async def test_a_change_flows_through_every_stage_after_each_bake(store: Store) -> None:
    clock, recorder = Clock(TUESDAY), Recorder()
    svc = service(store, clock, recorder)
    await svc.handle("shop", "beta", ev.ChangeReady(id="ci-1", change=change(1)))
    assert [s.deployment.change.sha for s in recorder.starts("beta")] == [change(1).sha]
    await finish(svc, "beta")
    await tick(svc, clock, timedelta(minutes=10))  # beta bakes 10m
    gamma = recorder.starts("gamma")
    assert len(gamma) == 1
    beta_deployment = recorder.starts("beta")[0].deployment
    assert gamma[0].deployment.source_pipeline_id == f"pipe-{beta_deployment.id}"
    await finish(svc, "gamma")
    await tick(svc, clock, timedelta(minutes=30))  # gamma bakes 30m
    assert len(recorder.starts("prod")) == 1
    await finish(svc, "prod")
    await tick(svc, clock, timedelta(hours=1))
    prod = await store.history("shop", "prod")
    assert [d.state for d in prod] == [DeploymentState.DONE]
    assert (await store.load("shop", "prod")).current is None
    assert [e.action for e in await store.audit("shop", "prod")][:1] == ["change_ready"]


async def test_a_closed_window_holds_prod_until_it_opens(store: Store) -> None:
    # Thursday 3 December, 15:00 Berlin: gamma finishes baking after prod's window closed.
    clock, recorder = Clock(datetime(2026, 12, 3, 14, 0, tzinfo=UTC)), Recorder()
    svc = service(store, clock, recorder)
    await svc.handle("shop", "gamma", ev.ChangeReady(id="c", change=change(1)))
    await finish(svc, "gamma")
    await tick(svc, clock, timedelta(hours=1, minutes=30))  # 16:30 Berlin
    assert recorder.starts("prod") == []
    waiting = [e for e in recorder.effects if isinstance(e, Tell) and e.stage == "prod"]
    assert any("outside deploy windows" in t.notice.text for t in waiting)
    boundary = load_config(EXAMPLE).project("shop").calendar("prod").next_boundary(clock.now)
    assert boundary == datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # Friday 09:00 Berlin
    await tick(svc, clock, boundary - clock.now)
    assert len(recorder.starts("prod")) == 1


async def test_a_failed_prod_deployment_waits_for_approval_then_rolls_back(store: Store) -> None:
    clock, recorder = Clock(TUESDAY), Recorder()
    svc = service(store, clock, recorder)
    for n in (1, 2):
        await svc.handle("shop", "prod", ev.ChangeReady(id=f"c{n}", change=change(n)))
        await finish(svc, "prod", "succeeded" if n == 1 else "failed")
        await tick(svc, clock, timedelta(hours=1))
    assert len(recorder.starts("prod")) == 2
    await svc.handle("shop", "prod", ev.RollbackApproved(id="approve", by="U024BE7LH"))
    rollback = recorder.starts("prod")[-1].deployment
    assert rollback.kind is DeploymentKind.ROLLBACK and rollback.change == change(1)


async def test_two_replicas_given_the_same_events_start_each_deployment_once(store: Store) -> None:
    clock = Clock(TUESDAY)
    recorders = [Recorder(), Recorder()]
    replicas = [service(store, clock, r) for r in recorders]
    events = [ev.ChangeReady(id=f"c{n}", change=change(n)) for n in (1, 2, 3)]
    for event in events:
        await asyncio.gather(*(r.handle("shop", "beta", event) for r in replicas for _ in range(3)))
    starts = [s.deployment.id for r in recorders for s in r.starts()]
    assert len(starts) == len(set(starts)) == 1
    state = await store.load("shop", "beta")
    assert [d.change for d in state.queue] == [change(3)]


async def test_an_effect_that_fails_is_carried_out_after_a_restart(store: Store) -> None:
    clock = Clock(TUESDAY)
    crashed = service(store, clock, Recorder(fail_first=1))
    await crashed.handle("shop", "beta", ev.ChangeReady(id="c1", change=change(1)))
    assert len(await store.outbox("shop", "beta")) > 0
    recorder = Recorder()
    restarted = service(store, clock, recorder)
    assert await restarted.drain("shop", "beta")
    assert len(recorder.starts("beta")) == 1
    assert await store.outbox("shop", "beta") == []


@pytest.mark.parametrize("stage", ["staging", ""])
async def test_an_unknown_stage_is_a_clear_error(store: Store, stage: str) -> None:
    from bot.service.stages import UnknownStage

    svc = service(store, Clock(TUESDAY), Recorder())
    with pytest.raises(UnknownStage, match="no stage"):
        await svc.handle("shop", stage, ev.Tick(id="t"))


# -- deciding on what the service last wrote (no read per event) ----------------------------


async def test_a_replica_decides_on_what_another_replica_wrote_since(store: Store) -> None:
    clock, started = Clock(TUESDAY), Recorder()
    a, b = service(store, clock, started), service(store, clock, Recorder())
    await a.handle("shop", "beta", ev.ChangeReady(id="c1", change=change(1)))
    await finish(b, "beta")  # A still knows c1 as running
    await a.handle("shop", "beta", ev.ChangeReady(id="c2", change=change(2)))
    state = await store.load("shop", "beta")
    assert state.current is not None and state.current.state is DeploymentState.BAKING
    assert state.current.change == change(1), "B's news was not overwritten"
    assert [d.change for d in state.queue] == [change(2)], "c2 waits for the bake"
    assert [s.deployment.change for s in started.starts()] == [change(1)]


async def test_a_tick_loads_what_another_replica_queued(store: Store) -> None:
    # Thursday 15:00 Berlin, prod's window is open: A knows prod as empty and unblocked.
    clock = Clock(datetime(2026, 12, 3, 14, 0, tzinfo=UTC))
    recorder = Recorder()
    a, b = service(store, clock, recorder), service(store, clock, Recorder())
    await a.handle("shop", "prod", ev.Tick(id="t0"))
    clock.now = datetime(2026, 12, 3, 15, 30, tzinfo=UTC)  # 16:30: closed
    await b.handle("shop", "prod", ev.ChangeReady(id="c1", change=change(1)))  # then B is gone
    assert recorder.starts("prod") == []
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)  # Friday 09:00 Berlin: open
    await a.handle("shop", "prod", ev.Tick(id="t1"))
    assert [s.deployment.change for s in recorder.starts("prod")] == [change(1)]


async def test_effects_another_replica_left_are_carried_out_by_the_next_event(
    store: Store,
) -> None:
    clock, recorder = Clock(TUESDAY), Recorder()
    a, b = service(store, clock, recorder), service(store, clock, Recorder(fail_first=99))
    await a.handle("shop", "beta", ev.ChangeReady(id="c1", change=change(1)))  # A drains beta
    await finish(b, "beta")
    clock.now += timedelta(minutes=10)
    await b.handle("shop", "beta", ev.Tick(id="baked"))  # B cannot send c1 on to gamma
    assert await store.outbox("shop", "beta"), "B's effects wait in the outbox"
    await a.handle("shop", "beta", ev.ChangeReady(id="c2", change=change(2)))
    assert [s.deployment.change for s in recorder.starts("gamma")] == [change(1)]
    assert [s.deployment.change for s in recorder.starts("beta")] == [change(1), change(2)]
    assert await store.outbox("shop", "beta") == []


async def test_a_drain_that_read_an_empty_outbox_picks_up_what_was_added_meanwhile() -> None:
    from bot.store import MemoryStore

    class SlowOutbox(MemoryStore):
        """Reads the outbox, then answers only once the gate opens (a slow round trip)."""

        gate = asyncio.Event()

        async def outbox(self, project: str, stage: str) -> list[str]:
            read = await super().outbox(project, stage)
            await self.gate.wait()
            return read

    recorder = Recorder()
    svc = service(SlowOutbox(), Clock(TUESDAY), recorder)
    reconciling = asyncio.create_task(svc.drain("shop", "beta"))
    await asyncio.sleep(0)  # the drain has read an empty outbox
    await svc.handle("shop", "beta", ev.ChangeReady(id="c1", change=change(1)))
    SlowOutbox.gate.set()
    assert await reconciling
    assert [s.deployment.change for s in recorder.starts("beta")] == [change(1)]


async def test_within_a_batch_a_drain_does_not_repeat_what_the_batch_carried_out(
    store: Store,
) -> None:
    recorder = Recorder()
    svc = service(store, Clock(TUESDAY), recorder)
    async with svc.batch():
        await svc.handle("shop", "beta", ev.ChangeReady(id="c1", change=change(1)))
        assert await store.outbox("shop", "beta"), "carried out, not yet acknowledged"
        assert await svc.drain("shop", "beta")  # reconciliation, say
    assert len(recorder.starts("beta")) == 1
    assert await store.outbox("shop", "beta") == []


async def test_after_the_store_lost_everything_a_new_deployment_gets_a_new_request_token(
    redis_server: str,
) -> None:
    """Semaphore keeps request tokens: a token that repeats after Redis is flushed (or the
    embedded store restarts) would start nothing, and the stage would wait forever."""
    from bot.adapters.semaphore import request_token
    from bot.store import MemoryStore, RedisStore

    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    redis = RedisStore(client)  # one process: Redis is flushed under it
    lives: list[Store] = [MemoryStore(), MemoryStore(), redis, redis, RedisStore(client)]
    tokens: list[str] = []
    try:
        for store in lives:  # the same first change, in five lives of the store
            await client.flushdb()
            recorder = Recorder()
            svc = service(store, Clock(TUESDAY), recorder)
            await svc.handle("shop", "beta", ev.ChangeReady(id="ci-1", change=change(1)))
            [start] = recorder.starts("beta")
            tokens.append(request_token(start.deployment.id))
    finally:
        await client.aclose()
    assert len(set(tokens)) == 5, tokens


async def through(svc: StageService, clock: Clock, n: int, stages: tuple[str, ...]) -> None:
    """Change `n` deploys and bakes on `stages`, one after the other (beta's bake: 10m,
    gamma's: 30m, prod's: 1h)."""
    bakes = {
        "beta": timedelta(minutes=10),
        "gamma": timedelta(minutes=30),
        "prod": timedelta(hours=1),
    }
    if stages[0] == "beta":
        await svc.handle("shop", "beta", ev.ChangeReady(id=f"ci-{n}", change=change(n)))
    for stage in stages:
        await finish(svc, stage)
        await tick(svc, clock, bakes[stage])


async def test_a_late_alarm_stops_the_change_where_it_runs_and_keeps_it_from_later_stages(
    store: Store,
) -> None:
    """Issue 13 item 14: the alarm began during A's bake on beta and arrives after A went on
    to gamma. A fails on beta, the copy running on gamma fails (its pipeline is stopped), and
    prod never deploys A."""
    clock, recorder = Clock(TUESDAY), Recorder()
    svc = service(store, clock, recorder)
    await through(svc, clock, 1, ("beta",))
    [running] = recorder.starts("gamma")
    began = clock.now - timedelta(minutes=5)  # inside beta's bake
    await svc.handle("shop", "beta", ev.AlarmFiring(id="late", alarm="Errors", started=began))

    gamma = await store.load("shop", "gamma")
    assert gamma.current is None and change(1).sha in gamma.bad
    [failed] = await store.history("shop", "gamma")
    assert failed.id == running.deployment.id and failed.state is DeploymentState.FAILED
    assert "failed on beta after it went onward" in failed.outcome
    stops = [e for e in recorder.effects if isinstance(e, StopDeployment)]
    assert [s.deployment.id for s in stops] == [running.deployment.id]
    await tick(svc, clock, timedelta(hours=2))
    assert recorder.starts("prod") == []
    assert change(1).sha in (await store.load("shop", "prod")).bad
    await svc.handle("shop", "prod", ev.ChangeReady(id="late-onward", change=change(1)))
    assert recorder.starts("prod") == []  # a late onward of A is turned away too


async def test_a_late_alarm_holds_the_change_where_it_waits_and_asks_where_it_is_live(
    store: Store,
) -> None:
    """Issue 13 item 14: A is live on gamma and waits on prod (blocked) when an alarm that
    began during its beta bake arrives. Gamma is held and asked whether to roll back; prod
    holds A; approving on gamma rolls gamma back to the change before."""
    clock, recorder = Clock(TUESDAY), Recorder()
    svc = service(store, clock, recorder)
    await through(svc, clock, 1, ("beta", "gamma", "prod"))
    await svc.handle("shop", "prod", ev.BlockerAdded(id="b", blocker=_blocker("DB migration")))
    await through(svc, clock, 2, ("beta", "gamma"))
    began = clock.now - timedelta(minutes=35)  # inside A's 10-minute beta bake
    recorder.effects.clear()
    await svc.handle("shop", "beta", ev.AlarmFiring(id="late", alarm="Errors", started=began))

    told = [e.notice for e in recorder.effects if isinstance(e, Tell)]
    [question] = [n for n in told if n.stage == "gamma" and n.kind is NoticeKind.ALARM_AFTER_BAKE]
    assert "failed on beta after it went onward" in question.text and "roll back" in question.text
    assert question.rollback_target is not None
    assert question.rollback_target.change == change(1)
    [held] = question.blockers
    prod = await store.load("shop", "prod")
    assert [d.change for d in prod.queue] == [change(2)]
    assert any(b.id.startswith("recalled:") for b in prod.blockers)
    assert any(n.stage == "prod" and n.kind is NoticeKind.BLOCKER_ADDED for n in told)
    await svc.handle("shop", "prod", ev.BlockerLifted(id="u", blocker_id="b", by="U024BE7LH"))
    assert recorder.starts("prod") == []  # the manual block is gone; A is still held

    live = question.deployment
    assert live is not None
    shown = ev.Shown(
        deployment_id=live.id,
        to_sha=change(1).sha,
        blocker_id=held.id,
        blocker_since=held.created_at,
    )
    await svc.handle("shop", "gamma", ev.RollbackApproved(id="ok", by="U024BE7LH", shown=shown))
    [rollback] = recorder.starts("gamma")
    assert rollback.deployment.kind is DeploymentKind.ROLLBACK
    assert rollback.deployment.change == change(1)


def _blocker(reason: str) -> Blocker:
    return Blocker(
        id="b", kind=BlockerKind.MANUAL, reason=reason, author="U024BE7LH", created_at=TUESDAY
    )
