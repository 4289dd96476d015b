"""Pacing Slack's Web API calls by Slack's published limits, per method (issue 15 item 14).

    chat.postMessage   about one a second per channel, short bursts allowed
    chat.update        Tier 3: 50+ a minute per workspace, bursts allowed

Each (method, scope) has a token bucket: `burst` calls at once, then one per `1 / rate`
seconds. When Slack answers 429 anyway, `hold` keeps every call of that method (in that scope,
or all of them when the scope is unknown) waiting until its `Retry-After` has passed; the web
client's rate-limit retry handler reports it (`PacedRateLimitRetryHandler`) and retries.

`Pacer(scale)`: every interval multiplied by `scale` (0 for tests: nothing waits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState


@dataclass(frozen=True)
class Limit:
    """`rate` calls a second sustained, `burst` at once; `per_channel`: counted per channel
    (else per workspace)."""

    rate: float
    burst: int
    per_channel: bool


#: Slack's published limits for the methods deploybot calls in a stream.
LIMITS: dict[str, Limit] = {
    "chat.postMessage": Limit(rate=1.0, burst=3, per_channel=True),
    "chat.update": Limit(rate=50 / 60, burst=5, per_channel=False),
}
#: For a method not listed: treated as Tier 3.
DEFAULT = Limit(rate=50 / 60, burst=5, per_channel=False)


class _Bucket:
    def __init__(self, limit: Limit, scale: float) -> None:
        self.interval = scale / limit.rate
        self.capacity = float(limit.burst)
        self.tokens = self.capacity
        self.at = time.monotonic()
        self.held_until = 0.0
        self.lock = asyncio.Lock()

    def delay(self, now: float) -> float:
        """Seconds until a call may go; takes its token when it may go now."""
        if self.interval > 0:
            self.tokens = min(self.capacity, self.tokens + (now - self.at) / self.interval)
        else:
            self.tokens = self.capacity
        self.at = now
        if now < self.held_until:
            return self.held_until - now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) * self.interval


class Pacer:
    def __init__(self, scale: float = 1.0, limits: dict[str, Limit] | None = None) -> None:
        self.limits = LIMITS if limits is None else limits
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.scale = scale

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value: float) -> None:
        """Every interval multiplied by `value` from now on (buckets start full again)."""
        self._scale = value
        self._buckets.clear()

    def _bucket(self, method: str, channel: str) -> _Bucket:
        limit = self.limits.get(method, DEFAULT)
        key = (method, channel if limit.per_channel else "")
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit, self.scale)
        return bucket

    async def wait(self, method: str, channel: str) -> None:
        """Until a call of `method` in `channel` is within Slack's limits (callers queue in
        arrival order per bucket)."""
        bucket = self._bucket(method, channel)
        async with bucket.lock:
            while (delay := bucket.delay(time.monotonic())) > 0:
                await asyncio.sleep(delay)

    def hold(self, method: str, seconds: float, channel: str | None = None) -> None:
        """Slack said 429 with `Retry-After: seconds`: no call of `method` (in `channel`, or in
        any channel when None) goes before then."""
        until = time.monotonic() + seconds
        limit = self.limits.get(method, DEFAULT)
        if channel is not None or not limit.per_channel:
            buckets = [self._bucket(method, channel or "")]
        else:
            buckets = [b for (m, _), b in self._buckets.items() if m == method]
        for bucket in buckets:
            bucket.held_until = max(bucket.held_until, until)
            bucket.tokens = 0.0


class PacedRateLimitRetryHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (waits `Retry-After`, then retries), telling `on_limited` first
    so that the other calls of the method wait too."""

    def __init__(
        self, on_limited: Callable[[str, float, str | None], Any], max_retry_count: int = 5
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.on_limited = on_limited

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is not None:
            method = request.url.rstrip("/").rsplit("/", 1)[-1]
            self.on_limited(method, retry_after(response.headers), _channel(request))
        await super().prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


def retry_after(headers: dict[str, Any]) -> float:
    """Seconds in a `Retry-After` header (1 when absent or unreadable)."""
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(raw))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


def _channel(request: HttpRequest) -> str | None:
    """The channel of a form-encoded call; slack_sdk does not show a JSON body (chat.*) to
    retry handlers, so their 429s hold the method in every channel (the cautious reading)."""
    for params in (request.body_params, request.data):
        if isinstance(params, dict) and params.get("channel"):
            return str(params["channel"])
    return None
