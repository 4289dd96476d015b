"""The App Home: the live board, published when someone opens it, and re-published to people
who opened it in the last ten minutes whenever a stage changes (at most once a second)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.decision import Decision
from bot.slack.listeners.context import SlackContext
from bot.slack.render import home_view

RECENT = 600.0
DEBOUNCE = 1.0


def register(app: AsyncApp, slack: SlackContext) -> None:
    @app.event("app_home_opened")
    async def opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        slack.home_viewers[user] = time.monotonic()
        slack.later(publish_home(slack, user), "publishing the App Home")


async def publish_home(slack: SlackContext, user: str) -> None:
    view = home_view(slack.config, await slack.all_states(), slack.clock(), slack.org)
    await slack.client.views_publish(user_id=user, view=view)


def republisher(slack: SlackContext) -> Any:
    """A stage-service listener: re-publish the board for recent viewers, after the decision."""
    pending: list[bool] = []

    async def republish_soon() -> None:
        await asyncio.sleep(DEBOUNCE)
        pending.clear()
        now = time.monotonic()
        for user, seen in list(slack.home_viewers.items()):
            if now - seen > RECENT:
                slack.home_viewers.pop(user, None)
                continue
            await publish_home(slack, user)

    async def changed(project: str, stage: str, decision: Decision) -> None:
        if slack.home_viewers and not pending:
            pending.append(True)
            slack.later(republish_soon(), "re-publishing the App Home")

    return changed
