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
        assert configured.json() == {
            "url": receiver.url,
            "signed": False,
            "timeout": 500,
            "retries": 0,
        }
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


@dataclass
class Slow:
    """A receiver that answers only after `delay` seconds."""

    delay: float
    ids: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.ids.append(request.headers["X-Semaphore-Webhook-Id"])
        await asyncio.sleep(self.delay)
        return web.Response(status=204)


async def _serve(handler: object) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/hook", handler)  # type: ignore[arg-type]
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"


def _webhooks(sim: Simulator) -> list[dict[str, object]]:
    return [e for e in sim.engine.events if e["type"] == "webhook"]


@pytest.mark.parametrize(("retries", "attempts"), [(0, 1), (1, 2)])
async def test_a_receiver_slower_than_500_ms_loses_the_delivery_unless_retries_are_set(
    retries: int, attempts: int
) -> None:
    """Semaphore's receive timeout is 500 ms by default and only a timeout is retried (the
    rule's `retries`, 0 by default), under the same webhook id, with a longer timeout."""
    slow = Slow(delay=3.0)
    runner, url = await _serve(slow.handle)
    try:
        async with (
            Simulator(default_duration=0.01) as sim,
            httpx.AsyncClient(base_url=sim.url) as control,
        ):
            hook = {"url": url, "retries": retries}
            (await control.put("/_sim/webhook", json=hook)).raise_for_status()
            sim.engine.start_workflow("demo")
            await sim.wait_for(lambda: bool(_webhooks(sim)), timeout=10)
            [delivery] = _webhooks(sim)
    finally:
        await runner.cleanup()
    assert delivery["state"] == "failed" and len(slow.ids) == attempts
    assert len(set(slow.ids)) == 1


async def test_chaos_drops_a_fraction_and_reorders_the_rest(receiver: Receiver) -> None:
    async with (
        Simulator(default_duration=0.01) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
    ):
        bad = await control.put("/_sim/webhook", json={"url": receiver.url, "chaos": {"drop": 2}})
        assert bad.status_code == 400 and "chaos.drop" in bad.json()["error"]
        chaos = {"drop": 0.25, "duplicate": 0.0, "reorder": True, "seed": 7}
        answer = await control.put("/_sim/webhook", json={"url": receiver.url, "chaos": chaos})
        assert answer.json()["chaos"] == chaos
        pushed = [sim.engine.start_workflow("demo", commit_sha=f"{n:040x}")[1] for n in range(16)]
        await sim.wait_for(lambda: len(_webhooks(sim)) == 16, timeout=10)
        await sim.drain_webhooks()
    outcomes = [e["state"] for e in _webhooks(sim)]
    dropped = outcomes.count("dropped")
    assert 0 < dropped < 16 and outcomes.count("delivered") == 16 - dropped
    arrived = [PipelineDoneEvent.from_body(body).pipeline.ppl_id for body, _ in receiver.deliveries]
    done = [p.ppl_id for p in sorted(pushed, key=lambda p: p.times["done"]) if p.ppl_id in arrived]
    assert sorted(arrived) == sorted(done) and arrived != done  # all that was sent, out of order


async def test_chaos_duplicates_a_fraction_under_the_same_webhook_id(receiver: Receiver) -> None:
    async with (
        Simulator(default_duration=0.01) as sim,
        httpx.AsyncClient(base_url=sim.url) as control,
    ):
        bad = {"url": receiver.url, "chaos": {"duplicate": -0.1}}
        refused = await control.put("/_sim/webhook", json=bad)
        assert refused.status_code == 400 and "chaos.duplicate" in refused.json()["error"]
        hook = {"url": receiver.url, "chaos": {"duplicate": 0.5, "seed": 3}}
        (await control.put("/_sim/webhook", json=hook)).raise_for_status()
        for n in range(12):
            sim.engine.start_workflow("demo", commit_sha=f"{n:040x}")
        await sim.wait_for(lambda: len(_webhooks(sim)) >= 12, timeout=10)
        await sim.drain_webhooks()
    outcomes = [e["state"] for e in _webhooks(sim)]
    twice = outcomes.count("duplicated")
    assert outcomes.count("delivered") == 12 and 0 < twice < 12
    ids = [headers["X-Semaphore-Webhook-Id"] for _, headers in receiver.deliveries]
    assert len(ids) == 12 + twice and len(set(ids)) == 12  # a copy keeps its delivery's id
