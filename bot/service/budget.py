"""The organisation's Semaphore API budget (issue 19): calls per minute, shared by replicas.

Semaphore's API is the whole organisation's and rate-limited, so deploybot spends on polling
only what its webhooks and people's requests leave. Every replica counts the calls it sends
(`spent`, the Semaphore client's observer) and adds them to the minute's count in the store
(`flush`); a reconciliation pass may spend what is `left` of the minute's budget.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store.base import Store

#: How long a minute's count is kept (it is read during its minute only).
COUNT_TTL = timedelta(minutes=2)


class ApiBudget:
    def __init__(self, store: Store, per_minute: int, clock: Callable[[], datetime]) -> None:
        self.store, self.per_minute, self.clock = store, per_minute, clock
        self._unflushed = 0

    def spent(self, endpoint: str, result: str) -> None:
        """A call was sent (an observer of the Semaphore client: any endpoint, any result)."""
        self._unflushed += 1

    def _minute(self) -> str:
        return f"semaphore-calls:{int(self.clock().timestamp() // 60)}"

    async def flush(self) -> int:
        """Add the calls sent since the last flush to this minute's count; return the count."""
        add, self._unflushed = self._unflushed, 0
        try:
            return await self.store.count(self._minute(), add, COUNT_TTL)
        except BaseException:
            self._unflushed += add  # counted next time
            raise

    async def left(self) -> int:
        """What this minute's budget has left, after every call counted so far."""
        return max(0, self.per_minute - await self.flush())
