"""Redis round trips of waves (issue 18), on a real redis-server: a change driven through
`beta -> a wave of N targets -> a wave of N targets` by the stage service, counting the round
trips of each kind of event (a count, not a timing: the machine's speed does not matter).

- *bake end, plain stage*: beta's bake ends and the change goes on (to the whole first wave);
- *bake end, target, wave not done*: a target's bake ends while a sibling still bakes: the
  gate reads the wave (one `load_many`) and stays shut;
- *bake end, last target*: the gate opens and the change goes to every target of the next
  wave (each a decision of its own);
- *pipeline done, target*: an event on one target that concerns no sibling (the baseline: the
  same as on a stage of one target);
- *failure, scope wave*: a target's deploy fails and every sibling that took the change fails
  it too and rolls back (each sibling a decision of its own).

    .venv/bin/python -m bench.waves [--targets 2 10 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from bench.env import redis_server
from bench.redis_work import DECISION, round_trips
from bot.bootstrap import build_stage_service
from bot.config import load_config_text
from bot.core import events as ev
from bot.core.model import Change
from bot.service.stages import StageService
from bot.store import RedisStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def config(targets: int) -> str:
    def wave(name: str) -> str:
        lines = [f"      - name: {name}", "        bake: 10m",
                 "        rollback: {policy: auto, scope: wave}", "        targets:"]  # fmt: skip
        lines += [f"          - {{name: t{i}, promotion: {name}-t{i}, hangs_off: ci}}"
                  for i in range(targets)]  # fmt: skip
        return "\n".join(lines)

    return "\n".join([
        "roles: {block: [U0BLOCK], approve: [U0APPROVE]}",
        "projects:",
        "  - name: shop",
        "    channel: C0SHOP",
        "    stages:",
        "      - name: beta",
        "        promotion: beta",
        "        bake: 10m",
        wave("w1"),
        wave("w2"),
    ]) + "\n"  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def change(n: int) -> Change:
    return Change(sha=f"{n:02x}" * 20, ci_pipeline_id=f"ci-{n}", created_at=NOW)


async def _deployed(svc: StageService, stage: str) -> None:
    """Its running deployment's pipeline starts and passes."""
    state = await svc.store.load("shop", stage)
    assert state.current is not None, f"nothing runs on {stage}"
    current = state.current.id
    started = ev.DeploymentStarted(
        id=f"s-{current}", deployment_id=current, pipeline_id=f"p-{current}"
    )
    await svc.handle("shop", stage, started)
    await svc.handle("shop", stage, ev.DeploymentFinished(id=f"d-{current}", deployment_id=current,
                                                          outcome="succeeded"))  # fmt: skip


async def _counted(trips: Counter[str], work: Any) -> int:
    before = sum(trips.values())
    await work
    return sum(trips.values()) - before


