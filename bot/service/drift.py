"""Configuration drift: stages the store still holds work for that the configuration no longer
names (a project or a stage removed, or renamed). Their queued and running deployments would
otherwise be orphaned in silence; deploybot reports them at startup and in `/deploy status`.
"""

from __future__ import annotations

from dataclasses import dataclass

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
