"""Delivery metrics of a stage, read from the store (issue 17): its delivery records and when
the project's remembered changes were made, for a window and the one before it (the trend).
One stage's records and one project's changes are read, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.delivery import HISTORY_RETENTION, Delivery, delivery
from bot.store.base import Store


async def stage_delivery(
    store: Store,
    project: str,
    stage: str,
    window: timedelta,
    now: datetime,
    retention: timedelta = HISTORY_RETENTION,
) -> tuple[Delivery, Delivery | None]:
    """(the last `window`, the `window` before it); None for the one before when it reaches
    further back than the records are kept (it would look emptier than it was)."""
    records = await store.deliveries(project, stage)
    changes = await store.change_times(project)
    current = delivery(records, changes, now - window, now)
    if 2 * window > retention:
        return current, None
    return current, delivery(records, changes, now - 2 * window, now - window)


def figures(d: Delivery) -> dict[str, Any]:
    """A window's metrics as JSON (seconds for durations), for scripts and scenarios."""

    def seconds(value: timedelta | None) -> float | None:
        return value.total_seconds() if value is not None else None

    return {
        "deployments": d.deployments,
        "per_day": round(d.per_day, 4),
        "lead_time_p50_s": seconds(d.lead_p50),
        "lead_time_p90_s": seconds(d.lead_p90),
        "changes": d.changes,
        "failures": d.failures,
        "attempts": d.attempts,
        "change_failure_rate": d.failure_rate,
        "restore_p50_s": seconds(d.restore_p50),
        "restore_max_s": seconds(d.restore_max),
        "restores_s": [r.total_seconds() for r in d.restores],
        "unrestored": d.unrestored,
    }
