"""When a stage next needs looking at, without any event from outside: a bake ends, a
blocker starts or expires, a window opens or closes, a freeze begins or ends."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from bot.core.model import DeploymentState, StageState


class Boundaries(Protocol):
    def next_boundary(self, after: datetime) -> datetime | None: ...


def next_wake(state: StageState, calendar: Boundaries, now: datetime) -> datetime | None:
    times: list[datetime] = []
    current = state.current
    if current is not None and current.state is DeploymentState.BAKING and current.bake_until:
        times.append(current.bake_until)
    for blocker in state.blockers:
        times += [t for t in (blocker.starts_at, blocker.until) if t is not None and t > now]
    boundary = calendar.next_boundary(now)
    if boundary is not None:
        times.append(boundary)
    return max(min(times), now) if times else None
