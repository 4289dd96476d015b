"""deploybot's Prometheus metrics, in a registry of their own.

Each `Metrics` holds its own `CollectorRegistry`, never the global one, so tests and two
replicas in one process do not collide. The service calls the small methods below; `GET
/metrics` serves `render()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.core.decision import Decision
from bot.core.model import GOOD, DeploymentKind

#: The classic text format (what generate_latest writes for these names); every Prometheus
#: version scrapes it.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

SOURCES = ("semaphore", "alertmanager", "slack")
#: Lead time buckets: minutes to a week.
LEAD_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_received = Counter(
            "deploybot_events_received",
            "Events received, by source",
            ["source"],
            registry=r,
        )
        self.events_duplicate = Counter(
            "deploybot_events_duplicate",
            "Events refused as duplicates of one already recorded, by source",
            ["source"],
            registry=r,
        )
        self.alerts_unmatched = Counter(
            "deploybot_alerts_unmatched",
            "Alertmanager alerts that mapped to no configured stage",
            registry=r,
        )
        self.decisions = Counter(
            "deploybot_decisions",
            "Notices decided, by stage and notice kind",
            ["project", "stage", "kind"],
            registry=r,
        )
        self.promotions_triggered = Counter(
            "deploybot_promotions_triggered",
            "Semaphore promotions triggered, by stage and deployment kind",
            ["project", "stage", "kind"],
            registry=r,
        )
        self.queue_length = Gauge(
            "deploybot_queue_length",
            "Deployments queued on a stage",
            ["project", "stage"],
            registry=r,
        )
        self.blockers_active = Gauge(
            "deploybot_blockers_active",
            "Active blockers on a stage (stored and calendar)",
            ["project", "stage"],
            registry=r,
        )
        self.deployments = Counter(
            "deploybot_deployments",
            "Deployments that ended, by stage, kind and result (done, succeeded, failed, "
            "superseded, cancelled)",
            ["project", "stage", "kind", "result"],
            registry=r,
        )
        self.lead_time = Histogram(
            "deploybot_lead_time_seconds",
            "From a change's CI pipeline being created to the end of its own good roll-forward "
            "to a stage, by stage",
            ["project", "stage"],
            buckets=LEAD_BUCKETS,
            registry=r,
        )
        self.semaphore_calls = Counter(
            "deploybot_semaphore_api_calls",
            "Requests sent to Semaphore's API, by endpoint (ids as :id) and result (the status "
            "code, or transport when no answer came); retries count",
            ["endpoint", "result"],
            registry=r,
        )
        self.webhook_recovery = Histogram(
            "deploybot_webhook_recovery_seconds",
            "From a pipeline being done to reconciliation finding it because its webhook was "
            "lost, by pipeline kind (ci: a change's CI pipeline; deploy: a deploy pipeline)",
            ["kind"],
            buckets=(5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600),
            registry=r,
        )
        self.restore_time = Histogram(
            "deploybot_time_to_restore_seconds",
            "From a stage breaking (a roll-forward failed there, or a rollback was asked for) "
            "to the end of the next good deployment of any kind on it, by stage",
            ["project", "stage"],
            buckets=LEAD_BUCKETS,
            registry=r,
        )
        self.handler_seconds = Histogram(
            "deploybot_handler_seconds",
            "Time spent answering an HTTP request, by route",
            ["route"],
            registry=r,
        )
        self.inbox_processed = Counter(
            "deploybot_inbox_processed",
            "Inbox items handled by the worker, by outcome (processed, failed)",
            ["outcome"],
            registry=r,
        )
        self.inbox_dead_letters = Counter(
            "deploybot_inbox_dead_letters",
            "Inbox items moved to the dead letters after failing on every attempt",
            registry=r,
        )
        self.inbox_dead = Gauge(
            "deploybot_inbox_dead",
            "Dead letters waiting for an operator (deploybot inbox list)",
            registry=r,
        )
        self.inbox_pending = Gauge(
            "deploybot_inbox_pending",
            "Inbox items taken by a worker and not yet acked",
            registry=r,
        )

    def event_received(self, source: str) -> None:
        self.events_received.labels(source=source).inc()

    def event_duplicate(self, source: str) -> None:
        self.events_duplicate.labels(source=source).inc()

    def alert_unmatched(self, count: int = 1) -> None:
        self.alerts_unmatched.inc(count)

    def observe_decision(self, project: str, stage: str, decision: Decision) -> None:
        """Count the decision's notices by kind; set the stage's queue and blocker gauges."""
        for notice in decision.notices:
            self.decisions.labels(project=project, stage=stage, kind=notice.kind.value).inc()
        for done in decision.finished:
            labels = {"project": project, "stage": stage, "kind": done.kind.value}
            self.deployments.labels(**labels, result=done.state.value).inc()
            good = done.state in GOOD and done.kind is DeploymentKind.ROLLFORWARD
            if good and done.finished_at is not None:
                lead = (done.finished_at - done.change.created_at).total_seconds()
                self.lead_time.labels(project=project, stage=stage).observe(max(lead, 0.0))
        for took in decision.restored:
            self.restore_time.labels(project=project, stage=stage).observe(took.total_seconds())
        self.queue_length.labels(project=project, stage=stage).set(len(decision.state.queue))
        self.blockers_active.labels(project=project, stage=stage).set(len(decision.blocked_by))

    def semaphore_call(self, endpoint: str, result: str) -> None:
        self.semaphore_calls.labels(endpoint=endpoint, result=result).inc()

    def webhook_recovered(self, kind: str, seconds: float) -> None:
        self.webhook_recovery.labels(kind=kind).observe(max(seconds, 0.0))

    def promotion_triggered(self, project: str, stage: str, kind: str) -> None:
        self.promotions_triggered.labels(project=project, stage=stage, kind=kind).inc()

    def inbox_outcome(self, outcome: str) -> None:
        self.inbox_processed.labels(outcome=outcome).inc()

    def set_inbox_pending(self, count: int) -> None:
        self.inbox_pending.set(count)

    def inbox_dead_letter(self) -> None:
        self.inbox_dead_letters.inc()

    def set_inbox_dead(self, count: int) -> None:
        self.inbox_dead.set(count)

    @contextmanager
    def time_handler(self, route: str) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self.handler_seconds.labels(route=route).observe(perf_counter() - started)

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of this registry, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE
