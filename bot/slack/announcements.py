"""Announcements in the project's channel: change freezes at their announce offsets before
they start, when they start and when they end. Freezes from the configuration and freezes
people scheduled from Slack (`/deploy freeze`) are announced alike.

Each announcement is posted once across replicas: a Redis claim keyed by project, freeze, its
start and end, and the moment is taken before posting (and given back if Slack refused, so
the next run tries again). A freeze moved to other times is a new freeze to announce.

At startup the announcer looks back `CATCH_UP`: an announcement missed while the bot was down
is posted late, marked as late, when its freeze has not ended; of several missed for one
freeze only the latest is posted. A window opening on a waiting queue is announced by the
notifier, from the `unblocked` notice."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core.calendar import Calendar, Freeze
from bot.core.digest import digest_moments
from bot.core.model import BlockerKind
from bot.service.delivery import stage_delivery
from bot.slack.render import freeze_announcement
from bot.slack.render.delivery import digest_message
from bot.store.base import Store

log = logging.getLogger(__name__)

Post = Callable[[str, dict[str, Any]], Awaitable[object]]
#: Claims outlive any freeze's announcements.
CLAIM = timedelta(days=60)
#: How far back the first look after a start goes, for announcements missed while down.
CATCH_UP = timedelta(days=7)
#: The weekly digest's window, and how late a missed one is still posted.
WEEK = timedelta(days=7)
DIGEST_LATE = timedelta(days=1)


@dataclass
class Due:
    """One announcement: a freeze of a project, at a moment, for some of its stages."""

    project: str
    freeze: Freeze
    label: str
    at: datetime
    stages: list[str] = field(default_factory=list)

    @property
    def claim(self) -> str:
        span = f"{self.freeze.start:%Y%m%dT%H%M}-{self.freeze.end:%Y%m%dT%H%M}"
        return f"announce:{self.project}:{self.freeze.id}:{span}:{self.label}"


class Announcer:
    def __init__(self, config: DeploybotConfig, store: Store, post: Post) -> None:
        self.config = config
        self.store = store
        self.post = post

    async def due(self, after: datetime, until: datetime) -> list[Due]:
        """Every announcement in (after, until], of configured and Slack-scheduled freezes."""
        found: dict[tuple[str, str, datetime, datetime, str], Due] = {}
        for project in self.config.projects:
            for stage, calendar in (await self._calendars(project)).items():
                for at, freeze, label in calendar.announcements(after, until):
                    key = (project.name, freeze.id, freeze.start, freeze.end, label)
                    found.setdefault(key, Due(project.name, freeze, label, at)).stages.append(stage)
        return sorted(found.values(), key=lambda due: (due.at, due.project, due.freeze.id))

    async def _calendars(self, project: ProjectConfig) -> dict[str, Calendar]:
        """Each stage's calendar, with the freezes people scheduled from Slack added."""
        states = await self.store.load_many(project.name, project.stage_names)
        calendars: dict[str, Calendar] = {}
        for stage in project.stage_names:
            calendar = project.calendar(stage)
            configured = {freeze.id for freeze in calendar.freezes}
            scheduled = tuple(
                Freeze(b.id, b.starts_at, b.until, b.reason, self.config.freeze_announce)
                for b in states[stage].blockers
                if b.kind is BlockerKind.FREEZE
                and b.starts_at is not None
                and b.until is not None
                and b.until > b.starts_at
                and b.id not in configured
            )
            if scheduled:
                calendar = Calendar(
                    calendar.timezone,
                    calendar.windows,
                    calendar.holidays,
                    (*calendar.freezes, *scheduled),
                )
            calendars[stage] = calendar
        return calendars

    async def digests(self, after: datetime, until: datetime) -> int:
        """Post each project's weekly digest due in (after, until], once across replicas (a
        claim per project and moment); one missed while down is posted at the next look
        within CATCH_UP. Returns how many this replica posted."""
        posted = 0
        for project in self.config.projects:
            if project.digest is None:
                continue
            since = max(after, until - DIGEST_LATE)  # a week-old digest is not news
            for moment in digest_moments(project.digest, project.timezone, since, until):
                claim = f"digest:{project.name}:{moment:%Y%m%dT%H%M}"
                if not await self.store.claim(claim, CLAIM):
                    continue
                stage = project.stage_names[-1]
                current, previous = await stage_delivery(
                    self.store,
                    project.name,
                    stage,
                    WEEK,
                    moment.astimezone(UTC),
                    self.config.history_retention,
                )
                digest = digest_message(project.name, stage, current, previous, project.timezone)
                try:
                    await self.post(project.channel, digest)
                    posted += 1
                except Exception:
                    log.exception("the digest of %s failed; trying again later", project.name)
                    await self.store.release(claim)
        return posted

    async def announce(
        self, after: datetime, until: datetime, *, late_before: datetime | None = None
    ) -> int:
        """Post what is due in (after, until]; returns how many this replica posted. What was
        due before `late_before` was missed: it is posted marked late, only while its freeze
        lasts, and only the latest one per freeze."""
        posted = 0
        due = await self.due(after, until)
        if late_before is not None:
            due = _catch_up(due, late_before, until)
        for item in due:
            project = self.config.project(item.project)
            if not await self.store.claim(item.claim, CLAIM):
                continue
            every = len(item.stages) == len(project.stages)
            late = late_before is not None and item.at <= late_before
            message = freeze_announcement(
                item.project, [] if every else item.stages, item.freeze, item.label,
                project.timezone, until, late_since=item.at if late else None,
            )  # fmt: skip
            try:
                await self.post(project.channel, message)
                posted += 1
            except Exception:
                log.exception(
                    "announcing freeze %s (%s) failed; trying again later", item.freeze.id,
                    item.label,
                )  # fmt: skip
                await self.store.release(item.claim)
        return posted


def _catch_up(due: list[Due], late_before: datetime, now: datetime) -> list[Due]:
    """Of the announcements missed (due at or before `late_before`), the latest per freeze whose
    freeze has not ended; every announcement due since is kept."""
    on_time = [item for item in due if item.at > late_before]
    latest: dict[str, Due] = {}
    for item in due:
        if item.at <= late_before and now < item.freeze.end:
            latest[item.claim.rsplit(":", 1)[0]] = item  # sorted by time: the last one wins
    return sorted([*latest.values(), *on_time], key=lambda item: item.at)
