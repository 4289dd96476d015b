"""Telling people: deploybot's notices, posted to Slack without ever holding up a deployment.

    Tell effect --(outbox, instantly)--> the `slack` inbox --(its own worker)--> Slack

`SlackOutbox` is the stage service's effect handler for notices: it only records them in a
Redis stream, so a Slack outage or rate limit never delays the next promotion in the outbox.
`SlackNotifier.deliver` runs from that stream's worker: it keeps one status thread per change
(the parent message updated in place, each notice a threaded reply, failures and rollbacks
broadcast to the channel), posts rollback alerts and blocker messages with their buttons, hands
alarms firing and resolving to the stage's alarm message (bot.slack.alarm_boards).

Under a burst, what waits is folded (`fold`, issue 15 item 14): every notice about one change
that waited together is one edit of its message (drawn from the store: its latest state) and
one reply with a line each; changes superseded before their message was posted get no
message, one line in the thread of the change that superseded them. Calls are paced by
Slack's limits per method (bot.slack.pacing), honouring Retry-After. An item is acknowledged
only once Slack took it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
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
from bot.core.ships import Ships
from bot.service.effects import EFFECT, Tell, encode
from bot.service.inbox_worker import Unit
from bot.service.ships import deployment_ships, listed
from bot.slack.alarm_boards import AlarmBoards, is_alarm_news
from bot.slack.pacing import Pacer
from bot.slack.render import alerts, announce, freeze_scheduled, thread
from bot.slack.render.approvals import approval_message
from bot.slack.render.text import outcome as outcome_words
from bot.store.base import ChangeView, Store
from bot.store.inbox import Inbox, InboxItem

log = logging.getLogger(__name__)

ALERTS = (NoticeKind.ROLLBACK_NEEDS_APPROVAL, NoticeKind.ALARM_AFTER_BAKE)
#: Deployments per stage `change_view` reads, and how far back a stage the change passed
#: is looked up when they do not hold its deployment.
VIEW_HISTORY = 20
DEEP_HISTORY = 500
#: Notices with messages of their own (a blocker's, a refusal's): never folded into a thread.
SINGLE = (NoticeKind.BLOCKER_ADDED, NoticeKind.BLOCKER_LIFTED, NoticeKind.REFUSED)
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
            client, config, store, clock=clock, post=self.post, update=self.update
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
        if _approval_news(notice):
            await self._approval(project, notice, zone, now)
        if alerting:
            target, failed = notice.rollback_target, notice.deployment
            reverts = None  # what the rollback would take away, so the people affected know
            if (
                target is not None
                and failed is not None
                and failed.change.created_at > target.change.created_at
            ):
                reverts = await listed(self.store, project.name, target.change, failed.change, True)
            alert = alerts.rollback_alert(notice, zone, now, reverts=reverts)
            await self.post(project.channel_for(notice.stage), alert)
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
            reply = thread.notice_reply(notice, zone, now, self.org)
            if alerting:
                reply["reply_broadcast"] = False  # the alert, with its buttons, is in the channel
            await self.in_thread(project, [notice], reply)
        elif not alerting:
            await self.post(
                project.channel_for(notice.stage), thread.notice_reply(notice, zone, now, self.org)
            )

    async def fold(self, items: list[InboxItem]) -> list[Unit]:
        """The notices that waited together, folded (issue 15 item 14), in the order they came:
        a change's notices are one unit (its message edited once, to its latest state, and one
        reply with a line each); changes superseded before their message was posted are one
        line in the thread of the change that superseded them (`superseded_reply`), per stage;
        any other notice is a unit of its own."""
        order: list[InboxItem | tuple[str, str]] = []  # an item alone, or a change's key
        threads: dict[tuple[str, str], list[tuple[InboxItem, Notice]]] = {}
        for item in items:
            notice = _notice(item)
            if notice is None or notice.deployment is None or not self._threaded(notice):
                order.append(item)
                continue
            key = (notice.project, notice.deployment.change.sha)
            if key not in threads:
                order.append(key)
            threads.setdefault(key, []).append((item, notice))
        lines: dict[tuple[str, str], list[tuple[InboxItem, Notice]]] = {}
        line_of: dict[tuple[str, str], tuple[str, str]] = {}
        for key, told in threads.items():
            if (stage := await self._superseded_unseen(told[-1][1])) is not None:
                line_of[key] = (key[0], stage)
                lines.setdefault(line_of[key], []).extend(told)
        units: list[Unit] = []
        for slot in order:
            if isinstance(slot, InboxItem):
                units.append(([slot], functools.partial(self.deliver, slot)))
            elif slot not in line_of:
                told = threads[slot]
                work = functools.partial(self._thread_unit, [notice for _, notice in told])
                units.append(([item for item, _ in told], work))
        for (project, stage), told in lines.items():  # last: after the news of the newest
            work = functools.partial(self._superseded_unit, project, stage, [n for _, n in told])
            units.append(([item for item, _ in told], work))
        return units

    def _threaded(self, notice: Notice) -> bool:
        """A notice that is only a line in its change's thread (and an edit of its message);
        not one about a roll-forward that waited for approval (its approval message too)."""
        return (
            notice.deployment is not None
            and not _approval_news(notice)
            and notice.project in self.config.project_names
            and notice.kind not in (*ALERTS, *SINGLE)
            and not is_alarm_news(notice)
            and not (notice.kind is NoticeKind.UNBLOCKED and "window" in notice.cleared)
        )

    async def _superseded_unseen(self, last: Notice) -> str | None:
        """The stage where the change was superseded, when it never got a message of its own
        and it was superseded everywhere it went (nothing more will happen to it); else None."""
        if last.kind is not NoticeKind.SUPERSEDED:
            return None
        project = self.config.project(last.project)
        assert last.deployment is not None
        sha = last.deployment.change.sha
        view = await self.store.change_view(project.name, project.stage_names, sha)
        if view.thread is not None:
            return None
        latest = {
            stage: d
            for stage, state in view.states.items()
            if (d := _latest(state, view.history[stage], sha))
        }
        latest[last.stage] = last.deployment  # what was just decided, however long the history
        if all(d.state is DeploymentState.SUPERSEDED for d in latest.values()):
            return last.stage
        return None

    async def _thread_unit(self, notices: list[Notice]) -> None:
        project, now = self.config.project(notices[0].project), self.clock()
        # Stage by stage, as a change moves (one stage's decision can be recorded after the
        # next stage's: "queued for prod" before "beta succeeded" reads wrong).
        order = {name: n for n, name in enumerate(project.stage_names)}
        notices = sorted(notices, key=lambda n: order.get(n.stage, len(order)))
        told = [(n, project.calendar(n.stage).timezone) for n in notices]
        await self.in_thread(project, notices, thread.notices_reply(told, now, self.org))

    async def _superseded_unit(self, project_name: str, stage: str, notices: list[Notice]) -> None:
        """One line for the changes superseded before their message was posted, in the thread
        of the stage's newest change (the one that superseded them, or a newer one still)."""
        project, now = self.config.project(project_name), self.clock()
        changes = {n.deployment.change.sha: n.deployment.change for n in notices if n.deployment}
        reply = thread.superseded_reply(stage, list(changes.values()))
        newest = _newest(await self.store.load(project_name, stage))
        if newest is None:
            await self.post(project.channel_for(stage), reply)
            return
        ts, _ = await self._parent(project, newest.change, {}, now)
        assert ts is not None
        await self.post(project.channel, reply, thread_ts=ts)

    async def in_thread(
        self, project: ProjectConfig, notices: list[Notice], reply: dict[str, Any]
    ) -> None:
        """The change's message brought up to date, `reply` (its notices) in its thread, and
        the thread of any change a rollback among them undoes told too."""
        now = self.clock()
        shown = {n.stage: n.deployment for n in notices if n.deployment is not None}
        change = notices[-1].deployment.change if notices[-1].deployment else None
        assert change is not None
        ts, view = await self._parent(project, change, shown, now)
        assert ts is not None
        await self.post(project.channel, reply, thread_ts=ts)
        for notice in notices:
            deployment = notice.deployment
            if deployment is not None and deployment.kind is DeploymentKind.ROLLBACK:
                zone = project.calendar(notice.stage).timezone
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
        view = await self.store.change_view(
            project.name, project.stage_names, change.sha, history=VIEW_HISTORY
        )
        states = view.states
        latest = {
            stage: d
            for stage, state in states.items()
            if (d := _latest(state, view.history[stage], change.sha))
        }
        latest.update(shown)
        await self._earlier_stages(project, change.sha, view, latest)
        ships = await self._ships(project, latest, view)
        parent = thread.change_thread(project, change, latest, states, now, self.org, ships)
        ts = view.thread
        if ts is None:
            if not create:
                return None, view
            posted = await self.post(project.channel, parent)
            ts = await self.store.set_thread(project.name, change.sha, str(posted["ts"]))
        elif self._shown.get(ts) != parent:
            await self.update(project.channel, ts, parent)
        self._shown[ts] = parent
        while len(self._shown) > SHOWN_LIMIT:
            self._shown.pop(next(iter(self._shown)))
        return ts, view

    async def _ships(
        self, project: ProjectConfig, latest: dict[str, Deployment], view: ChangeView
    ) -> dict[str, Ships]:
        """What the change's deployments ship where they are queued or deploying."""
        ships = {}
        for stage, deployment in latest.items():
            if deployment.state in (DeploymentState.QUEUED, DeploymentState.RUNNING):
                found = await deployment_ships(self.store, project.name, deployment,
                                               view.states[stage], view.history[stage])  # fmt: skip
                if found is not None:
                    ships[stage] = found
        return ships

    async def _approval(
        self, project: ProjectConfig, notice: Notice, zone: str, now: datetime
    ) -> None:
        """The message asking for approval of a roll-forward: posted when it starts waiting,
        redrawn as approvals come and when the wait ends (issue 16)."""
        deployment, gate = notice.deployment, project.stage(notice.stage).approval
        if deployment is None or gate is None:
            return
        key = f"approval:{deployment.id}"
        ts = await self.store.thread(project.name, key)
        if notice.kind is not NoticeKind.AWAITING_APPROVAL and ts is None:
            return  # never asked (or its message is gone): nothing to redraw
        ended = _approval_ended(notice, gate.required)
        state = await self.store.load(project.name, notice.stage)
        ships = await deployment_ships(self.store, project.name, deployment, state, [])
        drawn = approval_message(
            project.name, notice.stage, deployment, gate.required, ships, zone, now, ended
        )
        channel = project.channel_for(notice.stage)
        if ts is None:
            posted = await self.post(channel, drawn)
            if posted.get("ts"):
                await self.store.set_thread(project.name, key, str(posted["ts"]))
        else:
            await self.update(channel, ts, drawn)

    async def _earlier_stages(
        self, project: ProjectConfig, sha: str, view: ChangeView, latest: dict[str, Deployment]
    ) -> None:
        """A stage before the furthest one the change reached must have run it; when the view's
        short history no longer holds that deployment (a burst pushed it out), it is looked up
        further back, so that the message never says "not yet" of a stage the change passed."""
        names = project.stage_names
        reached = [n for n, stage in enumerate(names) if stage in latest]
        for stage in names[: max(reached, default=0)]:
            if stage not in latest and len(view.history[stage]) >= VIEW_HISTORY:
                deep = await self.store.history(project.name, stage, limit=DEEP_HISTORY)
                if found := next((d for d in deep if d.change.sha == sha), None):
                    latest[stage] = found

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
            await self.update(channel, ts, lifted)
        return every

    async def post(self, channel: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        await self.pacer.wait("chat.postMessage", channel)
        answer = await self.client.chat_postMessage(channel=channel, **message, **extra)
        return dict(answer.data) if isinstance(answer.data, dict) else {}

    async def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        await self.pacer.wait("chat.update", channel)
        await self.client.chat_update(channel=channel, ts=ts, **message)


def _notice(item: InboxItem) -> Notice | None:
    """The notice an item tells, or None (not a notice, or unreadable: `deliver` says why)."""
    try:
        effect = EFFECT.validate_json(item.payload)
    except ValidationError:
        return None
    return effect.notice if isinstance(effect, Tell) else None


#: What becomes of a roll-forward that waited for approval, told on its approval message.
APPROVAL_NEWS = frozenset({
    NoticeKind.AWAITING_APPROVAL, NoticeKind.APPROVED, NoticeKind.APPROVAL_REJECTED,
    NoticeKind.APPROVAL_EXPIRED, NoticeKind.SUPERSEDED, NoticeKind.CANCELLED,
})  # fmt: skip


def _approval_news(notice: Notice) -> bool:
    deployment = notice.deployment
    waited = deployment is not None and deployment.approval_until is not None
    return waited and notice.kind in APPROVAL_NEWS


def _approval_ended(notice: Notice, required: int) -> str | None:
    """How a wait for approval ended, in words (None: it still waits)."""
    deployment = notice.deployment
    if deployment is None or notice.kind is NoticeKind.AWAITING_APPROVAL:
        return None
    if notice.kind is NoticeKind.APPROVED:
        if len(deployment.approvals) < required:
            return None
        return ":white_check_mark: Approved: it deploys once nothing blocks the stage."
    if notice.kind is NoticeKind.APPROVAL_EXPIRED:
        return ":hourglass: Expired: not enough approvals in time; a newer change asks again."
    if notice.kind is NoticeKind.SUPERSEDED:
        return ":fast_forward: Superseded by a newer change, which waits for its own approval."
    if deployment.outcome:  # rejected, or reset
        return f":no_entry_sign: {outcome_words(deployment.outcome)}"
    return None


def _newest(state: StageState) -> Deployment | None:
    """The stage's newest roll-forward: queued, running or baking, else the last deployed."""
    live = [*state.queue, *([state.current] if state.current else []), *state.good[:1]]
    forward = [d for d in live if d.kind is DeploymentKind.ROLLFORWARD]
    return max(forward, key=lambda d: d.change.created_at, default=None)


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
