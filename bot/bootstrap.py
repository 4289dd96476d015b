"""The composition root: everything deploybot runs on is built here, from settings and the
configuration. The CLI, the server, the demo and the tests call the same functions with
different parts (a store, an effects handler, a clock)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.config.models import DeploybotConfig
from bot.core.calendar import Calendar
from bot.core.model import Blocker
from bot.service.stages import Effects, StageService, no_effects, utcnow
from bot.settings import Settings
from bot.store import MemoryStore, RedisStore, Store

log = logging.getLogger("deploybot")

NOT_PERSISTED = (
    "REDIS_URL is not set: deploybot runs on its embedded in-process store. "
    "State is NOT persisted: queues, blockers and history are lost when the process stops."
)


def build_store(settings: Settings) -> Store:
    if settings.redis_url is None:
        log.warning(NOT_PERSISTED)
        return MemoryStore()
    log.info("state is kept in Redis at %s", settings.redis_url_for_logs)
    return RedisStore.from_url(settings.redis_url.get_secret_value())


def build_stage_service(
    config: DeploybotConfig,
    store: Store,
    *,
    effects: Effects = no_effects,
    clock: Callable[[], datetime] = utcnow,
) -> StageService:
    calendars: dict[tuple[str, str], Calendar] = {
        (project.name, stage.name): project.calendar(stage.name)
        for project in config.projects
        for stage in project.stages
    }

    def calendar(project: str, stage: str, now: datetime) -> Sequence[Blocker]:
        return calendars[(project, stage)].blockers(now)

    pipelines = {project.name: project.policies() for project in config.projects}
    return StageService(store, pipelines, calendar=calendar, effects=effects, clock=clock)


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: DeploybotConfig
    store: Store
    stages: StageService


def bootstrap(
    settings: Settings,
    config: DeploybotConfig,
    *,
    store: Store | None = None,
    effects: Effects = no_effects,
    clock: Callable[[], datetime] = utcnow,
) -> Services:
    store = store if store is not None else build_store(settings)
    stages = build_stage_service(config, store, effects=effects, clock=clock)
    return Services(settings=settings, config=config, store=store, stages=stages)
