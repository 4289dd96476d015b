"""One message per stage for its alarms, edited in place while alerts churn (issue 14 item 6).

An alarm that fires or resolves used to be a message of its own: a burst of alerts became a
burst of posts, paced one a second per channel by the one Slack worker, and the notices of
every other stage and channel waited behind them. Now the worker only marks the stage
(`changed`, no Slack call) and `run`, a task of its own, rebuilds each marked stage's message
from the stored state: the alarms firing there, each with its Unblock button. Marks that arrive
while a message is being sent fold into the next edit, so a burst costs a few edits of one
message. The first alarm of a quiet stage posts a new message (people are notified); the
edits after it change that message; once nothing fires, it says so and the next alarm posts
anew.

What is kept in memory (which message is the stage's) is lost on a restart: the next alarm
then posts a new message. The alarms themselves are in the store (`/deploy status`, the App
Home).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config.models import DeploybotConfig
from bot.core.decision import Notice, NoticeKind
from bot.core.model import BlockerKind
from bot.lifecycle import reraise_lost_cancellation
from bot.slack.render import alerts
from bot.store.base import Store

log = logging.getLogger(__name__)

Key = tuple[str, str]
Post = Callable[[str, dict[str, Any]], Any]


def is_alarm_news(notice: Notice) -> bool:
    """An alarm blocker added or lifted, about no deployment: what the alarm board shows."""
    return (
        notice.kind in (NoticeKind.BLOCKER_ADDED, NoticeKind.BLOCKER_LIFTED)
        and notice.deployment is None
        and bool(notice.blockers)
        and all(b.kind is BlockerKind.ALARM for b in notice.blockers)
    )


class AlarmBoards:
    def __init__(
        self,
        client: AsyncWebClient,
        config: DeploybotConfig,
        store: Store,
        *,
        clock: Callable[[], datetime],
        post: Callable[[str, dict[str, Any]], Any],
        update: Callable[[str, str, dict[str, Any]], Any],
    ) -> None:
        self.client = client
        self.config = config
        self.store = store
        self.clock = clock
        #: Posts a message and returns Slack's answer (the notifier's paced `post`).
        self._post = post
        #: Edits a message (the notifier's paced `update`).
        self._update = update
        self._dirty: dict[Key, None] = {}
        self._wake = asyncio.Event()
        #: Per stage, the message of its current alarm episode and what it shows.
        self._ts: dict[Key, str] = {}
        self._shown: dict[Key, dict[str, Any]] = {}

    def changed(self, project: str, stage: str) -> None:
        """The stage's alarms changed: its message is rebuilt soon (instant, no Slack call)."""
        self._dirty[(project, stage)] = None
        self._wake.set()

    async def run(self) -> None:
        """Rebuild the marked stages' messages until cancelled; a failure is logged and the
        next change of that stage tries again."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.refresh_marked()
            reraise_lost_cancellation()

    async def refresh_marked(self) -> None:
        while self._dirty:
            key = next(iter(self._dirty))
            del self._dirty[key]
            try:
                await self.refresh(*key)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Slack down, Redis down: the next change tries again
                log.warning("alarm message of %s/%s not updated: %s", *key, type(exc).__name__)

    async def refresh(self, project_name: str, stage: str) -> None:
        key = (project_name, stage)
        project = self.config.project(project_name)
        zone, now = project.calendar(stage).timezone, self.clock()
        state = await self.store.load(project_name, stage)
        firing = [b for b in state.blockers if b.kind is BlockerKind.ALARM and b.active(now)]
        message = alerts.alarm_board(project_name, stage, firing, zone, now)
        channel = project.channel_for(stage)
        ts = self._ts.get(key)
        if ts is None:
            if not firing:
                return  # nothing shown and nothing to show
            answer = await self._post(channel, message)
            self._ts[key] = str(answer.get("ts", ""))
        elif self._shown.get(key) != message:
            await self._update(channel, ts, message)
        self._shown[key] = message
        if not firing:  # the episode is over: the next alarm gets a message of its own
            self._ts.pop(key, None)
            self._shown.pop(key, None)
