"""Keeps bench/ from rotting: its modules import, and the smallest runs work end to end on a real
redis-server: webhook to promotion; `deploybot serve` and the bare Bolt app as subprocesses,
each answering signed commands; the throughput run against `deploybot serve`; and the Redis
work count over a handful of events. Timing is never asserted here (DESIGN: bench/ only).
Without redis-server these tests skip on a developer's machine and fail under CI=true."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest

from bench import (
    ack,
    bare_bolt,
    burst,
    history,
    processes,
    promotion,
    reconcile,
    redis_work,
    run,
    scale,
    stats,
    throughput,
    waves,
)
from bench.env import redis_server
from tests.conftest import no_redis

pytestmark = pytest.mark.redis


@pytest.fixture
async def bench_redis() -> AsyncIterator[str]:
    """The bench's own redis-server (it flushes and resets the stats of the one it is given)."""
    if shutil.which("redis-server") is None:
        no_redis("redis-server is not installed: run ./scripts/setup")
    async with redis_server() as url:
        yield url


def test_the_modules_import() -> None:
    assert callable(run.main) and ack.CONFIG and throughput.CONFIG and scale.seed
    assert callable(bare_bolt.main) and callable(processes.served) and redis_work.SLACK_TASK
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2.0


async def test_the_tiniest_webhook_to_promotion_run(bench_redis: str) -> None:
    figures = await promotion.measure(bench_redis, samples=2)
    assert figures["n"] == 2


async def test_the_bot_and_the_bare_bolt_app_in_their_own_processes_answer(
    bench_redis: str,
) -> None:
    rows = await ack.measure(bench_redis, {1: 1}, rounds=1, warm=0)
    assert [(r["app"], r["command"], r["pace"]) for r in rows] == list(ack.CELLS)
    for row in rows:
        assert row["statuses"] == {200: 1}, row
        assert row["replies_lost"] == 0, row
    assert all(r["reply_n"] == 1 for r in rows if r["app"] == "bot")
    figures = {f.name: f for f in run._ack_figures(rows)}
    assert figures["reply /deploy status c=1 p99"].value == rows[3]["reply_p99_ms"]
    assert figures["burst reply /deploy block c=1 p99"].value == rows[2]["reply_p99_ms"]


async def test_a_short_throughput_run_against_deploybot_serve_loses_nothing(
    bench_redis: str,
) -> None:
    result = await throughput.measure(bench_redis, duration=0.5, workers=2)
    assert result["recorded"] > 0
    assert result["lost"] == 0 and result["inbox_left"] == 0


async def test_the_waves_count_of_a_wave_of_two(bench_redis: str) -> None:
    plain = await waves.measure_plain(bench_redis)
    figures = await waves.measure(bench_redis, targets=2)
    # Counts, not timings: a target's event costs what a stage's does, and a bake end that
    # leaves the wave's gate shut one round trip more (the gate reads the wave).
    assert figures["pipeline done, target"] == 2
    assert figures["bake end, target, wave not done"] == 4
    assert plain["bake end, plain stage (known time prod hears)"] == 5


async def test_a_small_burst_shows_every_change(bench_redis: str) -> None:
    result = await burst.measure(bench_redis, pushes=6, spread=1.0)
    assert result["changes_not_shown"] == 0
    assert result["slack_calls"] > 0 and result["answered_429"] == 0


async def test_redis_work_over_a_handful_of_events(bench_redis: str) -> None:
    work = await redis_work.measure(bench_redis, events=5, workers=2)
    assert work["recorded"] == work["decided"] == 5
    assert work["left"] == {"inbox": 0, "slack": 0}
    assert work["decision_round_trips_per_event"] > 0
    assert work["notices_delivered"] > 0 and work["slack_round_trips_per_event"] > 0


async def test_the_history_bench_seeds_90_days_and_the_figures_add_up(bench_redis: str) -> None:
    """30 days of 50 changes a day reach the last stage: 1 in 10 superseded, 1 in 25 failed
    (and rolled back), so 1,290 went out and 60 of the 1,350 that ran failed."""
    d = await history.measure(bench_redis, projects=2)
    assert d["records"] == 2 * 5 * (90 * 50 + 90 * 2)  # 2 failures a day bring a rollback each
    assert d["last_deployments_30d"] == 1290
    assert d["last_failure_rate_30d"] == 60 / 1350
    assert d["records_mb"] > 0 and d["stats_one"]["n"] == 2
    # serve answered the App Home and every command (2 projects: status, 2 stats, history)
    served = d["served"]
    assert served["commands"] == 1 + 2 * 4
    assert 0 < served["rss_started_mb"] <= served["rss_peak_mb"]
    assert any(f.name.startswith("history: RSS") for f in run._history_figures(d))


async def test_reconciliation_asks_active_projects_every_minute_within_the_budget(
    bench_redis: str,
) -> None:
    """6 projects, 2 with a deployment running: each minute those 2 are asked about (a list
    and a describe each), the 4 idle ones only once their look is due; a lost CI webhook of an
    idle project is made up for within its ceiling, a lost done webhook within an interval."""
    calls = await reconcile.api_calls(bench_redis, projects=6, active=2, minutes=3)
    assert all(asked >= 2 for asked in calls["projects_asked_per_minute"])
    assert calls["calls_per_minute_max"] <= 100
    late = await reconcile.recovery(bench_redis, interval_s=1.0, idle_s=4.0)
    assert late["idle_ci_recovered_s"] <= 4.0 + 2.0
    assert late["active_done_recovered_s"] <= 1.0 + 2.0
