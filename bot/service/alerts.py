"""Prometheus Alertmanager webhooks (payload version 4) turned into alarm events for stages.

Pure: no HTTP, no store. An alert goes to a stage

1. by its labels `deploybot_project` and `deploybot_stage` (both needed; naming a project or
   stage that is not configured leaves the alert unmatched rather than guessing). A stage that
   is a wave (issue 18) means every target of it; `deploybot_target` narrows that to one
   (`deploybot_stage: prod-wave-2/eu-west-1` says the same), or
2. otherwise, to every stage whose `alarms` matchers (label -> value) all equal the alert's
   labels. A stage without matchers matches nothing.

The alarm is the alert's `fingerprint` (a stable hash of its sorted labels when absent), so the
firing and the resolved notification of one alert name the same alarm. Event ids carry the
alarm, the status and `startsAt`: Alertmanager's repeated notifications of one firing alert
give the same id (applied once), and a later re-fire, with a new `startsAt`, is a new event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from bot.config.models import DeploybotConfig, ProjectConfig, StageConfig
from bot.core.events import AlarmFiring, AlarmResolved

PROJECT_LABEL = "deploybot_project"
STAGE_LABEL = "deploybot_stage"
TARGET_LABEL = "deploybot_target"
REASON_LIMIT = 300

Status = Literal["firing", "resolved"]


class _Model(BaseModel):
    """Lenient on fields deploybot does not use, strict on the types of those it does."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class Alert(_Model):
    status: Status
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(validation_alias=AliasChoices("startsAt", "starts_at"))
    ends_at: datetime | None = Field(
        default=None, validation_alias=AliasChoices("endsAt", "ends_at")
    )
    generator_url: str = Field(
        default="", validation_alias=AliasChoices("generatorURL", "generator_url")
    )
    fingerprint: str = ""

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _in_utc_range(cls, value: datetime | None) -> datetime | None:
        """A time that cannot be converted to UTC (`0001-01-01T00:00:00+01:00`) is refused
        here, at intake, rather than failing every time the inbox item is processed.
        Alertmanager's `0001-01-01T00:00:00Z` (no `endsAt` yet) converts, and is kept."""
        if value is not None and value.tzinfo is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("out of range: the time cannot be converted to UTC") from None
        return value

    @property
    def alarm(self) -> str:
        """The alert's identity: its fingerprint, else a hash of its sorted labels."""
        if self.fingerprint:
            return self.fingerprint
        labels = json.dumps(sorted(self.labels.items()), separators=(",", ":"))
        return hashlib.sha256(labels.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")

    @property
    def reason(self) -> str:
        """What people read: `HighErrorRate firing: 5xx above 5%` (the fingerprint stays in
        the blocker's id and the audit log)."""
        detail = self.annotations.get("summary") or self.annotations.get("description") or ""
        text = f"{self.name} firing: {detail}" if detail else f"{self.name} firing"
        return text if len(text) <= REASON_LIMIT else text[: REASON_LIMIT - 1] + "…"

    @property
    def started(self) -> datetime:
        starts = self.starts_at
        return (starts if starts.tzinfo else starts.replace(tzinfo=UTC)).astimezone(UTC)

    def event_id(self) -> str:
        return f"alert:{self.alarm}:{self.status}:{self.started.isoformat()}"

    def event(self) -> AlarmFiring | AlarmResolved:
        started = self.started
        if self.status == "firing":
            return AlarmFiring(
                id=self.event_id(), alarm=self.alarm, reason=self.reason, started=started
            )
        return AlarmResolved(id=self.event_id(), alarm=self.alarm, started=started)


class AlertmanagerPayload(_Model):
    """The body Alertmanager POSTs to a webhook receiver."""

    version: Literal["4"]
    status: Status
    alerts: list[Alert] = Field(min_length=1)
    receiver: str = ""
    group_key: str = Field(default="", validation_alias=AliasChoices("groupKey", "group_key"))
    truncated_alerts: int = Field(
        default=0, validation_alias=AliasChoices("truncatedAlerts", "truncated_alerts")
    )
    group_labels: dict[str, str] = Field(
        default_factory=dict, validation_alias=AliasChoices("groupLabels", "group_labels")
    )
    common_labels: dict[str, str] = Field(
        default_factory=dict, validation_alias=AliasChoices("commonLabels", "common_labels")
    )
    common_annotations: dict[str, str] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("commonAnnotations", "common_annotations"),
    )
    external_url: str = Field(
        default="", validation_alias=AliasChoices("externalURL", "external_url")
    )


class RoutedAlarm(NamedTuple):
    project: str
    stage: str
    event: AlarmFiring | AlarmResolved


class UnmatchedAlert(NamedTuple):
    alert: Alert
    why: str


class AlertRouting(NamedTuple):
    events: list[RoutedAlarm]
    unmatched: list[UnmatchedAlert]


def alarm_events(payload: AlertmanagerPayload, config: DeploybotConfig) -> AlertRouting:
    """Every alert of the notification as an alarm event for each stage it maps to."""
    routing = AlertRouting([], [])
    for alert in payload.alerts:
        stages, why = _stages_for(alert, config)
        if not stages:
            routing.unmatched.append(UnmatchedAlert(alert, why))
        routing.events.extend(
            RoutedAlarm(project.name, stage.name, alert.event()) for project, stage in stages
        )
    return routing


def _stages_for(
    alert: Alert, config: DeploybotConfig
) -> tuple[list[tuple[ProjectConfig, StageConfig]], str]:
    labels = alert.labels
    if PROJECT_LABEL in labels or STAGE_LABEL in labels:
        project_name, stage_name = labels.get(PROJECT_LABEL), labels.get(STAGE_LABEL)
        if not project_name or not stage_name:
            return [], f"labels {PROJECT_LABEL} and {STAGE_LABEL} must be given together"
        project = next((p for p in config.projects if p.name == project_name), None)
        if project is None:
            return [], f"no project {project_name!r}"
        target = labels.get(TARGET_LABEL)
        wanted = f"{stage_name}/{target}" if target else stage_name
        stages = [s for s in project.stages if s.name == wanted]
        if not stages and not target:
            stages = project.wave(stage_name)  # an alarm on a wave: every target of it
        if not stages:
            return [], f"project {project_name!r} has no stage {wanted!r}"
        return [(project, stage) for stage in stages], ""
    matched = [
        (project, stage)
        for project in config.projects
        for stage in project.stages
        if stage.alarms and all(labels.get(k) == v for k, v in stage.alarms.items())
    ]
    return matched, "" if matched else "no stage's alarm matchers match its labels"
