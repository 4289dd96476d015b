"""Shared-token authentication for the routes that Slack's and Semaphore's signatures do not
cover: Alertmanager's webhook and, optionally, /metrics.

Alertmanager's `http_config` sends either `Authorization: Bearer <token>` or HTTP basic auth;
both are accepted, the basic form with the token as its password (any user name). Tokens are
compared in constant time. A refusal names what was wrong, never the credentials or the body.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from aiohttp import web

from bot.http.responses import error

log = logging.getLogger(__name__)


def presented_token(request: web.Request) -> str | None:
    """The token in the request's Authorization header (bearer, or basic auth's password)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, colon, password = decoded.partition(":")
        return password if colon and password else None
    return None


def refusal(request: web.Request, token: str | None, setting: str) -> web.Response | None:
    """None when the request carries `token`; otherwise the answer to give: 503 when the token
    is not configured (the route refuses everything), 401 when it is missing or wrong."""
    if not token:
        log.warning("%s refused with 503: %s is not set", request.path, setting)
        return error(503, f"{setting} is not configured: requests to {request.path} are refused")
    presented = presented_token(request)
    if presented is None:
        reason = "missing credentials: send Authorization: Bearer <token> or basic auth"
    elif not hmac.compare_digest(presented.encode(), token.encode()):
        reason = f"the credentials do not match {setting}"
    else:
        return None
    log.warning("%s refused with 401: %s", request.path, reason)
    return error(401, reason, **{"WWW-Authenticate": 'Bearer realm="deploybot"'})
