"""The orchestrator's handling of inbox items it cannot use, and of Semaphore being down."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.adapters.semaphore import Semaphore, SemaphoreEffects
from bot.bootstrap import build_stage_service
from bot.config.loader import load_config
from bot.orchestrator import Orchestrator
from bot.store import MemoryStore
from bot.store.inbox import InboxItem
from semaphore_client import RetryPolicy, SemaphoreClient, TransportError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"
SAMPLE = (
    Path(__file__).resolve().parents[1] / "fixtures" / "semaphore" / "webhook-pipeline-done.json"
)


def orchestrator(handler: httpx.MockTransport) -> Orchestrator:
    config = load_config(EXAMPLE)
    stages = build_stage_service(config, MemoryStore())
    http = httpx.AsyncClient(transport=handler)
    client = SemaphoreClient(
        token="t",
        base_url="http://semaphore.test/api/v1alpha",
        http=http,
        retry=RetryPolicy(attempts=1),
    )
    semaphore = Semaphore(client, config)
    return Orchestrator(config, stages, semaphore, SemaphoreEffects(semaphore, stages))


def item(payload: str, kind: str = "semaphore") -> InboxItem:
    return InboxItem(id="1-0", kind=kind, payload=payload, received_at=datetime.now(UTC))


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("semaphore", "not json"),
        ("semaphore", "{}"),
        ("alertmanager", '{"version": "3"}'),
        ("carrier-pigeon", "{}"),
    ],
)
async def test_an_unreadable_item_is_dropped_not_retried_forever(kind: str, payload: str) -> None:
    await orchestrator(httpx.MockTransport(down)).process(item(payload, kind))


async def test_when_semaphore_is_down_the_item_is_left_for_a_retry() -> None:
    body = json.loads(SAMPLE.read_text())
    body["project"]["name"] = "shop-web"
    body["workflow"]["initial_pipeline_id"] = "another-pipeline"  # a promoted pipeline
    with pytest.raises(TransportError):
        await orchestrator(httpx.MockTransport(down)).process(item(json.dumps(body)))


async def test_a_pipeline_of_an_unconfigured_project_is_ignored() -> None:
    await orchestrator(httpx.MockTransport(down)).process(item(SAMPLE.read_text()))


async def test_semaphore_down_leaves_the_promotion_in_the_outbox_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from builders import change

    from bot.core import events as ev

    bot = orchestrator(httpx.MockTransport(down))
    bot.stages.effects = bot.effects
    with caplog.at_level(logging.WARNING):
        await bot.stages.handle("shop", "beta", ev.ChangeReady(id="ci-1", change=change(1)))
    outbox = await bot.stages.store.outbox("shop", "beta")
    assert any('"type":"start"' in raw for raw in outbox)
    failed = [r for r in caplog.records if "stays in the outbox" in r.getMessage()]
    assert failed and "Semaphore" in failed[0].getMessage()
    assert not any(r.exc_info for r in caplog.records)


def _alert_item(name: str, n: int, **labels: str) -> InboxItem:
    payload = {
        "version": "4", "status": "firing", "groupKey": "{}", "receiver": "deploybot",
        "alerts": [{
            "status": "firing", "labels": {"alertname": name, **labels},
            "annotations": {}, "startsAt": f"2026-12-01T10:0{n}:00Z", "fingerprint": f"fp{n}",
        }],
    }  # fmt: skip
    return item(json.dumps(payload), "alertmanager")


async def test_an_alert_that_matches_no_stage_is_counted_and_logged_once_per_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.metrics import Metrics

    bot = orchestrator(httpx.MockTransport(down))
    bot.metrics = Metrics()
    with caplog.at_level(logging.WARNING, logger="bot.orchestrator"):
        await bot.process(_alert_item("DiskFull", 1, env="prdo"))  # a typo: matches nothing
        await bot.process(_alert_item("DiskFull", 2, env="prdo"))
        await bot.process(_alert_item("Latency", 3, deploybot_project="shop"))
    lines = [r.getMessage() for r in caplog.records if "matches no stage" in r.getMessage()]
    assert len(lines) == 2, lines  # once per alert name
    assert "'DiskFull'" in lines[0] and "'env': 'prdo'" in lines[0]
    assert "must be given together" in lines[1]
    payload, _ = bot.metrics.render()
    assert b"deploybot_alerts_unmatched_total 3.0" in payload
