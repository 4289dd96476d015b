"""Which projects a reconciliation pass asks Semaphore about (issue 19), with known answers."""

from __future__ import annotations

from datetime import timedelta
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
    assert plan(looks, T0, IDLE, left=100) == ["busy", "idle-overdue", "idle-due"]


def test_when_the_budget_is_tight_active_projects_go_first_and_the_rest_wait_in_line() -> None:
    looks = [Look(f"idle-{n}", False, 1, T0 - (20 + n) * M) for n in range(5)]
    looks += [Look("busy-a", True, 2, T0 - 2 * M), Look("busy-b", True, 2, T0 - 5 * M)]
    assert plan(looks, T0, IDLE, left=6) == ["busy-b", "busy-a", "idle-4", "idle-3"]
    assert plan(looks, T0, IDLE, left=3) == ["busy-b"]  # busy-a does not fit: nothing jumps it
    assert plan(looks, T0, IDLE, left=0) == []


def test_projects_never_asked_about_come_due_spread_over_the_ceiling() -> None:
    names = [f"project-{n:04d}" for n in range(1000)]
    firsts = [first_look(name, T0, IDLE) for name in names]
    assert all(T0 - IDLE < f <= T0 for f in firsts)
    assert first_look("shop", T0, IDLE) == first_look("shop", T0, IDLE)  # the same each pass
    assert plan([Look(name, False, 1, None) for name in names], T0, IDLE, left=10_000) == []
    # First seen at T0, then minute by minute over the ceiling: about a fifteenth come due
    # each minute.
    looks = [Look(name, False, 1, first) for name, first in zip(names, firsts, strict=True)]
    due_by_minute = [len(plan(looks, T0 + n * M, IDLE, left=10_000)) for n in range(16)]
    assert due_by_minute[0] < 100 and due_by_minute[-1] == 1000
    steps = [b - a for a, b in pairwise(due_by_minute)]
    assert max(steps) < 100  # never all at once
