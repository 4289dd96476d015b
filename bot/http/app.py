"""The application factory and the middleware that keeps every answer a short JSON reason."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import RedisError

from bot.http import alerts, ops, semaphore
from bot.http.deps import DEPS_KEY, HttpDeps
from bot.http.responses import error

log = logging.getLogger(__name__)


def build_app(deps: HttpDeps) -> web.Application:
    app = web.Application(client_max_size=deps.max_body_bytes, middlewares=[json_errors])
    app[DEPS_KEY] = deps
    for area in (semaphore, alerts, ops):
        area.register(app, deps)
    return app


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """HTTP errors (404, 405, 413, ...) as `{"error": reason}`; never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return error(exc.status, _reason(request, exc), **allow)
    except (RedisError, OSError) as exc:
        log.error("%s %s: store unavailable (%s)", request.method, request.path, _name(exc))
        return error(503, "the event store is unavailable; try again")
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error(500, "internal error")


def _reason(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return f"request body larger than {request.app[DEPS_KEY].max_body_bytes} bytes"
    return exc.reason.lower() if exc.reason else "error"


def _name(exc: BaseException) -> str:
    return type(exc).__name__
