"""`POST /alerts/alertmanager`: Prometheus Alertmanager's webhook (payload version 4).

Alertmanager signs nothing, and a forged alert could fail a deployment or lift a real alarm's
blocker: every request must carry ALERTMANAGER_TOKEN (bot.http.auth), checked before the body
is read. Without the token configured the route answers 503 and records nothing. The body is
then validated and recorded in the inbox, deduplicated by its SHA-256;
`bot.service.alerts.alarm_events` maps it to stages later.
"""

from __future__ import annotations

import hashlib
import logging

from aiohttp import web
from pydantic import ValidationError

from bot.http.auth import refusal
from bot.http.deps import DEPS_KEY, HttpDeps
from bot.http.responses import error, status, validation_reason
from bot.service.alerts import AlertmanagerPayload

ROUTE = "/alerts/alertmanager"
SOURCE = "alertmanager"

log = logging.getLogger(__name__)


def register(app: web.Application, deps: HttpDeps) -> None:
    app.router.add_post(ROUTE, alertmanager)


async def alertmanager(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    with deps.metrics.time_handler(ROUTE):
        if (refused := refusal(request, deps.alertmanager_token, "ALERTMANAGER_TOKEN")) is not None:
            return refused
        body = await request.read()
        try:
            AlertmanagerPayload.model_validate_json(body)
        except ValidationError as exc:
            reason = validation_reason(exc, "an Alertmanager v4 webhook payload")
            log.warning("alertmanager webhook refused with 400: %s", reason)
            return error(400, reason)
        deps.metrics.event_received(SOURCE)
        key = f"alerts:{hashlib.sha256(body).hexdigest()}"
        if await deps.inbox.put(SOURCE, [key], body.decode()):
            return status("recorded")
        deps.metrics.event_duplicate(SOURCE)
        return status("duplicate")
