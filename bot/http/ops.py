"""`GET /healthz` and `GET /metrics` (which needs METRICS_TOKEN as a bearer token when set).

/healthz runs the composition root's named checks and the inbox's own, each bounded by
`check_timeout`: a check that raises or hangs counts as down, so a dead Redis gives a quick
503, never a hang or a 500. Its body counts the inbox's items (length, pending) and its dead
letters (`dead`): those are work for an operator (`deploybot inbox`), not an outage, so they
never make /healthz fail.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.http.auth import refusal
from bot.http.deps import DEPS_KEY, HttpDeps

log = logging.getLogger(__name__)


def register(app: web.Application, deps: HttpDeps) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


async def healthz(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    with deps.metrics.time_handler("/healthz"):
        named, inbox = await asyncio.gather(_named_checks(deps), _inbox_counts(deps))
        checks = {**named, "inbox": inbox is not None}
        ok = all(checks.values())
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        if inbox is not None:
            body["inbox"] = inbox
        return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    deps = request.app[DEPS_KEY]
    with deps.metrics.time_handler("/metrics"):
        token = deps.metrics_token
        refused = refusal(request, token, "METRICS_TOKEN") if token is not None else None
        if refused is not None:
            return refused
        counts = await _inbox_counts(deps)
        if counts is not None:
            deps.metrics.set_inbox_pending(counts["pending"])
            deps.metrics.set_inbox_dead(counts["dead"])
        payload, content_type = deps.metrics.render()
        return web.Response(body=payload, headers={"Content-Type": content_type})


async def _named_checks(deps: HttpDeps) -> dict[str, bool]:
    try:
        found = await asyncio.wait_for(deps.health(), deps.check_timeout)
    except TimeoutError:
        log.warning("health checks timed out after %ss", deps.check_timeout)
        return {"health": False}
    except Exception as exc:
        log.warning("health checks failed: %s", type(exc).__name__)
        return {"health": False}
    return {str(name): value is True for name, value in found.items()}


async def _inbox_counts(deps: HttpDeps) -> dict[str, int] | None:
    async def counts() -> dict[str, int]:
        length, pending, dead = await asyncio.gather(
            deps.inbox.length(), deps.inbox.pending(), deps.inbox.dead_count()
        )
        return {"length": length, "pending": pending, "dead": dead}

    try:
        return await asyncio.wait_for(counts(), deps.check_timeout)
    except Exception as exc:
        log.warning("inbox unavailable: %s", type(exc).__name__)
        return None
