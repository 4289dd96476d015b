"""When a stage next needs looking at, without any event from outside: a bake ends, a
blocker starts or expires, a window opens or closes, a freeze begins or ends, a wait for
approval expires, and, while a
started deployment waits for Semaphore to start its pipeline, the next look for it (often at
first, less often as it waits) until its `start_timeout`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.core.model import DEFAULT_START_TIMEOUT, DeploymentState, StageState

#: Looks for a started deployment's pipeline: a quarter of its wait so far, within these.
START_POLL_MIN = timedelta(seconds=0.5)
START_POLL_MAX = timedelta(seconds=15)


class Boundaries(Protocol):
    def next_boundary(self, after: datetime) -> datetime | None: ...


def start_poll(waited: timedelta) -> timedelta:
    """How soon to look again for the pipeline of a promotion `waited` ago."""
    return min(max(waited / 4, START_POLL_MIN), START_POLL_MAX)


def next_wake(
    state: StageState,
    calendar: Boundaries,
    now: datetime,
    start_timeout: timedelta = DEFAULT_START_TIMEOUT,
) -> datetime | None:
    times: list[datetime] = []
    current = state.current
    if current is not None and current.state is DeploymentState.BAKING and current.bake_until:
        times.append(current.bake_until)
    waiting = current is not None and current.state is DeploymentState.RUNNING
    if current is not None and waiting and not current.deploy_pipeline_id:
        started = current.started_at or current.created_at
        times.append(min(started + start_timeout, now + start_poll(now - started)))
    times += [d.approval_until for d in state.queue if d.approval_until is not None]
    for blocker in state.blockers:
        times += [t for t in (blocker.starts_at, blocker.until) if t is not None and t > now]
    boundary = calendar.next_boundary(now)
    if boundary is not None:
        times.append(boundary)
    return max(min(times), now) if times else None
