"""POST /alerts/alertmanager: validated as Alertmanager's v4 payload, then recorded once."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.http import HttpDeps
from bot.service.alerts import AlertmanagerPayload

ROUTE = "/alerts/alertmanager"


def notification(status: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "deploybot",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {"alertname": "HighLatency"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.internal:9093",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "HighLatency", "service": "shop", "env": "prod", **labels},
                "annotations": {"summary": "p99 above 2s"},
                "startsAt": "2026-03-02T10:15:30Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.internal:9090/graph",
                "fingerprint": "1f2e3d4c5b6a7988",
            }
        ],
    }


async def test_a_notification_is_recorded_once(client: httpx.AsyncClient, deps: HttpDeps) -> None:
    body = json.dumps(notification()).encode()
    first = await client.post(ROUTE, content=body, headers={"Content-Type": "application/json"})
    again = await client.post(ROUTE, content=body)
    assert (first.status_code, first.json()) == (200, {"status": "recorded"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    [item] = await deps.inbox.take("test", block_ms=0)
    assert item.kind == "alertmanager"
    assert AlertmanagerPayload.model_validate_json(item.payload).alerts[0].labels["env"] == "prod"


async def test_firing_and_resolved_are_separate_items(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    await client.post(ROUTE, json=notification("firing"))
    answer = await client.post(ROUTE, json=notification("resolved"))
    assert answer.json() == {"status": "recorded"}
    assert await deps.inbox.length() == 2


async def test_malformed_json_is_a_bad_request(client: httpx.AsyncClient, deps: HttpDeps) -> None:
    answer = await client.post(ROUTE, content=b'{"version": "4", "alerts": [')
    assert answer.status_code == 400
    assert answer.json()["error"] == "not an Alertmanager v4 webhook payload: malformed JSON"
    assert await deps.inbox.length() == 0


async def test_the_wrong_shape_is_a_bad_request_with_the_reason(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    old = {**notification(), "version": "3"}
    answer = await client.post(ROUTE, json=old)
    assert answer.status_code == 400
    assert "version" in answer.json()["error"]
    body = notification()
    body["alerts"][0]["status"] = "sleeping"
    answer = await client.post(ROUTE, json=body)
    assert "alerts.0.status" in answer.json()["error"]
    assert "sleeping" not in answer.json()["error"]
    assert await deps.inbox.length() == 0


async def test_received_and_duplicate_are_counted(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    for _ in range(3):
        await client.post(ROUTE, json=notification())
    sample = deps.metrics.registry.get_sample_value
    assert sample("deploybot_events_received_total", {"source": "alertmanager"}) == 3
    assert sample("deploybot_events_duplicate_total", {"source": "alertmanager"}) == 2
    assert sample("deploybot_handler_seconds_count", {"route": ROUTE}) == 3


async def test_a_start_time_out_of_utc_range_is_refused_and_records_nothing(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    """A poison alert: `0001-01-01T00:00:00+01:00` is a year-0 time in UTC, which no datetime
    holds. Refused at intake, it cannot fail the inbox worker on every retry."""
    for field, value in [
        ("startsAt", "0001-01-01T00:00:00+01:00"),
        ("endsAt", "9999-12-31T23:30:00-01:00"),
    ]:
        body = notification()
        body["alerts"][0][field] = value
        answer = await client.post(ROUTE, json=body)
        assert answer.status_code == 400, field
        assert answer.json() == {
            "error": "not an Alertmanager v4 webhook payload: "
            f"alerts.0.{field}: Value error, out of range: the time cannot be converted to UTC"
        }
    assert await deps.inbox.length() == 0


async def test_alertmanagers_zero_end_time_of_a_firing_alert_is_accepted(
    client: httpx.AsyncClient, deps: HttpDeps
) -> None:
    body = notification()
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    answer = await client.post(ROUTE, json=body)
    assert (answer.status_code, answer.json()) == (200, {"status": "recorded"})
    [item] = await deps.inbox.take("test", block_ms=0)
    [alert] = AlertmanagerPayload.model_validate_json(item.payload).alerts
    assert alert.event().started.isoformat() == "2026-03-02T10:15:30+00:00"
