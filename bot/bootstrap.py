"""The parts everything is built from, given settings and the configuration: where state lives
(Redis, or the embedded store) and the stage service over it. `bot.runtime.build_runtime`
composes them with the adapters for `serve`, `socket`, the demo, the scenarios and the tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.config.models import DeploybotConfig
from bot.core.calendar import Calendar
from bot.core.model import Blocker
from bot.service.stages import Effects, StageService, no_effects, utcnow
from bot.settings import Settings
from bot.store import MemoryStore, RedisStore, Store
from bot.store.inbox import Inbox, MemoryInbox, RedisInbox
from bot.store.redis import redis_client

log = logging.getLogger("deploybot")

NOT_PERSISTED = (
    "REDIS_URL is not set: deploybot runs on its embedded in-process store. "
    "State is NOT persisted: queues, blockers and history are lost when the process stops."
)


def build_stores(settings: Settings) -> tuple[Store, Inbox]:
    """The store and the inbox, on one Redis connection pool, or embedded (and said so)."""
    if settings.redis_url is None:
        log.warning(NOT_PERSISTED)
        return MemoryStore(), MemoryInbox()
    where = "the Redis Cluster of" if settings.redis_cluster else "Redis at"
    log.info("state is kept in %s %s", where, settings.redis_url_for_logs)
    client = redis_client(settings.redis_url.get_secret_value(), cluster=settings.redis_cluster)
    return RedisStore(client), RedisInbox(client)


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
    return StageService(
        store,
        pipelines,
        calendar=calendar,
        effects=effects,
        clock=clock,
        retention=config.history_retention,
    )
