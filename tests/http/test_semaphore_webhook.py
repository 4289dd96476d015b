"""POST /semaphore/webhook: signature checked, recorded once, answered fast."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import httpx
import redis.asyncio as aioredis

from bot.http import HttpDeps
from bot.store.inbox import RedisInbox
from semaphore_client import SIGNATURE_HEADER, PipelineDoneEvent

ROUTE = "/semaphore/webhook"
Serve = Callable[..., Awaitable[httpx.AsyncClient]]
Sign = Callable[..., dict[str, str]]


async def test_a_signed_webhook_is_recorded(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    answer = await client.post(ROUTE, content=sample_body, headers=signed(sample_body))
    assert (answer.status_code, answer.json()) == (200, {"status": "recorded"})
    [item] = await deps.inbox.take("test", block_ms=0)
    assert (item.kind, item.payload) == ("semaphore", sample_body.decode())
    event = PipelineDoneEvent.from_body(item.payload)
    assert event.pipeline.ppl_id == "fa02c7bd-7a8b-42e0-8d6e-aa0d8a194e19"


async def test_the_same_delivery_five_times_at_once_is_recorded_once(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    answers = await asyncio.gather(
        *(client.post(ROUTE, content=sample_body, headers=signed(sample_body)) for _ in range(5))
    )
    assert [a.status_code for a in answers] == [200] * 5
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 4 + ["recorded"]
    assert await deps.inbox.length() == 1


async def test_a_redelivery_of_the_same_pipeline_result_is_a_duplicate(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    await client.post(ROUTE, content=sample_body, headers=signed(sample_body, "d-1"))
    again = await client.post(ROUTE, content=sample_body, headers=signed(sample_body, "d-2"))
    unnamed = await client.post(ROUTE, content=sample_body, headers=signed(sample_body, None))
    assert again.json() == unnamed.json() == {"status": "duplicate"}
    assert await deps.inbox.length() == 1


async def test_another_result_of_the_pipeline_is_recorded(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    doc = json.loads(sample_body)
    doc["pipeline"]["result"] = "passed"
    other = json.dumps(doc).encode()
    await client.post(ROUTE, content=sample_body, headers=signed(sample_body, "d-1"))
    answer = await client.post(ROUTE, content=other, headers=signed(other, "d-2"))
    assert answer.json() == {"status": "recorded"}
    assert await deps.inbox.length() == 2


async def test_a_missing_signature_is_refused(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes
) -> None:
    answer = await client.post(ROUTE, content=sample_body)
    assert answer.status_code == 401
    assert SIGNATURE_HEADER in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_a_wrong_signature_is_refused(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    wrong = signed(sample_body, secret="not-the-secret")
    answer = await client.post(ROUTE, content=sample_body, headers=wrong)
    garbage = await client.post(ROUTE, content=sample_body, headers={SIGNATURE_HEADER: "zz"})
    assert answer.status_code == garbage.status_code == 401
    assert "does not match" in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_a_tampered_body_is_refused(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    tampered = sample_body.replace(b'"stopped"', b'"passed"', 1)
    answer = await client.post(ROUTE, content=tampered, headers=signed(sample_body))
    assert answer.status_code == 401
    assert await deps.inbox.length() == 0


async def test_malformed_json_is_a_bad_request(
    client: httpx.AsyncClient, deps: HttpDeps, signed: Sign
) -> None:
    body = b'{"version": "1.0.0", "pipeline": '
    answer = await client.post(ROUTE, content=body, headers=signed(body))
    assert answer.status_code == 400
    assert "malformed JSON" in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_json_that_is_not_the_payload_is_a_bad_request(
    client: httpx.AsyncClient, deps: HttpDeps, signed: Sign
) -> None:
    for body in (b'{"hello": "world"}', b'{"pipeline": {"id": "", "state": "done"}}', b"[1]"):
        answer = await client.post(ROUTE, content=body, headers=signed(body))
        assert answer.status_code == 400, body
        assert answer.json()["error"].startswith("not a pipeline-done webhook payload")
    assert await deps.inbox.length() == 0


async def test_without_a_secret_webhooks_are_refused(
    serve: Serve, sample_body: bytes, signed: Sign
) -> None:
    client = await serve(webhook_secret=None)
    answer = await client.post(ROUTE, content=sample_body, headers=signed(sample_body))
    assert answer.status_code == 503
    assert "SEMAPHORE_WEBHOOK_SECRET" in answer.json()["error"]


async def test_an_oversized_body_is_refused(serve: Serve, deps: HttpDeps, signed: Sign) -> None:
    client = await serve(max_body_bytes=4096)
    body = json.dumps({"padding": "x" * 10_000}).encode()
    answer = await client.post(ROUTE, content=body, headers=signed(body))
    assert answer.status_code == 413
    assert "4096" in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_an_unavailable_inbox_is_a_503_not_a_traceback(
    serve: Serve, sample_body: bytes, signed: Sign, dead: aioredis.Redis
) -> None:
    client = await serve(inbox=RedisInbox(dead))
    answer = await client.post(ROUTE, content=sample_body, headers=signed(sample_body))
    assert answer.status_code == 503
    assert answer.json() == {"error": "the event store is unavailable; try again"}


async def test_the_handler_is_timed_and_counted(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    for _ in range(2):
        await client.post(ROUTE, content=sample_body, headers=signed(sample_body))
    sample = deps.metrics.registry.get_sample_value
    assert sample("deploybot_handler_seconds_count", {"route": ROUTE}) == 2
    assert sample("deploybot_events_received_total", {"source": "semaphore"}) == 2
    assert sample("deploybot_events_duplicate_total", {"source": "semaphore"}) == 1


async def test_get_is_not_allowed(client: httpx.AsyncClient) -> None:
    answer = await client.get(ROUTE)
    assert answer.status_code == 405
    assert "POST" in answer.headers["Allow"]
    assert answer.json() == {"error": "method not allowed"}


async def test_a_signed_webhook_with_a_time_out_of_utc_range_is_a_bad_request(
    client: httpx.AsyncClient, deps: HttpDeps, sample_body: bytes, signed: Sign
) -> None:
    """Signed, well-formed, but a time no datetime holds in UTC: a 400 naming the field, never
    a 500 (nor an inbox item that fails forever)."""
    for field, value in [("created_at", "0001-01-01T00:00:00+01:00"), ("done_at", 10**20)]:
        payload = json.loads(sample_body)
        payload["pipeline"][field] = value
        body = json.dumps(payload).encode()
        answer = await client.post(ROUTE, content=body, headers=signed(body, delivery=field))
        assert answer.status_code == 400, field
        reason = answer.json()["error"]
        assert reason.startswith("not a pipeline-done webhook payload: pipeline."), reason
        assert "timestamp out of range: it cannot be converted to UTC" in reason
    assert await deps.inbox.length() == 0
