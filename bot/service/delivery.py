"""Delivery metrics of a stage, read from the store (issue 17): its delivery records and when
the project's remembered changes were made, for a window and the one before it (the trend).
One stage's records and one project's changes are read, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.delivery import HISTORY_RETENTION, Delivery, DeliveryRecord, delivery
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
    records, changes = await _read(store, project, stage)
    current = delivery(records, changes, now - window, now)
    if 2 * window > retention:
        return current, None
    return current, delivery(records, changes, now - 2 * window, now - window)


async def _read(
    store: Store, project: str, stage: str
) -> tuple[list[DeliveryRecord], dict[str, datetime]]:
    return await store.deliveries(project, stage), await store.change_times(project)


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


#: The window the App Home shows each project's figures for.
BOARD_WINDOW = timedelta(days=30)
#: How long the App Home's figures are reused before they are worked out again: figures over
#: 30 days move slowly, and a replica that saw a deployment end forgets them at once.
BOARD_FIGURES_TTL = timedelta(minutes=5)


class BoardFigures:
    """The last 30 days' figures of each project's last stage, as the App Home shows them:
    worked out at most once per `ttl` per project, and again after this replica saw a
    deployment end on that stage (`forget`), so re-publishing the board after every decision
    reads no history."""

    def __init__(
        self,
        store: Store,
        last_stages: dict[str, str],
        ttl: timedelta = BOARD_FIGURES_TTL,
    ) -> None:
        self.store, self.last_stages, self.ttl = store, last_stages, ttl
        self._kept: dict[str, tuple[datetime, Delivery]] = {}

    async def of(self, projects: list[str], now: datetime) -> dict[str, Delivery]:
        figures: dict[str, Delivery] = {}
        for project in projects:
            kept = self._kept.get(project)
            if kept is None or now - kept[0] >= self.ttl or now < kept[0]:
                records, changes = await _read(self.store, project, self.last_stages[project])
                current = delivery(records, changes, now - BOARD_WINDOW, now)
                kept = self._kept[project] = (now, current)
            figures[project] = kept[1]
        return figures

    def forget(self, project: str, stage: str) -> None:
        """A deployment ended on `stage`: the project's figures are worked out again."""
        if self.last_stages.get(project) == stage:
            self._kept.pop(project, None)
