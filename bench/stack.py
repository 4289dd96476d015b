"""The system under test: `bot.scenarios.harness.running` (simulator, Slack stand-in and the bot
on loopback) on the benchmark's own Redis, flushed first; plus signed Semaphore webhooks.

CI pipelines that finish in the simulator are captured instead of being delivered, so a
benchmark can POST their webhook itself and time it (`CiCapture`); every other pipeline's
webhook (deploy pipelines) still goes to the bot as the simulator sends it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.env import flush
from bot.scenarios.harness import SECRET, Harness, running
from semaphore_client.signature import SIGNATURE_HEADER, sign_webhook
from semaphore_client.simulator.records import SimPipeline
from semaphore_client.simulator.webhooks import webhook_payload

WEBHOOK_ROUTE = "/semaphore/webhook"


def projects_config(projects: int = 1, stages: int = 1, *, roles: bool = True) -> str:
    """YAML: `projects` projects (the first is `demo`, the simulator's), `stages` stages each
    (`beta` first: the simulator's promotion), reconciliation out of the way."""
    lines = []
    if roles:
        lines.append("roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}")
    lines += ["reconcile_interval: 1h", "projects:"]
    for p in range(projects):
        name = "demo" if p == 0 else f"project-{p:04d}"
        lines += [f"  - name: {name}", "    channel: C0DEMO", "    stages:"]
        for s in range(stages):
            stage = "beta" if s == 0 else f"stage-{s}"
            lines += [f"      - name: {stage}", f"        promotion: {stage}"]
    return "\n".join(lines) + "\n"


@asynccontextmanager
async def stack(
    config: str, redis_url: str, *, flushed: bool = True, **kw: Any
) -> AsyncIterator[Harness]:
    """The harness with Slack on, over a flushed Redis (stats reset; `flushed=False` keeps what
    it holds); quiet logs."""
    if flushed:
        await flush(redis_url)
    # Reconciliation at start asks the simulator about projects it does not have (404s).
    quiet = {"deploybot": logging.WARNING, "aiohttp.access": logging.WARNING,
             "bot.orchestrator": logging.ERROR}  # fmt: skip
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    try:
        async with running(config, redis_url=redis_url, slack=True, **kw) as h:
            yield h
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def signed(body: bytes, delivery: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Semaphore-Webhook",
        "X-Semaphore-Webhook-Id": delivery or str(uuid.uuid4()),
        SIGNATURE_HEADER: sign_webhook(body, SECRET),
    }


class CiCapture:
    """Takes over the simulator's webhooks: CI pipelines are queued here, others delivered."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.done: asyncio.Queue[SimPipeline] = asyncio.Queue()
        listeners = h.sim.engine.done_listeners
        self._deliver = h.sim.webhooks.pipeline_done
        listeners[:] = [f for f in listeners if f != self._deliver] + [self._on_done]

    def _on_done(self, pipeline: SimPipeline) -> None:
        if pipeline.promotion_of:
            self._deliver(pipeline)
        else:
            self.done.put_nowait(pipeline)

    def body(self, pipeline: SimPipeline) -> bytes:
        return json.dumps(webhook_payload(pipeline, self.h.sim.world)).encode()

    async def ci_passed(self, sha: str) -> SimPipeline:
        """Push `sha` and wait for its CI pipeline to pass (its webhook is not sent)."""
        await self.h.push(sha)
        return await asyncio.wait_for(self.done.get(), 10)


class Payloads:
    """Made-up passed CI webhooks from one real payload: new pipeline, workflow and commit ids
    each time, for the project named (none of them known to the simulator)."""

    def __init__(self, template: bytes) -> None:
        self.template = json.loads(template)
        self.n = 0

    def next(self, project: str) -> bytes:
        self.n += 1
        doc = copy.deepcopy(self.template)
        ppl, wf = str(uuid.uuid4()), str(uuid.uuid4())
        doc["project"]["name"] = project
        doc["pipeline"]["id"] = ppl
        doc["workflow"]["id"] = wf
        doc["workflow"]["initial_pipeline_id"] = ppl
        doc["revision"]["commit_sha"] = f"{self.n:040x}"
        doc["revision"]["commit_message"] = f"bench change {self.n}"
        return json.dumps(doc).encode()


async def template(h: Harness) -> bytes:
    """One real passed-CI payload from the simulator (its webhook is not delivered)."""
    capture = CiCapture(h)
    try:
        return capture.body(await capture.ci_passed("f" * 40))
    finally:
        h.sim.engine.done_listeners[:] = [capture._deliver]
