"""`redis-server` (AOF on, `appendfsync always`) killed with SIGKILL while a deployment runs
and started again on the same data: the state is intact, /healthz says 503 while Redis is
down and 200 after, and the deployment in flight completes, promoted once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from bot.core.model import DeploymentState
from tests.faults.support import RedisProcess, Watch, config_yaml, rig, sha, sim_events, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

A, B = sha(0xA1), sha(0xB1)
STAGES = ("beta", "prod")


async def test_redis_restarted_mid_scenario_keeps_state_and_work_resumes(tmp_path: Path) -> None:
    data = tmp_path / "redis"
    data.mkdir()
    redis = RedisProcess(data).start()
    try:
        async with rig(tmp_path, redis.url, config_yaml(reconcile="2s")) as r:
            bot = await r.bot().start()
            r.proxy.bot_url = bot.url
            await r.push(A)
            await until(lambda: r.watch.deployed("prod", A), 20, "A on prod")
            await r.script(pipeline_file="deploy-prod.yml", commit_sha=B, duration=3)
            await r.push(B)

            async def b_on_prod() -> bool:  # its pipeline running, 3 s to go
                current = (await r.watch.store.load("demo", "prod")).current
                pipelines = await sim_events(r.control, "pipeline")
                running = any(
                    e["commit_sha"] == B
                    and e["pipeline_file"].endswith("deploy-prod.yml")
                    and e["state"] == "running"
                    for e in pipelines
                )
                return current is not None and current.change.sha == B and running

            await until(b_on_prod, 20, "B deploying to prod")
            before = {s: await r.watch.store.load("demo", s) for s in STAGES}
            history = {s: await r.watch.store.history("demo", s) for s in STAGES}
            redis.kill()
            down = await bot.wait_health(503, timeout=10)
            assert down.json()["checks"]["redis"] is False
            await asyncio.sleep(3)  # B's prod pipeline ends while Redis is down: its webhook fails
            redis.start()
            await bot.wait_health(200, timeout=15)
            await r.watch.close()
            r.watch = Watch(redis.url)  # the test's own connection died with the server
            for stage in STAGES:
                # Intact: as it was, or moved on by the bot since (never lost or rolled back).
                after = await r.watch.store.load("demo", stage)
                assert after == before[stage] or after.version > before[stage].version
                kept = await r.watch.store.history("demo", stage)
                assert kept[len(kept) - len(history[stage]) :] == history[stage]
            await until(lambda: r.watch.deployed("prod", B), 20, "B on prod")
            await until(lambda: r.watch.settled(STAGES), 10, "both stages settled")
            expected = {(f"deploy-{s}.yml", c): 1 for s in STAGES for c in (A, B)}
            assert Counter(await r.promoted()) == expected
            for stage in STAGES:
                states = [d.state for d in await r.watch.store.history("demo", stage)]
                assert states == [DeploymentState.DONE, DeploymentState.DONE]
            assert any(status == 503 for _, status in r.proxy.webhooks), "a webhook was refused"
    finally:
        redis.kill()
