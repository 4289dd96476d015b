"""Everything `deploybot serve` runs, built from settings and the configuration, and the same
for the scenario runner and the end-to-end tests: store and inbox (Redis, or embedded), the
Semaphore client, the stage service, the orchestrator, the timers, the inbox worker and the
HTTP server. bootstrap.py builds the parts; this module starts and stops them together.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from bot.adapters.semaphore import Semaphore, SemaphoreEffects
from bot.bootstrap import build_stage_service, build_stores
from bot.config.models import DeploybotConfig
from bot.core.decision import Decision
from bot.errors import DeploybotError
from bot.http.app import build_app
from bot.http.deps import HttpDeps
from bot.http.server import RunningServer, start_server
from bot.lifecycle import bounded, end_tasks
from bot.metrics import Metrics
from bot.orchestrator import Orchestrator
from bot.service.budget import ApiBudget
from bot.service.drift import orphans
from bot.service.effects import Tell
from bot.service.inbox_worker import InboxWorker
from bot.service.stages import StageService, utcnow
from bot.settings import Settings
from bot.slack.announcements import Announcer
from bot.slack.app import mount
from bot.slack.render.announce import drift_message
from bot.slack.wiring import SlackParts, build_slack
from bot.store import Store
from bot.store.inbox import Inbox
from bot.timers import Timers
from semaphore_client import RateLimited, SemaphoreClient, ServerError, TransportError
from semaphore_client.session import Observer

log = logging.getLogger("deploybot")


class MissingSetting(DeploybotError):
    """A setting `serve` needs is not in the environment."""


def _semaphore_client(
    settings: Settings, http: httpx.AsyncClient | None, observe: Observer
) -> SemaphoreClient:
    token = settings.semaphore_api_token
    if token is None or not settings.semaphore_base_url:
        raise MissingSetting(
            "set SEMAPHORE_API_TOKEN, and SEMAPHORE_ORG (or SEMAPHORE_API_URL for a self-hosted "
            "Semaphore or the simulator)"
        )
    return SemaphoreClient(
        token=token.get_secret_value(),
        base_url=settings.semaphore_base_url,
        http=http,
        observe=observe,
    )


@dataclass
class Runtime:
    settings: Settings
    config: DeploybotConfig
    store: Store
    inbox: Inbox
    semaphore: Semaphore
    stages: StageService
    orchestrator: Orchestrator
    timers: Timers
    worker: InboxWorker
    metrics: Metrics
    slack: SlackParts | None = None
    server: RunningServer | None = None
    #: Whether this runtime made its store (and so closes it when it stops).
    owns_store: bool = True
    _stopped: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def health(self) -> dict[str, bool]:
        worker = bool(self._tasks) and not any(t.done() for t in self._tasks)
        return {
            "redis": await self.store.ping(),
            "scheduler": self.timers.running,
            "worker": worker,
        }

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, reconcile: bool = True
    ) -> RunningServer:
        deps = HttpDeps(
            inbox=self.inbox,
            config=self.config,
            webhook_secret=_secret(self.settings.semaphore_webhook_secret),
            metrics=self.metrics,
            health=self.health,
            alertmanager_token=_secret(self.settings.alertmanager_token),
            metrics_token=_secret(self.settings.metrics_token),
        )
        app = build_app(deps)
        if self.slack is not None:
            mount(app, self.slack.bolt, _secret(self.settings.slack_signing_secret) or "")
        self.server = await start_server(app, host, port)
        await self.timers.start(reconcile=reconcile)
        self._tasks.append(asyncio.create_task(self.worker.run(), name="inbox-worker"))
        if self.slack is not None:
            self._tasks.append(asyncio.create_task(self.slack.worker.run(), name="slack-worker"))
            boards = self.slack.notifier.boards.run()
            self._tasks.append(asyncio.create_task(boards, name="slack-alarm-boards"))
        await bounded(self.report_drift(), "the configuration drift report", within=5.0)
        log.info("deploybot serves on %s", self.server.url)
        return self.server

    async def report_drift(self) -> None:
        """Say, in the log and in the project's channel, which stages hold work that the
        configuration no longer names."""
        for orphan in await orphans(self.config, self.store):
            log.warning("configuration drift: %s", orphan.describe())
            if self.slack is not None and orphan.project_known:
                channel = self.config.project(orphan.project).channel
                await self.slack.notifier.post(channel, drift_message(orphan.describe()))

    async def stop(self) -> None:
        """Stop everything, in an order that lets running work end before the clients it uses
        close. Each part is bounded (bot.lifecycle): with Redis, Semaphore and Slack all
        unresponsive, a stop still ends within about 6 s."""
        if self._stopped:
            return
        self._stopped = True
        await self.timers.stop(within=1.5)  # first: a job has ended before the clients close
        self.worker.stop()
        if self.slack is not None:
            self.slack.worker.stop()
        await end_tasks(self._tasks, "inbox workers", within=1.5)
        self._tasks.clear()
        if self.server is not None:
            await bounded(self.server.stop(), "the HTTP server", within=1.5)
        if self.slack is not None:
            await self.slack.context.work.stop(within=1.0)
        await bounded(self.semaphore.client.aclose(), "the Semaphore client", within=0.5)
        if self.owns_store:
            await bounded(self.store.close(), "the store", within=0.5)


def build_runtime(
    settings: Settings,
    config: DeploybotConfig,
    *,
    store: Store | None = None,
    inbox: Inbox | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], datetime] = utcnow,
    consumer: str | None = None,
    slack_pace: float = 1.0,
) -> Runtime:
    owns_store = store is None or inbox is None
    if store is None or inbox is None:
        store, inbox = build_stores(settings)
    metrics = Metrics()
    budget = ApiBudget(store, config.semaphore_api_budget, clock, config.reconcile_interval)

    def observe_call(endpoint: str, result: str) -> None:
        metrics.semaphore_call(endpoint, result)
        budget.spent(endpoint, result)

    semaphore = Semaphore(_semaphore_client(settings, http, observe_call), config)
    stages = build_stage_service(config, store, clock=clock)
    effects = SemaphoreEffects(semaphore, stages)
    stages.effects = effects
    stages.notices = _log_notices
    stages.last_good = lambda project, stage: semaphore.last_good(stages.policy(project, stage))

    async def observe(project: str, stage: str, decision: Decision) -> None:
        metrics.observe_decision(project, stage, decision)
        if decision.start is not None:
            metrics.promotion_triggered(project, stage, decision.start.kind)

    stages.listeners.append(observe)
    orchestrator = Orchestrator(config, stages, semaphore, effects, metrics)
    timers = Timers(orchestrator, config, clock=clock, budget=budget)
    name = consumer or f"{socket.gethostname()}-{os.getpid()}"
    # Semaphore unreachable or busy is never a reason to give an item up (dead-letter it).
    worker = InboxWorker(inbox, orchestrator.process, name, metrics=metrics, retry_after_ms=5_000,
                         batch=stages.batch,
                         transient=(TransportError, ServerError, RateLimited))  # fmt: skip
    slack = build_slack(settings, config, orchestrator, inbox.sibling("slack"), clock=clock,
                        consumer=name, metrics=metrics, pace=slack_pace)  # fmt: skip
    if slack is not None:
        stages.notices = slack.outbox
        timers.announcer = Announcer(config, store, slack.notifier.post)
    parts = (settings, config, store, inbox, semaphore, stages, orchestrator, timers, worker)
    return Runtime(*parts, metrics, slack=slack, owns_store=owns_store)


async def _log_notices(notices: Sequence[Tell]) -> None:
    """Without Slack, notices go to the log (people's text is logged as data)."""
    for told in notices:
        notice = told.notice
        log.info("%s/%s %s: %s", notice.project, notice.stage, notice.kind, notice.text)


def _secret(value: object) -> str | None:
    get = getattr(value, "get_secret_value", None)
    return get() if callable(get) else None