async def measure(url: str, targets: int) -> dict[str, Any]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    await client.flushdb()
    clock = Clock()
    svc = build_stage_service(load_config_text(config(targets)), RedisStore(client), clock=clock)
    w1 = [f"w1/t{i}" for i in range(targets)]
    w2 = [f"w2/t{i}" for i in range(targets)]
    figures: dict[str, Any] = {"targets": targets}
    try:
        with round_trips(slack_stream="") as trips:
            counted = trips.paths[DECISION]
            await svc.handle("shop", "beta", ev.ChangeReady(id="ci-1", change=change(1)))
            await _deployed(svc, "beta")
            clock.now += timedelta(minutes=10)
            figures["bake end, plain stage (sends to the wave)"] = await _counted(
                counted, svc.handle("shop", "beta", ev.Tick(id="t-beta-1"))
            )
            for stage in w1[:-1]:
                await _deployed(svc, stage)
            last = (await svc.store.load("shop", w1[-1])).current
            assert last is not None
            started = ev.DeploymentStarted(id="s-last", deployment_id=last.id, pipeline_id="p-last")
            await svc.handle("shop", w1[-1], started)
            done = ev.DeploymentFinished(id="d-last", deployment_id=last.id, outcome="succeeded")
            figures["pipeline done, target"] = await _counted(
                counted, svc.handle("shop", w1[-1], done)
            )
            clock.now += timedelta(minutes=10)
            shut = [
                await _counted(counted, svc.handle("shop", s, ev.Tick(id=f"t-{s}-1")))
                for s in w1[:-1]
            ]
            figures["bake end, target, wave not done"] = max(shut, default=0)
            figures["bake end, last target (sends to the next wave)"] = await _counted(
                counted, svc.handle("shop", w1[-1], ev.Tick(id=f"t-{w1[-1]}-1"))
            )
            for stage in w2:
                await _deployed(svc, stage)
            clock.now += timedelta(minutes=10)
            for stage in w2:
                await svc.handle("shop", stage, ev.Tick(id=f"t-{stage}-2"))
            # Change 2 reaches wave 1 and fails on its first target (scope: wave).
            await svc.handle("shop", "beta", ev.ChangeReady(id="ci-2", change=change(2)))
            await _deployed(svc, "beta")
            clock.now += timedelta(minutes=10)
            await svc.handle("shop", "beta", ev.Tick(id="t-beta-2"))
            for stage in w1[1:]:
                await _deployed(svc, stage)
            state = await svc.store.load("shop", w1[0])
            assert state.current is not None
            failed = ev.DeploymentFinished(
                id="f-2", deployment_id=state.current.id, outcome="failed"
            )
            figures["failure, scope wave (every sibling rolls back)"] = await _counted(
                counted, svc.handle("shop", w1[0], failed)
            )
            # A third change, on targets this service knows already (the steady state).
            await svc.handle("shop", "beta", ev.ChangeReady(id="ci-3", change=change(3)))
            await _deployed(svc, "beta")
            clock.now += timedelta(minutes=10)
            for stage in w1:  # the rollbacks of change 2 are done first
                if (await svc.store.load("shop", stage)).current is not None:
                    await _deployed(svc, stage)
            figures["bake end, plain stage, known targets"] = await _counted(
                counted, svc.handle("shop", "beta", ev.Tick(id="t-beta-3"))
            )
    finally:
        await client.aclose()
    return figures


async def measure_plain(url: str) -> dict[str, Any]:
    """The same bake end on a pipeline without waves: beta's, sending the change to prod."""
    client = aioredis.Redis.from_url(url, decode_responses=True)
    await client.flushdb()
    clock = Clock()
    text = "\n".join(config(1).splitlines()[:8]) + "\n      - name: prod\n        promotion: prod\n"
    svc = build_stage_service(load_config_text(text), RedisStore(client), clock=clock)
    figures: dict[str, Any] = {"targets": "none (beta -> prod)"}
    try:
        with round_trips(slack_stream="") as trips:
            counted = trips.paths[DECISION]
            for n, stamp in ((1, "first"), (3, "known")):
                await svc.handle("shop", "beta", ev.ChangeReady(id=f"ci-{n}", change=change(n)))
                await _deployed(svc, "beta")
                clock.now += timedelta(minutes=10)
                figures[f"bake end, plain stage ({stamp} time prod hears)"] = await _counted(
                    counted, svc.handle("shop", "beta", ev.Tick(id=f"t-beta-{n}"))
                )
                if n == 1:
                    await _deployed(svc, "prod")
                    clock.now += timedelta(minutes=10)
                    await svc.handle("shop", "prod", ev.Tick(id="t-prod-1"))
    finally:
        await client.aclose()
    return figures


async def main(targets: list[int]) -> list[dict[str, Any]]:
    async with redis_server() as url:
        return [await measure_plain(url), *[await measure(url, n) for n in targets]]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[2, 10, 50])
    print(json.dumps(asyncio.run(main(parser.parse_args().targets)), indent=2))
