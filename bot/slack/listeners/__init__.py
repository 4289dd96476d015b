"""Bolt listeners, thin: ack, parse (pure), check the role, call the orchestrator, render.

register(app, slack) registers every area: the /deploy command, buttons and modals, and
the App Home.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners.context import SlackContext
from bot.slack.listeners.deploy_command import register as register_deploy_command
from bot.slack.listeners.home import register as register_home
from bot.slack.listeners.interactive import register as register_interactive


def register(app: AsyncApp, slack: SlackContext) -> None:
    register_deploy_command(app, slack)
    register_interactive(app, slack)
    register_home(app, slack)


__all__ = ["SlackContext", "register"]
