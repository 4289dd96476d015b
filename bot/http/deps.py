"""What the HTTP handlers need, passed in by the composition root."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from bot.config.models import DeploybotConfig
from bot.metrics import Metrics
from bot.store.inbox import Inbox

#: Named checks, e.g. {"redis": True, "scheduler": True}.
HealthCheck = Callable[[], Awaitable[dict[str, bool]]]

MiB = 1024 * 1024


@dataclass(frozen=True)
class HttpDeps:
    inbox: Inbox
    config: DeploybotConfig
    #: SEMAPHORE_WEBHOOK_SECRET; without it Semaphore webhooks are refused (503).
    webhook_secret: str | None
    metrics: Metrics
    health: HealthCheck
    #: ALERTMANAGER_TOKEN; without it Alertmanager's webhook is refused (503).
    alertmanager_token: str | None = None
    #: METRICS_TOKEN; when set, /metrics needs it as a bearer token.
    metrics_token: str | None = None
    #: Larger request bodies are answered 413 (aiohttp's client_max_size).
    max_body_bytes: int = MiB
    #: How long /healthz and /metrics wait for a check or the inbox before counting it as down.
    check_timeout: float = 2.0


DEPS_KEY = web.AppKey("deploybot_deps", HttpDeps)
