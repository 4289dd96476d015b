"""Seeded random runs of the whole system (issue 12): the simulator over HTTP, a real
redis-server and the real bot, with pushes (main, tags, pull requests, a nightly pipeline),
failing and never-scheduled deployments, alarms, blocks, emergencies, manual rollbacks, a
deactivated target, webhooks dropped, duplicated and reordered, and the bot killed and started
again. After each run settles, tests/system/invariants.py checks Semaphore's events. Runs play
on two pipelines (tests/system/world.py): beta/gamma/prod, and beta then two waves of 2 and 3
targets (issue 18).

CI runs SEEDS seeds on the first and WAVE_SEEDS on the second; `DEPLOYBOT_SYSTEM_SEEDS=N` runs N (from `DEPLOYBOT_SYSTEM_FIRST_SEED`,
default 0), and `DEPLOYBOT_SYSTEM_SEED=S` runs only seed S. A failure prints its seed, the
plan, what each step did and Semaphore's events.
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis.asyncio as aioredis

from bot.scenarios.harness import running
from tests.system.invariants import check, timeline
from tests.system.runs import Run, plan
from tests.system.world import GOFER, PLAIN, WAVES, Topology

SEEDS = 30
WAVE_SEEDS = 12
#: The longest a run may take before it counts as hung (pytest-timeout, 120 s, is later).
RUN_LIMIT = 90
#: Runs played at once (each with its own simulator, bot and Redis database).
BATCH = 3


def seeds(count: int) -> list[int]:
    if one := os.environ.get("DEPLOYBOT_SYSTEM_SEED"):
        return [int(one)]
    first = int(os.environ.get("DEPLOYBOT_SYSTEM_FIRST_SEED", "0"))
    return list(range(first, first + int(os.environ.get("DEPLOYBOT_SYSTEM_SEEDS", count))))


def batches() -> list[tuple[Topology, tuple[int, ...]]]:
    found = []
    for topology, count in ((PLAIN, SEEDS), (WAVES, WAVE_SEEDS)):
        every = seeds(count)
        found += [(topology, tuple(every[i : i + BATCH])) for i in range(0, len(every), BATCH)]
    return found


@pytest.mark.parametrize(
    ("topology", "batch"),
    batches(),
    ids=[f"{t.name}-seeds-" + "-".join(map(str, b)) for t, b in batches()],
)
async def test_random_runs_keep_every_invariant(
    topology: Topology, batch: tuple[int, ...], redis_server: str
) -> None:
    parts = urlsplit(redis_server)
    urls = [urlunsplit(parts._replace(path=f"/{n + 1}")) for n in range(len(batch))]
    reports = await asyncio.gather(
        *(one_run(seed, url, topology) for seed, url in zip(batch, urls, strict=True))
    )
    failed = [report for report in reports if report]
    if failed:
        pytest.fail("\n\n".join(failed), pytrace=False)


async def one_run(seed: int, redis_url: str, topology: Topology) -> str:
    """Play seed `seed` on `topology`; the report of what it broke, or "" when it broke
    nothing."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()
    steps = plan(seed, topology)
    async with running(topology.config, world=topology.world(), redis_url=redis_url, gofer=GOFER,
                       default_duration=0.3) as harness:  # fmt: skip
        run = Run(seed, harness, topology)
        try:
            async with asyncio.timeout(RUN_LIMIT):
                await run.play(steps)
                final = await run.settle()
            events = await harness.sim_events()
            problems = run.problems + check(
                events,
                final_sha=final,
                emergency_pipelines=await run.emergencies(),
                label=run.labels,
                topology=topology,
            )
        except (TimeoutError, AssertionError) as exc:
            where = f" (hung in: {run.doing})" if run.doing else ""
            problems = [*run.problems, f"the run did not settle: {exc!r}{where}"]
            events = await harness.sim_events()
    if not problems:
        return ""
    report = [
        f"seed {seed} on the {topology.name} pipeline broke {len(problems)} invariant(s); rerun "
        f"it with DEPLOYBOT_SYSTEM_SEED={seed} (-k {topology.name})",
        *problems,
        "plan:",
        *(f"  {step}" for step in steps),
        "what happened:",
        *(f"  {line}" for line in run.timeline),
        "Semaphore's events:",
        *(f"  {line}" for line in timeline(events, run.labels)),
    ]
    return "\n".join(report)
