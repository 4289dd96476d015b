"""Configuration drift: stages the store still holds work for that the configuration no longer
names (a project or a stage removed, or renamed). Their queued and running deployments would
otherwise be orphaned in silence; deploybot reports them at startup and in `/deploy status`.

Finding them scans every key of the store (1,000 projects hold tens of thousands), so
`/deploy status` reads a report at most a minute old (`DriftReport`) instead of scanning for
each request. Drift comes from a change of configuration, or from a replica still running an
older one during a rollout: a minute late is soon enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.models import DeploybotConfig
from bot.store.base import Store


@dataclass(frozen=True)
class Orphan:
    project: str
    stage: str
    queued: int
    running: str | None  # the sha of what runs or bakes there, if anything
    #: Whether the project is still configured (only the stage went away).
    project_known: bool

    def describe(self) -> str:
        parts = [f"{self.queued} queued"] if self.queued else []
        if self.running:
            parts.append(f"{self.running[:7]} running or baking")
        what = "project" if not self.project_known else "stage"
        return (
            f"{self.project}/{self.stage} is not in the configuration (its {what} was removed or "
            f"renamed) but still has {' and '.join(parts)}: nothing will deploy them. Put the "
            "stage back, or deal with it in Semaphore"
        )


async def orphans(config: DeploybotConfig, store: Store) -> list[Orphan]:
    """Stages the store holds queued or running work for, that the configuration does not name."""
    configured = {(p.name, s) for p in config.projects for s in p.stage_names}
    projects = {p.name for p in config.projects}
    found: list[Orphan] = []
    for project, stage in await store.stored_stages():
        if (project, stage) in configured:
            continue
        state = await store.load(project, stage)
        if not state.queue and state.current is None:
            continue
        running = state.current.change.sha if state.current is not None else None
        found.append(Orphan(project, stage, len(state.queue), running, project in projects))
    return found


#: How long `/deploy status` shows the same drift report before the store is scanned again.
DRIFT_TTL = timedelta(minutes=1)


class DriftReport:
    """`orphans`, worked out at most once per `ttl` (by the `now` given)."""

    def __init__(self, config: DeploybotConfig, store: Store, ttl: timedelta = DRIFT_TTL) -> None:
        self.config, self.store, self.ttl = config, store, ttl
        self._kept: tuple[datetime, list[Orphan]] | None = None

    async def orphans(self, now: datetime) -> list[Orphan]:
        kept = self._kept
        if kept is None or now - kept[0] >= self.ttl or now < kept[0]:
            kept = self._kept = (now, await orphans(self.config, self.store))
        return kept[1]
