"""Webhook to promotion: from the POST of a passed CI pipeline's signed webhook to
`/semaphore/webhook` until the simulator received `POST /promotions` for it.

The end is the `at` timestamp (wall clock, microseconds) of the simulator's first event of the
trigger (`deployment` PENDING for a stage with a deployment target, as in the built-in world;
else `promotion`; Gofer schedules the pipeline a fraction of a second later), read in-process
from the simulator's event log (what `/_sim/events` serves);
the start is the wall clock just before the request is written. Each sample waits until the
deployment finished (the deploy pipeline's own webhook reached the bot), so the stage is free.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import aiohttp

from bench.stack import WEBHOOK_ROUTE, CiCapture, projects_config, signed, stack
from bench.stats import summary_ms

CONFIG = projects_config(1, 1)


async def measure(redis_url: str, samples: int) -> dict[str, Any]:
    latencies: list[float] = []
    async with stack(CONFIG, redis_url, default_duration=0.02) as h:
        assert h.bot_http is not None
        capture = CiCapture(h)
        url = f"{str(h.bot_http.base_url).rstrip('/')}{WEBHOOK_ROUTE}"
        async with aiohttp.ClientSession() as session:
            for i in range(samples + 2):  # the first two warm up
                pipeline = await capture.ci_passed(f"{i + 1:040x}")
                body = capture.body(pipeline)
                headers = signed(body)
                start = time.time()
                async with session.post(url, data=body, headers=headers) as answer:
                    assert answer.status == 200, await answer.text()
                at = await _promoted(h.sim.engine.events, pipeline.ppl_id)
                if i >= 2:
                    latencies.append(at - start)
                await _idle(h)
    return summary_ms(latencies)


async def _promoted(events: list[dict[str, Any]], ppl_id: str, timeout: float = 10) -> float:
    async with asyncio.timeout(timeout):
        while True:
            for event in events:  # the first trace of the trigger: Gofer schedules it later
                promoted = event["type"] in ("promotion", "deployment")
                if promoted and event["promotion_of"] == ppl_id:
                    return datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
            await asyncio.sleep(0.001)


async def _idle(h: Any, timeout: float = 10) -> None:
    """Until the first stage has nothing running (the deployment finished)."""
    async with asyncio.timeout(timeout):
        while (await h.store.load(h.project, "beta")).current is not None:
            await asyncio.sleep(0.005)
