"""JSON answers, and the reasons given for a rejected body (never the body itself)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

MAX_REASONS = 5


def error(status: int, reason: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason}, status=status, headers=headers or None)


def status(value: str) -> web.Response:
    return web.json_response({"status": value})


def validation_reason(exc: ValidationError, what: str) -> str:
    """`not a WHAT: path: message; ...`, without echoing the input values."""
    problems = [_problem(e) for e in exc.errors(include_input=False, include_url=False)]
    more = len(problems) - MAX_REASONS
    text = "; ".join(problems[:MAX_REASONS]) + (f"; and {more} more" if more > 0 else "")
    return f"not {what}: {text}"


def _problem(detail: Any) -> str:
    if detail["type"] == "json_invalid":
        return "malformed JSON"
    path = ".".join(str(step) for step in detail["loc"])
    return f"{path}: {detail['msg']}" if path else str(detail["msg"])
