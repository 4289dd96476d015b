"""Reconciliation at scale (issue 19): Semaphore API calls a minute with 1,000 projects of which
50 have a deployment running, and how long a lost webhook takes to be made up for.

Calls: the bot (in this process, on Redis and the Semaphore simulator: every project is the
simulator's one, so each list of pipelines is a real call) reconciles minute after minute of a
clock of its own for 30 minutes, with the default `reconcile_idle` (15 min) and budget (100
calls a minute, the webhooks' share being 0 here). Fifty projects have a stage deploying (its
pipeline unknown to the simulator: a describe that answers 404 still costs the call). Every
call the client sends is counted (`deploybot_semaphore_api_calls_total`).

Recovery, in real time with every webhook lost: `serve`'s own timers (`Timers`) with a
`reconcile_interval` of 2 s and a `reconcile_idle` of 20 s, scaled down from 60 s and 15 min
so the run takes seconds; the figures are reported as a share of each. A change pushed to an
idle project (its CI webhook lost) is timed until its deployment starts; its deploy pipeline
(done webhook lost) until the stage sees it done.

    python -m bench.reconcile [--projects N] [--active N]
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.env import flush, redis_server
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StageState
from bot.scenarios.harness import running
from bot.store import keys

MINUTE = timedelta(minutes=1)


def _config(projects: int, stages: int, interval: str, idle: str) -> str:
    lines = [
        "roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}",
        f"reconcile_interval: {interval}",
        f"reconcile_idle: {idle}",
        "projects:",
    ]
    for p in range(projects):
        name = "demo" if p == 0 else f"project-{p:04d}"
        lines += [f"  - name: {name}", "    semaphore_project: demo", "    channel: C0DEMO",
                  "    stages:"]  # fmt: skip
        names = ["beta", "prod", *(f"stage-{s}" for s in range(2, stages))]  # the simulator's
        lines += [f"      - {{name: {s}, promotion: {s}, bake: 0s}}" for s in names[:stages]]
    return "\n".join(lines) + "\n"


async def _seed_running(redis_url: str, names: list[str]) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url)
    at = datetime.now(UTC)
    try:
        async with client.pipeline(transaction=False) as pipe:
            for name in names:
                change = Change(sha="e" * 40, created_at=at)
                running_ = Deployment(id=f"{name}/prod/1", project=name, stage="prod",
                                      kind=DeploymentKind.ROLLFORWARD, change=change,
                                      state=DeploymentState.RUNNING, created_at=at,
                                      deploy_pipeline_id=f"gone-{name}")  # fmt: skip
                state = StageState(version=1, current=running_, epoch="bench")
                pipe.hset(keys.state(name, "prod"),
                          mapping={"version": 1, "doc": state.model_dump_json()})  # fmt: skip
            await pipe.execute()
    finally:
        await client.aclose()


def _calls(h: Any) -> float:
    total = 0.0
    for family in h.runtime.metrics.registry.collect():
        if family.name == "deploybot_semaphore_api_calls":
            total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return total


async def api_calls(
    redis_url: str, projects: int, active: int, minutes: int = 30, every: int = 1
) -> dict[str, Any]:
    """`every`: the reconcile_interval in minutes (a pass every that many minutes)."""
    await flush(redis_url)
    # The passes below are made every `every` minutes, as reconcile_interval says.
    config = _config(projects, 5, f"{every}m", "15m")
    async with running(config, redis_url=redis_url, default_duration=0.1) as h:
        await h.runtime.timers.stop()  # the clock below drives reconciliation, not the timers
        names = [p.name for p in h.config.projects]
        await _seed_running(redis_url, names[1 : active + 1])
        orchestrator, budget = h.runtime.orchestrator, h.runtime.timers.budget
        budget.minutes, budget.ttl = every, (every + 1) * MINUTE  # as reconcile_interval says
        start = datetime.now(UTC)
        per_minute: list[float] = []
        asked: list[int] = []
        seconds: list[float] = []
        idle = set(names) - set(names[1 : active + 1])
        looked: dict[str, datetime] = {}  # an idle project's last look (or first sight)
        longest = timedelta(0)
        busy = set(names[1 : active + 1])
        busy_looked = dict.fromkeys(busy, start)  # an active project's last look
        busy_gap = timedelta(0)
        for minute in range(0, minutes, every):
            now = start + minute * MINUTE
            budget.clock = lambda now=now: now
            before = _calls(h)
            began = time.perf_counter()
            left = await budget.left()
            chosen = await orchestrator.reconcile_within(left, timedelta(minutes=15), now)
            await budget.flush()
            seconds.append(time.perf_counter() - began)
            per_minute += [(_calls(h) - before) / every] * every
            asked.append(len(chosen))
            if minute == 0:
                looked = {p: at for p, at in (await h.runtime.store.reconciled()).items()
                          if p in idle}  # fmt: skip
            for project in idle & set(chosen):
                longest = max(longest, now - looked[project])
                looked[project] = now
            for project in busy & set(chosen):
                busy_gap = max(busy_gap, now - busy_looked[project])
                busy_looked[project] = now
        # An idle project not asked about by the end has waited since its last look.
        longest = max([longest, *(now - at for at in looked.values())])
        busy_gap = max([busy_gap, *(now - at for at in busy_looked.values())])
    steady = per_minute[15:] or per_minute
    asked = [n for n in asked for _ in range(every)]
    return {
        "projects": projects,
        "active": active,
        "interval_min": every,
        "minutes": minutes,
        "calls_per_minute": per_minute,
        "projects_asked_per_minute": asked,
        "calls_per_minute_max": max(per_minute),
        "calls_per_minute_steady_mean": round(sum(steady) / len(steady), 1),
        "pass_seconds_max": round(max(seconds), 2),
        "idle_longest_wait_min": round(longest / MINUTE, 1),
        "active_longest_gap_min": round(busy_gap / MINUTE, 1),
    }


async def recovery(redis_url: str, interval_s: float = 2.0, idle_s: float = 20.0) -> dict[str, Any]:
    await flush(redis_url)
    config = _config(1, 2, f"{interval_s:g}s", f"{idle_s:g}s")
    async with running(config, redis_url=redis_url, default_duration=0.3) as h:
        (await h.control.put("/_sim/webhook", json={"url": None})).raise_for_status()
        await asyncio.sleep(idle_s)  # first seen at start, somewhere in the ceiling: settle
        pushed = time.perf_counter()
        await h.push("f" * 40, "lost webhooks")
        store = h.runtime.store

        async def started() -> bool:
            return bool(await store.history("demo", "beta")) or (
                (await store.load("demo", "beta")).current is not None
            )

        await h.until(started, timeout=idle_s * 3)
        ci_s = time.perf_counter() - pushed

        async def done() -> bool:
            return bool(await store.history("demo", "beta"))

        running_since = time.perf_counter()
        await h.until(done, timeout=interval_s * 20)
        deploy_s = time.perf_counter() - running_since
    return {
        "interval_s": interval_s,
        "idle_s": idle_s,
        "idle_ci_recovered_s": round(ci_s, 2),
        "idle_ci_share_of_ceiling": round(ci_s / idle_s, 2),
        "active_done_recovered_s": round(deploy_s, 2),
        "active_done_share_of_interval": round(deploy_s / interval_s, 2),
    }


async def measure(redis_url: str, projects: int = 1000, active: int = 50) -> dict[str, Any]:
    """The defaults (a pass a minute), then a pass every 2 minutes (what 1,000 projects with
    50 deploying need to keep idle ones within their ceiling), then the recovery times."""
    every_2 = await api_calls(redis_url, projects, active, every=2)
    return {
        **await api_calls(redis_url, projects, active),
        "every_2_min": {k: v for k, v in every_2.items() if not isinstance(v, list)},
        **await recovery(redis_url),
    }


async def _main(projects: int, active: int, every: int) -> None:
    import logging

    logging.getLogger("bot.orchestrator").setLevel(logging.ERROR)  # the 404s are the point
    async with redis_server() as url:
        if every:
            print(json.dumps(await api_calls(url, projects, active, every=every), indent=2))
        else:
            print(json.dumps(await measure(url, projects, active), indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--every", type=int, default=0, help="only the calls, a pass every N min")
    args = parser.parse_args()
    asyncio.run(_main(args.projects, args.active, args.every))
