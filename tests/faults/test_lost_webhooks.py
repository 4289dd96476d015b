"""Semaphore's webhooks lost entirely: a real `deploybot serve` with a 2 s
reconcile_interval finds every finished pipeline by polling and completes the pipeline."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.faults.support import config_yaml, rig, sha, sim_events, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

D = sha(0xD)


async def test_without_any_webhook_reconciliation_completes_the_scenario(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(reconcile="2s"), webhooks=False) as r:
        await r.bot().start()
        await r.push(D)
        await until(lambda: r.watch.deployed("prod", D), 30, "D on prod")
        await until(lambda: r.watch.settled(("beta", "prod")), 10, "both stages settled")
        assert Counter(await r.promoted()) == {("deploy-beta.yml", D): 1, ("deploy-prod.yml", D): 1}
        assert await sim_events(r.control, "webhook") == []
        assert r.proxy.webhooks == []
        assert "Traceback" not in r.output()
