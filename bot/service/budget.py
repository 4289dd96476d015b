"""The organisation's Semaphore API budget (issue 19): calls per minute, shared by replicas.

Semaphore's API is the whole organisation's and rate-limited, so deploybot spends on polling
only what its webhooks and people's requests leave. Every replica counts the calls it sends
(`spent`, the Semaphore client's observer) and adds them to the minute's count in the store
(`flush`). A reconciliation pass, every `span` (the reconcile interval), may spend what is
`left` of the budget of the minutes in its span: a pass every two minutes spends two minutes'
worth, so the calls a minute average out to the budget whatever the interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store.base import Store


class ApiBudget:
    def __init__(
        self,
        store: Store,
        per_minute: int,
        clock: Callable[[], datetime],
        span: timedelta = timedelta(minutes=1),
    ) -> None:
        self.store, self.per_minute, self.clock = store, per_minute, clock
        #: The minutes a pass's budget covers, and how long a minute's count is kept.
        self.minutes = max(1, math.ceil(span.total_seconds() / 60))
        self.ttl = timedelta(minutes=self.minutes + 1)
        self._unflushed = 0

    def spent(self, endpoint: str, result: str) -> None:
        """A call was sent (an observer of the Semaphore client: any endpoint, any result)."""
        self._unflushed += 1

    def _minute(self, back: int = 0) -> str:
        return f"semaphore-calls:{int(self.clock().timestamp() // 60) - back}"

    async def flush(self) -> int:
        """Add the calls sent since the last flush to this minute's count; return the count."""
        add, self._unflushed = self._unflushed, 0
        try:
            return await self.store.count(self._minute(), add, self.ttl)
        except BaseException:
            self._unflushed += add  # counted next time
            raise

    async def left(self) -> int:
        """What the budget of the pass's minutes (this one and those before it in its span)
        has left, after every call counted so far."""
        spent = await self.flush()
        for back in range(1, self.minutes):
            spent += await self.store.count(self._minute(back), 0, self.ttl)
        return max(0, self.per_minute * self.minutes - spent)
