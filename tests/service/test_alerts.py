"""Alertmanager webhooks (version 4) mapped to alarm events for the stages they concern."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.config.loader import load_config
from bot.config.models import DeploybotConfig
from bot.core.events import AlarmFiring, AlarmResolved
from bot.service.alerts import AlertmanagerPayload, alarm_events

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"

#: A notification in the documented v4 shape, as Alertmanager sends it to a webhook receiver.
SAMPLE: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{severity="page"}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "deploybot",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "page"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.internal:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "severity": "page",
                "service": "shop",
                "env": "prod",
                "instance": "shop-web-7c9d:8080",
            },
            "annotations": {
                "summary": "5xx rate above 5% for 5 minutes",
                "description": "shop-web returns errors on /checkout",
                "runbook_url": "https://runbooks.internal/shop/high-error-rate",
            },
            "startsAt": "2026-03-02T10:15:30.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.internal:9090/graph?g0.expr=...",
            "fingerprint": "c5f2a9e1b0d34f77",
        }
    ],
}


@pytest.fixture(scope="module")
def config() -> DeploybotConfig:
    return load_config(EXAMPLE)


def payload(**alert_changes: Any) -> AlertmanagerPayload:
    body = copy.deepcopy(SAMPLE)
    body["alerts"][0].update(alert_changes)
    if "status" in alert_changes:
        body["status"] = alert_changes["status"]
    return AlertmanagerPayload.model_validate_json(json.dumps(body))


def labels(**extra: str) -> dict[str, str]:
    return {"alertname": "HighErrorRate", "severity": "page", **extra}


def test_the_documented_shape_parses() -> None:
    parsed = AlertmanagerPayload.model_validate(SAMPLE)
    [alert] = parsed.alerts
    assert (parsed.status, parsed.receiver, parsed.external_url) == (
        "firing",
        "deploybot",
        "http://alertmanager.internal:9093",
    )
    assert alert.fingerprint == "c5f2a9e1b0d34f77"
    assert alert.starts_at.year == 2026
    assert alert.generator_url.startswith("http://prometheus")


def test_an_alert_maps_to_a_stage_by_the_config_matchers(config: DeploybotConfig) -> None:
    routing = alarm_events(payload(), config)
    [(project, stage, event)] = routing.events
    assert (project, stage) == ("shop", "prod")
    assert isinstance(event, AlarmFiring)
    assert event.alarm == "c5f2a9e1b0d34f77"
    assert event.reason == "HighErrorRate firing: 5xx rate above 5% for 5 minutes"
    assert routing.unmatched == []


def test_an_alert_maps_to_a_stage_by_deploybot_labels(config: DeploybotConfig) -> None:
    routing = alarm_events(
        payload(labels=labels(deploybot_project="billing", deploybot_stage="gamma")), config
    )
    assert [(p, s) for p, s, _ in routing.events] == [("billing", "gamma")]


def test_deploybot_labels_win_over_the_matchers(config: DeploybotConfig) -> None:
    both = labels(service="shop", env="prod", deploybot_project="shop", deploybot_stage="beta")
    routing = alarm_events(payload(labels=both), config)
    assert [(p, s) for p, s, _ in routing.events] == [("shop", "beta")]


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"deploybot_project": "nope", "deploybot_stage": "prod"}, "no project 'nope'"),
        ({"deploybot_project": "shop", "deploybot_stage": "qa"}, "has no stage 'qa'"),
        ({"deploybot_project": "shop"}, "must be given together"),
        ({"deploybot_stage": "prod"}, "must be given together"),
        ({"service": "shop", "env": "staging"}, "no stage's alarm matchers"),
        ({"service": "shop"}, "no stage's alarm matchers"),
        ({}, "no stage's alarm matchers"),
    ],
)
def test_an_alert_for_no_configured_stage_is_unmatched(
    config: DeploybotConfig, extra: dict[str, str], why: str
) -> None:
    routing = alarm_events(payload(labels=labels(**extra)), config)
    assert routing.events == []
    [(alert, reason)] = routing.unmatched
    assert alert.labels == labels(**extra)
    assert why in reason


def test_a_resolved_alert_resolves_the_same_alarm(config: DeploybotConfig) -> None:
    [(_, _, fired)] = alarm_events(payload(), config).events
    resolved_body = payload(status="resolved", endsAt="2026-03-02T10:45:00Z")
    [(project, stage, resolved)] = alarm_events(resolved_body, config).events
    assert (project, stage) == ("shop", "prod")
    assert isinstance(resolved, AlarmResolved)
    assert resolved.alarm == fired.alarm
    assert resolved.id != fired.id
    # both carry when the alert began, by which the stage orders them (not by arrival)
    assert resolved.started == fired.started
    assert fired.started is not None and fired.started.isoformat().startswith("2026-03-02T10:15:30")


def test_a_repeated_notification_gives_the_same_event_id(config: DeploybotConfig) -> None:
    first = alarm_events(payload(), config).events[0].event
    # Alertmanager repeats a firing alert every repeat_interval with the same startsAt.
    again = alarm_events(payload(annotations={"summary": "still failing"}), config).events[0]
    assert again.event.id == first.id


def test_a_refire_is_a_new_event(config: DeploybotConfig) -> None:
    first = alarm_events(payload(), config).events[0].event
    later = alarm_events(payload(startsAt="2026-03-02T12:00:00Z"), config).events[0].event
    assert later.id != first.id
    assert later.alarm == first.alarm


def test_without_a_fingerprint_the_alarm_is_a_hash_of_the_labels(config: DeploybotConfig) -> None:
    shop = labels(service="shop", env="prod")
    one = alarm_events(payload(fingerprint="", labels=shop), config).events[0].event
    reordered = dict(reversed(list(shop.items())))
    two = alarm_events(payload(fingerprint="", labels=reordered), config).events[0].event
    other = alarm_events(payload(fingerprint="", labels={**shop, "instance": "b"}), config)
    assert one.alarm == two.alarm
    assert one.alarm != other.events[0].event.alarm


def test_the_reason_falls_back_to_the_description_then_the_name(config: DeploybotConfig) -> None:
    described = payload(annotations={"description": "errors on /checkout"})
    bare = payload(annotations={})
    [(_, _, with_description)] = alarm_events(described, config).events
    [(_, _, with_name)] = alarm_events(bare, config).events
    assert isinstance(with_description, AlarmFiring) and isinstance(with_name, AlarmFiring)
    assert with_description.reason == "HighErrorRate firing: errors on /checkout"
    assert with_name.reason == "HighErrorRate firing"


def test_one_notification_with_several_alerts(config: DeploybotConfig) -> None:
    body = copy.deepcopy(SAMPLE)
    second = copy.deepcopy(body["alerts"][0])
    second.update(labels=labels(deploybot_project="billing", deploybot_stage="prod"))
    second.update(fingerprint="aa11", status="resolved")
    stray = copy.deepcopy(second)
    stray.update(labels=labels(), fingerprint="bb22")
    body["alerts"] += [second, stray]
    routing = alarm_events(AlertmanagerPayload.model_validate(body), config)
    assert [(p, s, type(e).__name__) for p, s, e in routing.events] == [
        ("shop", "prod", "AlarmFiring"),
        ("billing", "prod", "AlarmResolved"),
    ]
    assert [u.alert.fingerprint for u in routing.unmatched] == ["bb22"]


def broken(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(SAMPLE)
    target: Any = body
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("version",), "3"),
        (("version",), ...),
        (("status",), "pending"),
        (("alerts",), []),
        (("alerts",), ...),
        (("alerts", 0, "status"), "silenced"),
        (("alerts", 0, "labels"), ...),
        (("alerts", 0, "labels"), {"alertname": 5}),
        (("alerts", 0, "startsAt"), "yesterday"),
        (("alerts", 0, "startsAt"), ...),
        (("alerts", 0, "annotations"), ["summary"]),
    ],
)
def test_a_malformed_payload_is_rejected(path: tuple[Any, ...], value: Any) -> None:
    with pytest.raises(ValidationError):
        AlertmanagerPayload.model_validate_json(json.dumps(broken(path, value)))


def test_unknown_fields_are_ignored() -> None:
    body = copy.deepcopy(SAMPLE)
    body["newField"] = {"x": 1}
    body["alerts"][0]["silencedBy"] = []
    assert AlertmanagerPayload.model_validate(body).alerts[0].fingerprint == "c5f2a9e1b0d34f77"
