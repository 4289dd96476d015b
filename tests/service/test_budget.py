"""The Semaphore API budget (issue 19): every replica's calls count; a pass spends what is
left of the minutes its interval spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.service.budget import ApiBudget
from bot.store import MemoryStore

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


async def test_calls_of_every_replica_count_against_the_minute() -> None:
    store, now = MemoryStore(), [NOW]
    one, two = (ApiBudget(store, 100, lambda: now[0]) for _ in range(2))
    for _ in range(30):
        one.spent("GET /pipelines", "200")
    for _ in range(50):
        two.spent("POST /promotions", "200")
    await two.flush()
    assert await one.left() == 20  # 100 - 30 - 50
    now[0] = NOW + timedelta(minutes=1)
    assert await one.left() == 100  # a new minute


async def test_a_pass_every_two_minutes_spends_two_minutes_worth() -> None:
    store, now = MemoryStore(), [NOW]
    budget = ApiBudget(store, 100, lambda: now[0], span=timedelta(minutes=2))
    assert await budget.left() == 200
    for _ in range(150):
        budget.spent("GET /pipelines", "200")
    await budget.flush()
    now[0] = NOW + timedelta(minutes=1)
    assert await budget.left() == 50  # the minute before still counts
    now[0] = NOW + timedelta(minutes=2)
    assert await budget.left() == 200
