"""Which projects a reconciliation pass asks Semaphore about (issue 19).

    in_flight(states) -> bool        something there waits for Semaphore's news
    cost(states) -> int              the Semaphore calls asking about the project takes
    plan(looks, now, idle_every, left, every) -> [project, ...]

Webhooks are the primary signal; reconciliation catches what they lost. A project with
something in flight (a deployment running, a pipeline deploybot stopped and has not seen end, a
deployment target waited on to be active again) is asked about on every pass. An idle one is
asked about once per `idle_every`: each when its last look is that old. A project never
asked about is not asked at once: it is recorded as last asked at `first_look`, a moment in the
`idle_every` before it was first seen fixed by its name, so that projects first seen together
come due spread over `idle_every`, and stay spread, never all at once.

A pass asks, as long as the calls they cost fit in what is `left` of the organisation's API
budget: first the active projects the previous pass left out (last asked a pass and a half ago
or more), then the idle ones that are due, the most overdue first, then the other active
ones, each group the longest unasked first. With the budget ample, that is everyone; with it
tight, an active project is still asked at least every other pass (a lost done webhook is
found within two intervals) and idle ones come within their ceiling, where putting every
active project first starved them (issue 19: 50 active and 950 idle projects want 113 calls a
minute; the idle ones waited up to 19.6 minutes for a 15-minute ceiling). Pure: no clock, no
store.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.core.model import DeploymentState, StageState
from bot.core.starts import TARGET_INACTIVE


class Look(NamedTuple):
    """A project as a pass sees it: whether something is in flight there, the calls asking
    about it takes, and when it was last asked about (None: never)."""

    project: str
    active: bool
    cost: int
    last: datetime | None


def in_flight(states: Iterable[StageState]) -> bool:
    return any(
        (state.current is not None and state.current.state is DeploymentState.RUNNING)
        or state.stopping
        or any(b.id == TARGET_INACTIVE for b in state.blockers)
        for state in states
    )


def cost(states: Iterable[StageState]) -> int:
    """One call lists the project's pipelines done lately: its CI pipelines, and the deploy
    pipelines its running deployments wait for. One more per deployment whose pipeline is not
    known yet (a promotions lookup), per pipeline deploybot stopped, and per deployment target
    waited on."""
    calls = 1
    for state in states:
        current = state.current
        if current is not None and current.state is DeploymentState.RUNNING:
            calls += 0 if current.deploy_pipeline_id else 1
        calls += len(state.stopping)
        calls += sum(1 for b in state.blockers if b.id == TARGET_INACTIVE)
    return calls


def first_look(project: str, now: datetime, idle_every: timedelta) -> datetime:
    """When a project never asked about counts as last asked: a moment in the `idle_every`
    before `now` fixed by its name, so that projects first seen together come due spread."""
    seconds = max(1, int(idle_every.total_seconds()))
    return now - timedelta(seconds=zlib.crc32(project.encode()) % seconds)


def plan(
    looks: Sequence[Look], now: datetime, idle_every: timedelta, left: int, every: timedelta
) -> list[str]:
    """The projects to ask about, in order, on a pass made every `every`. A look without
    `last` counts as first seen now."""

    def since(look: Look) -> datetime:
        return look.last if look.last is not None else first_look(look.project, now, idle_every)

    active = sorted((look for look in looks if look.active), key=since)
    missed = [look for look in active if now - since(look) >= every * 1.5]
    due = sorted(
        (look for look in looks if not look.active and now - since(look) >= idle_every),
        key=since,
    )
    asked_lately = [look for look in active if now - since(look) < every * 1.5]
    chosen: list[str] = []
    for look in (*missed, *due, *asked_lately):
        if look.cost > left:
            break  # the budget is spent: the rest wait for the next pass, first in line
        chosen.append(look.project)
        left -= look.cost
    return chosen
