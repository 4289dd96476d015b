"""Bolt listeners, thin: ack, parse (pure), check the role, call the orchestrator, render.

register(app, slack) registers every area: the /deploy command, buttons and modals, and
the App Home.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import deploy_command, home, interactive
from bot.slack.listeners.context import SlackContext


def register(app: AsyncApp, slack: SlackContext) -> None:
    deploy_command.register(app, slack)
    interactive.register(app, slack)
    home.register(app, slack)


__all__ = ["SlackContext", "register"]
