"""When and how long to wait before trying a request again."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


def is_retryable_status(status: int) -> bool:
    """429 (rate limited) and every 5xx are worth another try."""
    return status == 429 or status >= 500


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    ``attempts`` counts every try, the first included. The delay before retry ``n`` (0-based)
    is drawn from ``[½, 1] × min(max_delay, base_delay × 2ⁿ)``, and is at least a server's
    ``Retry-After`` (capped at ``max_delay``). Tests pass tiny delays or their own ``sleep``.
    """

    attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        ceiling = min(self.max_delay, self.base_delay * 2.0**retry)
        wait = ceiling * (0.5 + self.jitter() / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait

    @classmethod
    def never(cls) -> RetryPolicy:
        """Try once, never again."""
        return cls(attempts=1)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds; ``None`` otherwise."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
