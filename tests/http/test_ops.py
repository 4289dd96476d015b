"""GET /healthz and GET /metrics, and the answers for routes that do not exist."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bot.http import HttpDeps
from bot.store.inbox import RedisInbox

Serve = Callable[..., Awaitable[httpx.AsyncClient]]


async def test_healthy(client: httpx.AsyncClient, deps: HttpDeps) -> None:
    await deps.inbox.put("semaphore", ["k"], "{}")
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {"redis": True, "scheduler": True, "inbox": True},
        "inbox": {"length": 1, "pending": 0, "dead": 0},
    }


async def test_dead_letters_are_counted_in_healthz_which_stays_ok(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    """A dead letter is work for an operator, not an outage: counted, and still 200."""
    await deps.inbox.put("alertmanager", ["poison"], "{}")
    await deps.inbox.put("alertmanager", ["fine"], "{}")
    [poison, _] = await deps.inbox.take("worker", block_ms=0)
    assert (await deps.inbox.fail(poison.id, "OverflowError: date value out of range", 1)).dead
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert answer.json()["inbox"] == {"length": 1, "pending": 1, "dead": 1}
    metrics = await client.get("/metrics")
    assert "deploybot_inbox_dead 1.0" in metrics.text


async def test_a_failing_check_is_unavailable(serve: Serve) -> None:
    async def scheduler_down() -> dict[str, bool]:
        return {"redis": True, "scheduler": False}

    answer = await (await serve(health=scheduler_down)).get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["checks"]["scheduler"] is False


async def test_a_raising_check_is_unavailable(serve: Serve) -> None:
    async def broken() -> dict[str, bool]:
        raise ConnectionError("redis://:hunter2@redis:6379 refused")

    answer = await (await serve(health=broken)).get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["health"] is False
    assert "hunter2" not in answer.text


async def test_a_hanging_check_is_unavailable_not_a_hang(serve: Serve) -> None:
    async def hangs() -> dict[str, bool]:
        await asyncio.sleep(60)
        return {"redis": True}

    client = await serve(health=hangs, check_timeout=0.1)
    answer = await asyncio.wait_for(client.get("/healthz"), 5)
    assert answer.status_code == 503
    assert answer.json()["checks"] == {"health": False, "inbox": True}


async def test_redis_down_is_a_503(serve: Serve, dead: aioredis.Redis) -> None:
    async def ping() -> dict[str, bool]:
        return {"redis": bool(await dead.ping())}

    client = await serve(inbox=RedisInbox(dead), health=ping, check_timeout=0.5)
    answer = await asyncio.wait_for(client.get("/healthz"), 5)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "checks": {"health": False, "inbox": False}}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200


async def test_metrics_are_prometheus_text_and_move(
    client: httpx.AsyncClient,
    deps: HttpDeps,
    sample_body: bytes,
    signed: Callable[..., dict[str, str]],
) -> None:
    first = await client.get("/metrics")
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    await client.post("/semaphore/webhook", content=sample_body, headers=signed(sample_body))
    await deps.inbox.take("worker", block_ms=0)
    answer = await client.get("/metrics")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }
    assert samples[("deploybot_events_received_total", (("source", "semaphore"),))] == 1
    assert samples[("deploybot_inbox_pending", ())] == 1
    route = (("le", "+Inf"), ("route", "/semaphore/webhook"))
    assert samples[("deploybot_handler_seconds_bucket", route)] == 1


async def test_an_unknown_route_is_a_json_404(client: httpx.AsyncClient) -> None:
    answer = await client.get("/nope")
    assert (answer.status_code, answer.json()) == (404, {"error": "not found"})


async def test_wrong_methods_are_405(client: httpx.AsyncClient) -> None:
    assert (await client.post("/healthz")).status_code == 405
    assert (await client.delete("/metrics")).status_code == 405
    assert (await client.get("/alerts/alertmanager")).status_code == 405
