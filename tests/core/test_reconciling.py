"""Which projects a reconciliation pass asks Semaphore about (issue 19), with known answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

from builders import T0, blocker, deployment

from bot.core.model import DeploymentState, StageState
from bot.core.reconciling import Look, cost, first_look, in_flight, plan
from bot.core.starts import TARGET_INACTIVE

M = timedelta(minutes=1)
IDLE = 15 * M


def test_a_project_is_in_flight_while_a_deployment_runs_or_a_target_is_waited_on() -> None:
    idle = [StageState(), StageState(current=deployment(1, DeploymentState.BAKING))]
    assert not in_flight(idle) and cost(idle) == 1  # a bake waits for a timer, not Semaphore
    running = [StageState(current=deployment(1, DeploymentState.RUNNING)), StageState()]
    assert in_flight(running) and cost(running) == 2
    stopped = [StageState(stopping=(deployment(2, DeploymentState.CANCELLED),))]
    held = [StageState(blockers=(blocker(id=TARGET_INACTIVE),))]
    assert cost(stopped) == 2 and cost(held) == 2


def test_active_projects_come_every_pass_and_idle_ones_once_per_ceiling() -> None:
    looks = [
        Look("idle-recent", False, 1, T0 - 14 * M),
        Look("busy", True, 3, T0 - M),
        Look("idle-due", False, 1, T0 - 15 * M),
        Look("idle-overdue", False, 1, T0 - 40 * M),
    ]
    # Ample budget: everyone due is asked (the active project asked on the last pass last).
    assert plan(looks, T0, IDLE, left=100, every=M) == ["idle-overdue", "idle-due", "busy"]


def test_when_the_budget_is_tight_active_projects_go_first_and_the_rest_wait_in_line() -> None:
    looks = [Look(f"idle-{n}", False, 1, T0 - (20 + n) * M) for n in range(5)]
    looks += [Look("busy-a", True, 2, T0 - 2 * M), Look("busy-b", True, 2, T0 - 5 * M)]
    assert plan(looks, T0, IDLE, left=6, every=M) == ["busy-b", "busy-a", "idle-4", "idle-3"]
    # busy-a does not fit: nothing jumps it
    assert plan(looks, T0, IDLE, left=3, every=M) == ["busy-b"]
    assert plan(looks, T0, IDLE, left=0, every=M) == []


def test_a_tight_budget_asks_active_projects_every_other_pass_and_idle_ones_in_time() -> None:
    """Active projects asked on the last pass wait behind the idle ones due; those the last
    pass left out go first of all."""
    looks = [
        Look("busy-asked", True, 1, T0 - M),
        Look("busy-left-out", True, 1, T0 - 2 * M),
        Look("idle-due", False, 1, T0 - 16 * M),
    ]
    assert plan(looks, T0, IDLE, left=2, every=M) == ["busy-left-out", "idle-due"]
    assert plan(looks, T0, IDLE, left=3, every=M) == ["busy-left-out", "idle-due", "busy-asked"]
    # A pass a little early or late is still "the last pass".
    looks[0] = Look("busy-asked", True, 1, T0 - 80 * timedelta(seconds=1))
    assert plan(looks, T0, IDLE, left=2, every=M) == ["busy-left-out", "idle-due"]


def test_at_1000_projects_50_active_a_budget_of_100_meets_both_targets() -> None:
    """Minute by minute for an hour (each project asked costs 1 call): every active project is
    asked at least every 2 minutes, and no idle one waits past its ceiling and a pass."""
    names = [f"project-{n:04d}" for n in range(1000)]
    active = set(names[:50])
    last: dict[str, datetime] = {}
    asked_at: dict[str, list[int]] = {name: [] for name in names}
    for minute in range(60):
        now = T0 + minute * M
        looks = [Look(n, n in active, 1, last.get(n)) for n in names]
        for name in plan(looks, now, IDLE, left=100, every=M):
            last[name] = now
            asked_at[name].append(minute)
        for name in names:  # first seen: as the orchestrator records it
            last.setdefault(name, first_look(name, T0, IDLE))
    for name in active:
        assert max(b - a for a, b in pairwise([0, *asked_at[name]])) <= 2, name
    idle_waits = [b - a for n in names if n not in active for a, b in pairwise(asked_at[n])]
    assert idle_waits and max(idle_waits) <= 16


def test_projects_never_asked_about_come_due_spread_over_the_ceiling() -> None:
    names = [f"project-{n:04d}" for n in range(1000)]
    firsts = [first_look(name, T0, IDLE) for name in names]
    assert all(T0 - IDLE < f <= T0 for f in firsts)
    assert first_look("shop", T0, IDLE) == first_look("shop", T0, IDLE)  # the same each pass
    never = [Look(name, False, 1, None) for name in names]
    assert plan(never, T0, IDLE, left=10_000, every=M) == []
    # First seen at T0, then minute by minute over the ceiling: about a fifteenth come due
    # each minute.
    looks = [Look(name, False, 1, first) for name, first in zip(names, firsts, strict=True)]
    due_by_minute = [len(plan(looks, T0 + n * M, IDLE, left=10_000, every=M)) for n in range(16)]
    assert due_by_minute[0] < 100 and due_by_minute[-1] == 1000
    steps = [b - a for a, b in pairwise(due_by_minute)]
    assert max(steps) < 100  # never all at once
