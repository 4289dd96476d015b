"""Play one scenario on loopback and keep what happened.

    run_scenario("alarm-during-bake", redis_url=...) -> ScenarioRun

The simulator and (unless `with_bot` is False) the bot start on free loopback ports, state in
the embedded store, or in the Redis at `redis_url`. The runner flushes nothing: that database
must be empty (a used one would mix another run's stages, queues and audit into this one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.scenarios.catalog import find
from bot.scenarios.harness import Harness, running
from bot.scenarios.play import Play
from bot.scenarios.record import ScenarioRun
from bot.service.delivery import figures, stage_delivery
from bot.service.stages import utcnow


def offset_clock(offset: timedelta) -> Callable[[], datetime]:
    """A clock that runs in real time, `offset` away from the wall clock."""

    def now() -> datetime:
        return datetime.now(UTC) + offset

    return now


async def run_scenario(
    name: str, *, with_bot: bool = True, redis_url: str | None = None
) -> ScenarioRun:
    """Play scenario `name`; raises UnknownScenario, NoVariant or ScenarioStuck."""
    variant = find(name).variant(with_bot)
    offset = timedelta(0)
    clock = None
    if variant.clock_start is not None:
        wall = datetime.now(UTC)
        offset = variant.clock_start(wall) - wall
        clock = offset_clock(offset)
    async with running(
        variant.config,
        world=variant.world(),
        redis_url=redis_url,
        clock=clock,
        start_bot=with_bot,
        gofer=variant.gofer,
        slack=variant.slack,
    ) as harness:
        started = datetime.now(UTC)
        play = Play(harness, clock=clock or utcnow)
        await variant.play(play)
        events = await harness.sim_events()
        audit = await harness.audit_log() if with_bot else []
        history = await harness.histories() if with_bot else {}
        stats = await _stats(harness) if with_bot else {}
    return ScenarioRun(
        scenario=name,
        with_bot=with_bot,
        commits=dict(play.commits),
        events=events,
        audit=audit,
        history=history,
        stats=stats,
        notes=list(play.notes),
        started_at=started,
        clock_offset=offset,
    )


async def _stats(harness: Harness) -> dict[str, Any]:
    """Each stage's delivery metrics over the last day (the scenario's whole life)."""
    now = datetime.now(UTC)
    stats = {}
    for stage in harness.config.project(harness.project).stage_names:
        current, _ = await stage_delivery(
            harness.store, harness.project, stage, timedelta(days=1), now
        )
        stats[stage] = figures(current)
    return stats
