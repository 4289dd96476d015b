"""Timed work: wake-ups derived from stage state, and a reconciliation that runs once per
interval however many replicas fire it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from builders import blocker, deployment

from bot.bootstrap import build_stage_service
from bot.config.loader import load_config
from bot.core.calendar import Calendar
from bot.core.model import BlockerKind, DeploymentState, StageState
from bot.core.wake import next_wake
from bot.core.windows import parse_window
from bot.store import MemoryStore
from bot.timers import Timers

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # a Tuesday


class FakeOrchestrator:
    def __init__(self, store: MemoryStore) -> None:
        self.stages = build_stage_service(load_config(EXAMPLE), store, clock=lambda: NOW)
        self.reconciles = 0

    async def reconcile_within(self, budget: int, idle_every: timedelta) -> list[str]:
        self.reconciles += 1
        await asyncio.sleep(0)
        return []

    async def tick(self, project: str, stage: str, at: datetime) -> Any:
        return None


async def test_reconciliation_runs_once_per_interval_across_replicas() -> None:
    store = MemoryStore()
    orchestrators = [FakeOrchestrator(store) for _ in range(2)]
    timers = [Timers(o, load_config(EXAMPLE), clock=lambda: NOW) for o in orchestrators]  # type: ignore[arg-type]
    await asyncio.gather(*(t.reconcile() for t in timers for _ in range(3)))
    assert sum(o.reconciles for o in orchestrators) == 1


def test_a_baking_stage_wakes_when_its_bake_ends() -> None:
    baking = deployment(1, DeploymentState.BAKING, bake_until=NOW + timedelta(minutes=20))
    state = StageState(current=baking)
    assert next_wake(state, Calendar(), NOW) == NOW + timedelta(minutes=20)


def test_the_earliest_of_expiry_freeze_start_and_window_boundary_wins() -> None:
    calendar = Calendar(timezone="UTC", windows=(parse_window("daily 09:00-10:00"),))
    expiring = blocker(BlockerKind.MANUAL, id="m", until=NOW + timedelta(minutes=45))
    freeze = blocker(
        BlockerKind.FREEZE,
        id="f",
        starts_at=NOW + timedelta(minutes=10),
        until=NOW + timedelta(days=1),
    )
    assert next_wake(StageState(blockers=(expiring,)), calendar, NOW) == NOW + timedelta(minutes=30)
    assert next_wake(StageState(blockers=(expiring, freeze)), calendar, NOW) == NOW + timedelta(
        minutes=10
    )


def test_a_stage_with_nothing_timed_never_wakes() -> None:
    assert next_wake(StageState(queue=(deployment(1),)), Calendar(), NOW) is None


class StubbornOrchestrator(FakeOrchestrator):
    """A reconciliation in a call that loses the first cancellation (as `wait_for` can on
    Python 3.11), then finishes using a client that must still be open."""

    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.started = asyncio.Event()
        self.client_open = True
        self.used_closed_client = False

    async def reconcile_within(self, budget: int, idle_every: timedelta) -> list[str]:
        self.started.set()
        with contextlib.suppress(asyncio.CancelledError):  # lost
            await asyncio.sleep(30)
        await asyncio.sleep(0.05)
        self.used_closed_client = not self.client_open
        return []


async def test_stop_ends_a_running_reconciliation_before_returning(caplog: Any) -> None:
    orchestrator = StubbornOrchestrator(MemoryStore())
    timers = Timers(orchestrator, load_config(EXAMPLE), clock=lambda: NOW)  # type: ignore[arg-type]
    await timers.start()
    await asyncio.wait_for(orchestrator.started.wait(), 5)
    await timers.stop()
    orchestrator.client_open = False  # what the runtime closes next
    await asyncio.sleep(0.2)
    assert not orchestrator.used_closed_client
    assert not timers.running
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


async def test_a_wake_up_is_moved_only_when_the_stage_asks_for_another_time() -> None:
    began = datetime.now(UTC)

    def clock() -> datetime:  # NOW, running at the speed of real time
        return NOW + (datetime.now(UTC) - began)

    timers = Timers(FakeOrchestrator(MemoryStore()), load_config(EXAMPLE), clock=clock)  # type: ignore[arg-type]
    timers.scheduler.start(paused=True)
    try:
        baking = StageState(current=deployment(1, DeploymentState.BAKING, bake_until=NOW + timedelta(minutes=20)))  # fmt: skip
        assert await timers.arm("shop", "beta", baking) == NOW + timedelta(minutes=20)
        first = timers.scheduler.get_job("wake:shop:beta")
        assert first is not None
        await asyncio.sleep(1.2)  # a later decision that leaves the bake as it was
        assert await timers.arm("shop", "beta", baking) == NOW + timedelta(minutes=20)
        assert timers.scheduler.get_job("wake:shop:beta") is first, "left where it was"
        longer = StageState(current=deployment(1, DeploymentState.BAKING, bake_until=NOW + timedelta(minutes=50)))  # fmt: skip
        await timers.arm("shop", "beta", longer)
        moved = timers.scheduler.get_job("wake:shop:beta").next_run_time
        assert moved - first.next_run_time > timedelta(minutes=29)
    finally:
        timers.scheduler.shutdown(wait=False)
