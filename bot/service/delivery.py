"""Delivery metrics of a stage, read from the store (issue 17): its history and the project's
remembered changes, for a window and the one before it (the trend)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.delivery import Delivery, delivery
from bot.store.base import CHANGES_LIMIT, HISTORY_LIMIT, Store


async def stage_delivery(
    store: Store, project: str, stage: str, window: timedelta, now: datetime
) -> tuple[Delivery, Delivery]:
    """(the last `window`, the `window` before it)."""
    history = await store.history(project, stage, limit=HISTORY_LIMIT)
    changes, _ = await store.changes(project, None, now, CHANGES_LIMIT)
    current = delivery(history, changes, now - window, now)
    previous = delivery(history, changes, now - 2 * window, now - window)
    return current, previous


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
