"""Telling people: deploybot's notices, posted to Slack without ever holding up a deployment.

    Tell effect --(outbox, instantly)--> the `slack` inbox --(its own worker)--> Slack

`SlackOutbox` is the stage service's effect handler for notices: it only records them in a
Redis stream, so a Slack outage or rate limit never delays the next promotion in the outbox.
`SlackNotifier.deliver` runs from that stream's worker: it keeps one status thread per change
(the parent message updated in place, each notice a threaded reply, failures and rollbacks
broadcast to the channel), posts rollback alerts and blocker messages with their buttons, hands
alarms firing and resolving to the stage's alarm message (bot.slack.alarm_boards), and paces
posts per channel. An item is acknowledged only once Slack took it; slack_sdk's retry
handlers wait out 429s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core.decision import Notice, NoticeKind
from bot.core.model import (
    Blocker,
    BlockerKind,
    Change,
    Deployment,
    DeploymentKind,
    DeploymentState,
    StageState,
)
from bot.service.effects import EFFECT, Tell, encode
from bot.slack.alarm_boards import AlarmBoards, is_alarm_news
from bot.slack.render import alerts, announce, freeze_scheduled, thread
from bot.store.base import ChangeView, Store
from bot.store.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)

ALERTS = (NoticeKind.ROLLBACK_NEEDS_APPROVAL, NoticeKind.ALARM_AFTER_BAKE)
#: Blockers people can lift from a message (window and configured freezes cannot).
SHOWN_LIMIT = 1000
LIFTABLE = (BlockerKind.MANUAL, BlockerKind.ALARM, BlockerKind.FREEZE)


class SlackOutbox:
    """The stage service's port for notices: record them for the Slack worker (all of a pass
    in one round trip, once per effect id), nothing more."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def __call__(self, notices: Sequence[Tell]) -> None:
        await self.inbox.put_many("slack", [(n.id, encode(n)) for n in notices])


