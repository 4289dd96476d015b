"""The App Home: the live board, published when someone opens it, and re-published to people
who opened it in the last ten minutes whenever a stage changes (at most once a second per
replica). Each project shows its last stage's delivery figures of the last 30 days, worked out
again when a deployment ended there (or after five minutes, for those other replicas saw). Who opened it is kept in the store, so the replica that decides a change re-publishes
the board for viewers whichever replica they opened it on."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.decision import Decision
from bot.slack.listeners.context import SlackContext
from bot.slack.render import home_view
from bot.slack.render.home import shown

RECENT = 600.0
DEBOUNCE = 1.0


def register(app: AsyncApp, slack: SlackContext) -> None:
    @app.event("app_home_opened")
    async def opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        slack.later(opened_home(slack, user), "publishing the App Home")


async def opened_home(slack: SlackContext, user: str) -> None:
    await slack.store.saw_home(user, time.time())
    await publish_home(slack, user)


async def publish_home(slack: SlackContext, *users: str) -> None:
    """The board as it is now, drawn once, published for each of `users`."""
    if not users:
        return
    now, room = slack.clock(), shown(slack.config)  # only those that can fit are read
    figures = None
    if slack.figures is not None:
        figures = await slack.figures.of(room, now)
    view = home_view(slack.config, await slack.states_of(room), now, slack.org, figures)
    for user in users:
        await slack.client.views_publish(user_id=user, view=view)


def republisher(slack: SlackContext) -> Any:
    """A stage-service listener: re-publish the board for recent viewers, a second after a
    decision (one look at the store for who they are, however many decisions came)."""
    pending: list[bool] = []

    async def republish() -> None:
        pending.clear()
        await publish_home(slack, *await slack.store.home_viewers(since=time.time() - RECENT))

    async def changed(project: str, stage: str, decision: Decision) -> None:
        if decision.finished and slack.figures is not None:
            slack.figures.forget(project, stage)
        if not pending:
            pending.append(True)
            asyncio.get_running_loop().call_later(DEBOUNCE, due)

    def due() -> None:
        slack.later(republish(), "re-publishing the App Home")

    return changed
