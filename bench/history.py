"""Delivery metrics at scale (issue 17): `/deploy stats` of every project of 1,000 projects x
5 stages with 90 days of history at 50 deployments a day to each stage, and the Redis memory
that history takes.

The history is written as deploybot keeps it (`bot.store.base.delivery_member`, checked against
a real deployment's record), straight into a flushed redis-server: each stage gets 4,500
delivery records (about 1 in 25 a failure followed by a rollback, 1 in 10 superseded), each
project 4,500 changes (sorted set and details). Memory is `used_memory` before and after each
part. The time is `/deploy stats PROJECT` past its ack: `stage_delivery` (one stage's records
and the project's change times, over 30 days against the 30 before) and the message it renders,
for every project, one after another. Then `deploybot serve`, in a process of its own, is given
this history with all the projects configured, used as people would, and its memory (RSS)
measured (`served_memory`).

    python -m bench.history [--projects N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.env import flush, redis_server, rss_bytes
from bench.processes import bot_serve, check
from bench.scale import deployment, seed
from bench.stack import projects_config, stack
from bench.stats import summary_ms
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState
from bot.scenarios.slack_driver import SlackDriver
from bot.service.delivery import stage_delivery
from bot.slack.render.delivery import stats_message
from bot.standins.slack import SlackStandIn
from bot.store import RedisStore, keys
from bot.store.base import HISTORY_LIMIT, change_member, delivery_member

DAYS, PER_DAY, STAGES = 90, 50, 5
MINUTE = 60.0


def _record(kind: str, state: str, sha: str, made: float, asked: float, ended: float) -> str:
    """A delivery record exactly as `delivery_member` writes it (checked in `_check_format`)."""
    return json.dumps([kind, state, sha, made, asked, ended, "deploybot"], separators=(",", ":"))


def _check_format() -> None:
    at = datetime(2026, 12, 1, 9, 30, 15, 250000, tzinfo=UTC)
    change = Change(sha="f" * 40, created_at=at)
    done = Deployment(id="d", project="p", stage="s", kind=DeploymentKind.ROLLFORWARD,
                      change=change, state=DeploymentState.DONE, created_at=at,
                      finished_at=at + timedelta(minutes=20))  # fmt: skip
    t = at.timestamp()
    assert delivery_member(done) == _record("rollforward", "done", "f" * 40, t, t, t + 1200)


def _stage_records(p: int, s: int, start: float) -> list[str]:
    """A stage's 90 days, oldest first: changes every 90 s of the working day (50 a day),
    reaching stage `s` 20 minutes per stage after CI."""
    records = []
    for day in range(DAYS):
        for i in range(PER_DAY):
            n = day * PER_DAY + i
            sha = f"{p:08x}{n:032x}"
            made = start + day * 86400 + 9 * 3600 + i * 90
            asked = made + s * 20 * MINUTE
            ended = asked + 15 * MINUTE
            if n % 10 == 3:
                records.append(_record("rollforward", "superseded", sha, made, asked, asked))
            elif n % 25 == 7:
                records.append(_record("rollforward", "failed", sha, made, asked, ended))
                back = f"{p:08x}{n - 1:032x}"
                records.append(_record("rollback", "succeeded", back, made - 90, ended,
                                       ended + MINUTE))  # fmt: skip
            else:
                records.append(_record("rollforward", "done", sha, made, asked, ended))
    return records


def _changes(p: int, start: float) -> tuple[dict[str, float], dict[str, str]]:
    scores, details = {}, {}
    for day in range(DAYS):
        for i in range(PER_DAY):
            n = day * PER_DAY + i
            sha = f"{p:08x}{n:032x}"
            made = start + day * 86400 + 9 * 3600 + i * 90
            scores[sha] = made
            change = Change(sha=sha, message=f"Change {n}: fix the checkout total", author="dev",
                            workflow_id=f"wf-{n}", ci_pipeline_id=f"ci-{n}",
                            created_at=datetime.fromtimestamp(made, UTC))  # fmt: skip
            details[sha] = change_member(change)
    return scores, details


def _project(p: int) -> str:
    """Named as `bench.stack.projects_config` names them, so `serve` can be given the history."""
    return "demo" if p == 0 else f"project-{p:04d}"


def _stage(s: int) -> str:
    return "beta" if s == 0 else f"stage-{s}"


async def _used(client: aioredis.Redis) -> int:
    return int((await client.info("memory"))["used_memory"])


async def measure(redis_url: str, projects: int = 1000) -> dict[str, Any]:
    _check_format()
    await flush(redis_url)
    now = datetime.now(UTC)
    start = (now - timedelta(days=DAYS)).timestamp()
    client = aioredis.Redis.from_url(redis_url)
    try:
        before = await _used(client)
        began = time.perf_counter()
        written = 0
        for p in range(projects):
            async with client.pipeline(transaction=False) as pipe:
                for s in range(STAGES):
                    records = _stage_records(p, s, start)
                    for chunk in range(0, len(records), 1000):  # newest first, as LPUSH keeps
                        pipe.lpush(keys.deliveries(_project(p), _stage(s)),
                                   *records[chunk : chunk + 1000])  # fmt: skip
                    written += len(records)
                await pipe.execute()
        with_records = await _used(client)
        for p in range(projects):
            scores, details = _changes(p, start)
            async with client.pipeline(transaction=False) as pipe:
                pipe.zadd(keys.changes(_project(p)), scores)
                pipe.hset(keys.change_details(_project(p)), mapping=details)
                await pipe.execute()
        with_changes = await _used(client)
        seeded_s = time.perf_counter() - began
    finally:
        await client.aclose()

    store = RedisStore.from_url(redis_url)
    took: list[float] = []
    last = _stage(STAGES - 1)
    shown: dict[str, Any] = {}
    try:
        for p in range(projects):
            began = time.perf_counter()
            current, previous = await stage_delivery(
                store, _project(p), last, timedelta(days=30), now
            )
            shown = stats_message(_project(p), last, 30, current, previous)
            took.append(time.perf_counter() - began)
        began = time.perf_counter()
        await stage_delivery(store, _project(0), last, timedelta(days=90), now)
        quarter_ms = (time.perf_counter() - began) * 1000
    finally:
        await store.close()
    records_mb = (with_records - before) / 2**20
    changes_mb = (with_changes - with_records) / 2**20
    return {
        "projects": projects,
        "stages": STAGES,
        "days": DAYS,
        "deployments_per_day_per_stage": PER_DAY,
        "records": written,
        "seeded_s": round(seeded_s, 1),
        "records_mb": round(records_mb, 1),
        "bytes_per_record": round((with_records - before) / max(written, 1), 1),
        "changes_mb": round(changes_mb, 1),
        "history_mb": round(records_mb + changes_mb, 1),
        "stats_all_s": round(sum(took), 2),
        "stats_one": summary_ms(took),
        "stats_90d_one_ms": round(quarter_ms, 1),
        "last_deployments_30d": current.deployments,
        "last_failure_rate_30d": current.failure_rate,
        "last_message_blocks": len(shown.get("blocks", [])),
        "served": await served_memory(redis_url, projects),
    }


async def served_memory(redis_url: str, projects: int, asked: int = 50) -> dict[str, Any]:
    """`deploybot serve` (a process of its own) over this history, with the `projects` x 5
    stages configured: its RSS once started, then after people used it (the App Home, status of
    everything, and for `asked` projects their status, `/deploy stats` over 30 and 90 days and
    a stage's history), and its peak (VmHWM)."""
    config = projects_config(projects, STAGES)
    names = [_project(p) for p in range(0, projects, max(1, projects // asked))]
    last = _stage(STAGES - 1)
    async with stack(config, redis_url, flushed=False, start_bot=False) as h:
        # Every stage's state (two good deployments each), and the asked projects' last stage
        # a full history (1,000 deployments): the bot reads a history only when asked, 20 at
        # a time, so the other stages' histories would change Redis's memory, not the bot's.
        await seed(redis_url, h.config)
        await _histories(redis_url, names, last)
        assert h.standin is not None and h.settings.slack_signing_secret is not None
        secret = h.settings.slack_signing_secret.get_secret_value()
        async with bot_serve(h.settings, redis_url, config) as bot:
            started = rss_bytes(bot.pid)
            texts = ["status"]
            for name in names:
                texts += [f"status {name}", f"stats {name} {last}", f"stats {name} {last} 90d",
                          f"history {name} {last}"]  # fmt: skip
            async with httpx.AsyncClient(base_url=bot.url, timeout=60) as http:
                driver = SlackDriver(http, h.standin, secret)
                answers = {(await driver.open_home("U0VIEWER")).status_code}
                await h.standin.wait_for("views.publish", timeout=60)
                for text in texts:
                    answers.add((await driver.command(text, "U0VIEWER")).status_code)
                async with asyncio.timeout(120):  # every command's reply reached Slack
                    while _replied(h.standin) < len(texts):
                        await asyncio.sleep(0.1)
            assert answers == {200}, answers
            used, peak = rss_bytes(bot.pid), rss_bytes(bot.pid, "VmHWM")
            check(bot)
    mb = 2**20
    return {"commands": len(texts), "rss_started_mb": round(started / mb, 1),
            "rss_used_mb": round(used / mb, 1), "rss_peak_mb": round(peak / mb, 1)}  # fmt: skip


async def _main(projects: int) -> None:
    async with redis_server() as url:
        print(json.dumps(await measure(url, projects), indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    asyncio.run(_main(parser.parse_args().projects))


async def _histories(redis_url: str, projects: list[str], stage: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    at = datetime.now(UTC) - timedelta(days=1)
    try:
        for project in projects:
            done = [
                deployment(project, stage, n, at).model_dump_json() for n in range(HISTORY_LIMIT)
            ]
            await client.lpush(keys.history(project, stage), *done)
    finally:
        await client.aclose()


def _replied(standin: SlackStandIn) -> int:
    return sum(1 for call in standin.calls if call.method.startswith("response:cmd"))
