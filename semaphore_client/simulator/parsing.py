"""Reading requests: JSON or form bodies, time filters, the URL that links point back to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from semaphore_client.simulator.records import SimError


async def read_params(request: web.Request, *, form: bool = True) -> dict[str, Any]:
    """A JSON object body, or (``form``) a form body as the API accepts; bad JSON is a 400."""
    if form and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return {key: str(value) for key, value in (await request.post()).items()}
    body = await read_json(request, default={})
    if not isinstance(body, dict):
        raise SimError(400, "Malformed request: the body must be a JSON object")
    return body


async def read_json(request: web.Request, default: Any = None) -> Any:
    """The JSON body (``default`` when empty); malformed JSON is a 400."""
    text = await request.text()
    if not text.strip():
        return default
    try:
        return json.loads(text)
    except ValueError as exc:
        raise SimError(400, f"Malformed request: {exc}") from None


def self_url(request: web.Request) -> str:
    """``http://`` + host + path, which is how the API builds its ``link`` URLs."""
    return f"http://{request.host}{request.path}"


def since_filter(moment: float, query: Mapping[str, str], prefix: str) -> bool:
    """``<prefix>_after`` / ``<prefix>_before`` in Unix seconds, compared strictly."""
    after, before = _seconds(query, f"{prefix}_after"), _seconds(query, f"{prefix}_before")
    if after is not None and not moment > after:
        return False
    return before is None or moment < before


def _seconds(query: Mapping[str, str], name: str) -> float | None:
    value = query.get(name)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise SimError(400, f"Invalid value of '{name}' param: {value!r}.") from None
