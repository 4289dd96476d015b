"""Announcements in the project's channel: configured change freezes at their announce offsets
before they start, when they start and when they end. Each is posted once across replicas:
a Redis claim keyed by project, freeze and moment is taken before posting (and given back if
Slack refused, so the next run tries again). A window opening on a waiting queue is announced
by the notifier, from the `unblocked` notice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.config.models import DeploybotConfig
from bot.core.calendar import Freeze
from bot.slack.render import freeze_announcement
from bot.store.base import Store

log = logging.getLogger(__name__)

Post = Callable[[str, dict[str, Any]], Awaitable[object]]
#: Claims outlive any freeze's announcements.
CLAIM = timedelta(days=60)


class Announcer:
    def __init__(self, config: DeploybotConfig, store: Store, post: Post) -> None:
        self.config = config
        self.store = store
        self.post = post

    def due(self, after: datetime, until: datetime) -> list[tuple[str, Freeze, str, list[str]]]:
        """(project, freeze, label, stages it covers) for every announcement in (after, until]."""
        found: dict[tuple[str, str, str], tuple[str, Freeze, str, list[str]]] = {}
        for project in self.config.projects:
            for stage in project.stage_names:
                for _, freeze, label in project.calendar(stage).announcements(after, until):
                    key = (project.name, freeze.id, label)
                    entry = found.setdefault(key, (project.name, freeze, label, []))
                    entry[3].append(stage)
        return list(found.values())

    async def announce(self, after: datetime, until: datetime) -> int:
        """Post what is due; returns how many this replica posted."""
        posted = 0
        for project_name, freeze, label, stages in self.due(after, until):
            project = self.config.project(project_name)
            claim = f"announce:{project_name}:{freeze.id}:{label}"
            if not await self.store.claim(claim, CLAIM):
                continue
            every = len(stages) == len(project.stages)
            message = freeze_announcement(
                project_name, [] if every else stages, freeze, label, project.timezone, until
            )
            try:
                await self.post(project.channel, message)
                posted += 1
            except Exception:
                log.exception(
                    "announcing freeze %s (%s) failed; trying again later", freeze.id, label
                )
                await self.store.release(claim)
        return posted
