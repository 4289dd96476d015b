"""Slack's part of the runtime: the Bolt app with its listeners, the roles, the notifier and
the worker that posts notices from the `slack` inbox. Built only when SLACK_BOT_TOKEN and
SLACK_SIGNING_SECRET are set; without them deploybot logs its notices instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.models import DeploybotConfig
from bot.metrics import Metrics
from bot.orchestrator import Orchestrator
from bot.service.delivery import BoardFigures
from bot.service.inbox_worker import InboxWorker
from bot.settings import Settings
from bot.slack.app import build_bolt_app, web_client
from bot.slack.listeners import SlackContext, register
from bot.slack.listeners.home import republisher
from bot.slack.notifier import SlackNotifier, SlackOutbox
from bot.slack.pacing import Pacer
from bot.slack.roles import Roles
from bot.store.inbox import Inbox

#: The most notices folded in one pass of the Slack worker.
FOLD_LIMIT = 500


@dataclass
class SlackParts:
    client: AsyncWebClient
    bolt: AsyncApp
    context: SlackContext
    outbox: SlackOutbox
    notifier: SlackNotifier
    worker: InboxWorker


def build_slack(
    settings: Settings,
    config: DeploybotConfig,
    orchestrator: Orchestrator,
    inbox: Inbox,
    *,
    clock: Callable[[], datetime],
    consumer: str,
    metrics: Metrics | None = None,
    pace: float = 1.0,
) -> SlackParts | None:
    if settings.slack_bot_token is None or settings.slack_signing_secret is None:
        return None
    pacer = Pacer(pace)  # Slack's limits per method; told of every 429's Retry-After
    client = web_client(settings, on_limited=pacer.hold)
    bolt = build_bolt_app(settings, client)

    async def members(group: str) -> list[str]:
        answer = await client.usergroups_users_list(usergroup=group)
        users: list[object] = answer.get("users", [])
        return [str(user) for user in users]

    store = orchestrator.stages.store
    org = settings.semaphore_web_url  # workflow links follow a self-hosted Semaphore
    last_stages = {project.name: project.stage_names[-1] for project in config.projects}
    context = SlackContext(config, orchestrator, store, Roles(config, members), clock, client, org,
                           figures=BoardFigures(store, last_stages))  # fmt: skip
    register(bolt, context)
    orchestrator.stages.listeners.append(republisher(context))
    notifier = SlackNotifier(client, config, store, clock=clock, org=org, pacer=pacer)
    # Every notice waiting is taken and folded (a message edited once to its latest state, not
    # once per step); each unit is acknowledged once posted, and the rest of a long pass is
    # kept from other replicas (touched) while it waits its turn.
    worker = InboxWorker(inbox, notifier.deliver, consumer, metrics=metrics, count=FOLD_LIMIT,
                         retry_after_ms=10_000, fold=notifier.fold)  # fmt: skip
    return SlackParts(client, bolt, context, SlackOutbox(inbox), notifier, worker)
