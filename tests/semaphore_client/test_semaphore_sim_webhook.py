"""Webhooks the simulator really sends, received by a small aiohttp server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest
from aiohttp import web

from semaphore_client import (
    SIGNATURE_HEADER,
    PipelineDoneEvent,
    PipelineResult,
    verify_webhook_signature,
)
from semaphore_client.simulator import Simulator

SECRET = "hook-secret"


@dataclass
class Receiver:
    url: str = ""
    deliveries: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.deliveries.append((await request.read(), dict(request.headers)))
        self.arrived.set()
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/semaphore/webhook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/semaphore/webhook"
    yield found
    await runner.cleanup()


async def test_signed_webhook_is_delivered_when_a_pipeline_is_done(receiver: Receiver) -> None:
    sim = Simulator(default_duration=0.05, webhook_url=receiver.url, webhook_secret=SECRET)
    async with sim, httpx.AsyncClient(base_url=sim.url) as control:
        pushed = (
            await control.post("/_sim/push", json={"project": "demo", "commit_sha": "c" * 40})
        ).json()
        await asyncio.wait_for(receiver.arrived.wait(), timeout=5)
        await sim.drain_webhooks()
        events = (await control.get("/_sim/events")).json()["events"]

    [(body, headers)] = receiver.deliveries
    signature = headers[SIGNATURE_HEADER]
    assert verify_webhook_signature(body, signature, SECRET)
    assert not verify_webhook_signature(body, signature, "wrong-secret")
    assert not verify_webhook_signature(body.replace(b"passed", b"failed"), signature, SECRET)
    assert headers["User-Agent"] == "Semaphore-Webhook"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Semaphore-Webhook-Id"]

    event = PipelineDoneEvent.from_body(body)
    assert event.version == "1.0.0"
    assert event.pipeline.ppl_id == pushed["pipeline_id"]
    assert event.pipeline.result is PipelineResult.PASSED
    assert event.workflow.id == pushed["workflow_id"]
    assert event.revision.commit_sha == "c" * 40
    assert event.revision.branch is not None and event.revision.branch.name == "main"
    assert event.project.name == "demo"
    assert [b.name for b in event.blocks] == ["Build", "Test"]
    delivered = [e for e in events if e["type"] == "webhook"]
    assert [(e["pipeline_id"], e["state"], e["http_status"]) for e in delivered] == [
        (pushed["pipeline_id"], "delivered", 204)
    ]


async def test_without_a_secret_the_webhook_is_unsigned(receiver: Receiver) -> None:
    async with (
        Simulator(default_duration=0.01) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
    ):
        configured = await control.put("/_sim/webhook", json={"url": receiver.url})
        assert configured.json() == {"url": receiver.url, "signed": False}
        await control.post("/_sim/push", json={"project": "demo"})
        await asyncio.wait_for(receiver.arrived.wait(), timeout=5)
    [(_body, headers)] = receiver.deliveries
    assert SIGNATURE_HEADER not in headers


async def test_an_unreachable_receiver_is_recorded_not_fatal() -> None:
    sim = Simulator(
        default_duration=0.01, webhook_url="http://127.0.0.1:9/nowhere", webhook_secret=SECRET
    )
    async with sim:
        sim.engine.start_workflow("demo")
        await sim.wait_for(lambda: any(e["type"] == "webhook" for e in sim.engine.events))
    [failed] = [e for e in sim.engine.events if e["type"] == "webhook"]
    assert failed["state"] == "failed" and failed["http_status"] is None
