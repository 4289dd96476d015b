"""`POST /semaphore/webhook`: Semaphore's pipeline-done notification, signature checked.

The raw body's HMAC-SHA256 (`X-Semaphore-Signature-256`, under SEMAPHORE_WEBHOOK_SECRET) is
checked before anything is parsed; without a secret configured every delivery is refused. A
valid delivery is recorded in the inbox, deduplicated by its webhook id and by its pipeline id
and result, before the answer; the inbox worker processes it later.
"""

from __future__ import annotations

import logging

from aiohttp import web
from pydantic import ValidationError

from bot.http.deps import DEPS_KEY, HttpDeps
from bot.http.responses import error, status, validation_reason
from semaphore_client import SIGNATURE_HEADER, PipelineDoneEvent, verify_webhook_signature

ROUTE = "/semaphore/webhook"
WEBHOOK_ID_HEADER = "X-Semaphore-Webhook-Id"
SOURCE = "semaphore"

log = logging.getLogger(__name__)


def register(app: web.Application, deps: HttpDeps) -> None:
    app.router.add_post(ROUTE, webhook)


async def webhook(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    with deps.metrics.time_handler(ROUTE):
        if not deps.webhook_secret:
            return error(503, "SEMAPHORE_WEBHOOK_SECRET is not configured: webhooks are refused")
        body = await request.read()
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return refuse(401, f"missing {SIGNATURE_HEADER} header")
        if not verify_webhook_signature(body, signature, deps.webhook_secret):
            return refuse(401, f"{SIGNATURE_HEADER} does not match the body")
        try:
            event = PipelineDoneEvent.model_validate_json(body)
        except ValidationError as exc:
            return refuse(400, validation_reason(exc, "a pipeline-done webhook payload"))
        if not event.pipeline.ppl_id:
            return refuse(400, "not a pipeline-done webhook payload: pipeline.id is empty")
        result = event.pipeline.result.value if event.pipeline.result else "none"
        keys = [f"pipeline:{event.pipeline.ppl_id}:{result}"]
        if delivery := request.headers.get(WEBHOOK_ID_HEADER, "").strip():
            keys.insert(0, f"webhook:{delivery}")
        deps.metrics.event_received(SOURCE)
        if await deps.inbox.put(SOURCE, keys, body.decode()):
            return status("recorded")
        deps.metrics.event_duplicate(SOURCE)
        return status("duplicate")


def refuse(status_code: int, reason: str) -> web.Response:
    log.warning("semaphore webhook refused with %s: %s", status_code, reason)
    return error(status_code, reason)