class Pacer:
    """At most one post per `interval` seconds in each channel (Slack's guidance)."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, channel: str) -> None:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            delay = self._next.get(channel, 0.0) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next[channel] = time.monotonic() + self.interval


class SlackNotifier:
    def __init__(
        self,
        client: AsyncWebClient,
        config: DeploybotConfig,
        store: Store,
        *,
        clock: Callable[[], datetime],
        org: str | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.client = client
        self.config = config
        self.store = store
        self.clock = clock
        self.org = org
        self.pacer = pacer or Pacer()
        #: The parent message last shown per thread, so an unchanged one is not sent again.
        self._shown: dict[str, dict[str, Any]] = {}
        #: Alarms fired and resolved, one message per stage (its task runs in the runtime).
        self.boards = AlarmBoards(
            client, config, store, clock=clock, post=self.post, pace=self.pacer.wait
        )

    async def deliver(self, item: InboxItem) -> None:
        effect = EFFECT.validate_json(item.payload)
        if isinstance(effect, Tell):
            await self.tell(effect.notice)

    async def tell(self, notice: Notice) -> None:
        if notice.kind is NoticeKind.REFUSED:
            return  # answered to the person who asked (ephemerally); the audit log has it
        project = self.config.project(notice.project)
        zone = project.calendar(notice.stage).timezone
        now = self.clock()
        alerting = notice.kind in ALERTS
        if alerting:
            await self.post(
                project.channel_for(notice.stage), alerts.rollback_alert(notice, zone, now)
            )
        if is_alarm_news(notice):
            self.boards.changed(project.name, notice.stage)
            return
        later = [b for b in notice.blockers
                 if b.kind is BlockerKind.FREEZE and b.starts_at is not None and now < b.starts_at]  # fmt: skip
        if notice.kind is NoticeKind.BLOCKER_ADDED and later:  # a freeze for later: not yet
            message = freeze_scheduled(project.name, notice.stage, later[0], zone)
            await self.post(project.channel_for(notice.stage), message)
            return
        liftable = [b for b in notice.blockers if b.kind in LIFTABLE and b.active(now)]
        if notice.kind is NoticeKind.BLOCKER_ADDED and liftable:
            message = alerts.blocker_message(project.name, notice.stage, liftable[0], zone, now)
            posted = await self.post(project.channel_for(notice.stage), message)
            if posted.get("ts"):  # remembered, so that its lifting changes it in place
                key = _blocker_key(notice.stage, liftable[0])
                await self.store.set_thread(project.name, key, str(posted["ts"]))
            return
        if notice.kind is NoticeKind.BLOCKER_LIFTED and await self._lifted(project, notice, zone):
            return
        if notice.kind is NoticeKind.UNBLOCKED and "window" in notice.cleared and notice.deployment:
            state = await self.store.load(project.name, notice.stage)
            waiting = len(state.queue)  # the head has started by now
            opened = announce.window_opened(
                project.name, notice.stage, notice.deployment, waiting, zone, now
            )
            await self.post(project.channel_for(notice.stage), opened)
        if notice.deployment is not None:
            await self.in_thread(project, notice.deployment, notice, zone, now)
        elif not alerting:
            await self.post(
                project.channel_for(notice.stage), thread.notice_reply(notice, zone, now, self.org)
            )

    async def in_thread(
        self,
        project: ProjectConfig,
        deployment: Deployment,
        notice: Notice,
        zone: str,
        now: datetime,
    ) -> None:
        ts, view = await self._parent(project, deployment.change, {notice.stage: deployment}, now)
        reply = thread.notice_reply(notice, zone, now, self.org)
        if notice.kind in ALERTS:
            reply["reply_broadcast"] = False  # the alert, with its buttons, is in the channel
        assert ts is not None
        await self.post(project.channel, reply, thread_ts=ts)
        if deployment.kind is DeploymentKind.ROLLBACK:
            history = view.history[notice.stage]  # the stage's, read with the change's view
            await self._follow_rollback(project, deployment, history, notice, zone, now)

    async def _follow_rollback(
        self,
        project: ProjectConfig,
        rollback: Deployment,
        history: list[Deployment],
        notice: Notice,
        zone: str,
        now: datetime,
    ) -> None:
        """The change a rollback undoes tells the story too (issue 15 item 2): its message
        shows what became of it (`rolled back to abc1234 (by @bob)`), and its thread gets the
        rollback's progress, not only the thread of the change rolled back to."""
        undone = _rolled_back_from(history, rollback)
        if undone is None or undone.change.sha == rollback.change.sha:
            return
        ts, _ = await self._parent(project, undone.change, {}, now, create=False)
        if ts is not None:
            reply = thread.notice_reply(notice, zone, now, self.org)
            reply["reply_broadcast"] = False  # the channel heard it from the other thread
            await self.post(project.channel, reply, thread_ts=ts)

    async def _parent(
        self,
        project: ProjectConfig,
        change: Change,
        shown: dict[str, Deployment],
        now: datetime,
        create: bool = True,
    ) -> tuple[str | None, ChangeView]:
        """The change's message, posted (unless `create` is False) or brought up to date;
        its ts (None when not posted) and what it was drawn from. `shown`: deployments fresher
        than the store's, by stage."""
        view = await self.store.change_view(project.name, project.stage_names, change.sha)
        states = view.states
        latest = {
            stage: d
            for stage, state in states.items()
            if (d := _latest(state, view.history[stage], change.sha))
        }
        latest.update(shown)
        parent = thread.change_thread(project, change, latest, states, now, self.org)
        ts = view.thread
        if ts is None:
            if not create:
                return None, view
            posted = await self.post(project.channel, parent)
            ts = await self.store.set_thread(project.name, change.sha, str(posted["ts"]))
        elif self._shown.get(ts) != parent:
            await self.pacer.wait(project.channel)
            await self.client.chat_update(channel=project.channel, ts=ts, **parent)
        self._shown[ts] = parent
        while len(self._shown) > SHOWN_LIMIT:
            self._shown.pop(next(iter(self._shown)))
        return ts, view

    async def _lifted(self, project: ProjectConfig, notice: Notice, zone: str) -> bool:
        """Every message that said a lifted blocker blocks the stage now says who lifted it,
        its Unblock button gone (issue 15 item 3). True when each lifted blocker had one: the
        edits tell it, and nothing new is posted (lifting four is four edits, not four posts)."""
        channel, every = project.channel_for(notice.stage), bool(notice.blockers)
        for blocker in notice.blockers:
            ts = await self.store.thread(project.name, _blocker_key(notice.stage, blocker))
            if ts is None:
                every = False
                continue
            acted = alerts.Acted(by=notice.actor, did="lifted the blocker", at=self.clock())
            lifted = alerts.blocker_message(project.name, notice.stage, blocker, zone,
                                            self.clock(), acted)  # fmt: skip
            await self.pacer.wait(channel)
            await self.client.chat_update(channel=channel, ts=ts, **lifted)
        return every

    async def post(self, channel: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        await self.pacer.wait(channel)
        answer = await self.client.chat_postMessage(channel=channel, **message, **extra)
        return dict(answer.data) if isinstance(answer.data, dict) else {}


def _blocker_key(stage: str, blocker: Blocker) -> str:
    """Where the ts of the message announcing `blocker` is kept (beside change threads)."""
    return f"blocker:{stage}:{blocker.id}:{blocker.created_at.isoformat()}"


def _rolled_back_from(history: list[Deployment], rollback: Deployment) -> Deployment | None:
    """The failed deployment `rollback` undoes: the stage's newest failed one before it."""
    for deployment in history:  # newest first
        failed = deployment.state is DeploymentState.FAILED
        if failed and deployment.kind is not DeploymentKind.ROLLBACK:
            finished = deployment.finished_at or deployment.created_at
            if finished <= rollback.created_at:
                return deployment
    return None


def _latest(state: StageState, history: list[Deployment], sha: str) -> Deployment | None:
    """The stage's newest deployment of the change: queued or running, else finished."""
    live = [*state.queue, *([state.current] if state.current else [])]
    for deployment in [*reversed(live), *history]:
        if deployment.change.sha == sha:
            return deployment
    return None
