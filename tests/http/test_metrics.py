"""The metrics the service reports, read back from the registry they are kept in."""

from __future__ import annotations

from builders import blocker, deployment

from bot.core.decision import Decision, Notice, NoticeKind
from bot.core.model import BlockerKind, StageState
from bot.metrics import Metrics


def notice(kind: NoticeKind) -> Notice:
    return Notice(kind=kind, project="shop", stage="prod", text="…")


def test_a_decision_counts_notices_and_sets_the_stage_gauges() -> None:
    metrics = Metrics()
    decision = Decision(
        state=StageState(queue=(deployment(1), deployment(2))),
        changed=True,
        notices=(notice(NoticeKind.QUEUED), notice(NoticeKind.WAITING), notice(NoticeKind.QUEUED)),
        blocked_by=(blocker(), blocker(BlockerKind.WINDOW, id="window")),
    )
    metrics.observe_decision("shop", "prod", decision)
    sample = metrics.registry.get_sample_value
    stage = {"project": "shop", "stage": "prod"}
    assert sample("deploybot_decisions_total", {**stage, "kind": "queued"}) == 2
    assert sample("deploybot_decisions_total", {**stage, "kind": "waiting"}) == 1
    assert sample("deploybot_queue_length", stage) == 2
    assert sample("deploybot_blockers_active", stage) == 2
    metrics.observe_decision("shop", "prod", Decision(state=StageState(), changed=True))
    assert sample("deploybot_queue_length", stage) == 0
    assert sample("deploybot_blockers_active", stage) == 0


def test_promotions_and_unmatched_alerts_are_counted() -> None:
    metrics = Metrics()
    metrics.promotion_triggered("shop", "beta", "rollforward")
    metrics.promotion_triggered("shop", "beta", "rollback")
    metrics.alert_unmatched(2)
    sample = metrics.registry.get_sample_value
    labels = {"project": "shop", "stage": "beta"}
    assert sample("deploybot_promotions_triggered_total", {**labels, "kind": "rollback"}) == 1
    assert sample("deploybot_alerts_unmatched_total") == 2


def test_two_instances_do_not_share_a_registry() -> None:
    one, two = Metrics(), Metrics()
    one.event_received("slack")
    assert one.registry.get_sample_value("deploybot_events_received_total", {"source": "slack"})
    assert (
        two.registry.get_sample_value("deploybot_events_received_total", {"source": "slack"})
        is None
    )
    body, content_type = one.render()
    assert b'deploybot_events_received_total{source="slack"} 1.0' in body
    assert content_type.startswith("text/plain")


def test_deployments_that_ended_are_counted_and_their_lead_time_observed() -> None:
    """Issue 17: deploybot_deployments_total{project,stage,kind,result} and a lead time
    histogram, for Grafana."""
    from datetime import timedelta

    from builders import T0, change

    from bot.core.model import DeploymentKind, DeploymentState

    metrics = Metrics()
    made = change(1, created_at=T0)
    done = deployment(1, DeploymentState.DONE, change=made, finished_at=T0 + timedelta(minutes=30))
    failed = deployment(2, DeploymentState.FAILED, finished_at=T0)
    back = deployment(3, DeploymentState.SUCCEEDED, kind=DeploymentKind.ROLLBACK, finished_at=T0)
    metrics.observe_decision(
        "shop",
        "prod",
        Decision(
            state=StageState(),
            changed=True,
            finished=(done, failed, back),
            restored=(timedelta(minutes=7),),
        ),
    )
    sample = metrics.registry.get_sample_value
    stage = {"project": "shop", "stage": "prod"}
    assert (
        sample("deploybot_deployments_total", {**stage, "kind": "rollforward", "result": "done"})
        == 1
    )
    assert (
        sample("deploybot_deployments_total", {**stage, "kind": "rollforward", "result": "failed"})
        == 1
    )
    assert (
        sample("deploybot_deployments_total", {**stage, "kind": "rollback", "result": "succeeded"})
        == 1
    )
    assert sample("deploybot_lead_time_seconds_count", stage) == 1  # the good roll-forward only
    assert sample("deploybot_lead_time_seconds_sum", stage) == 1800
    assert sample("deploybot_lead_time_seconds_bucket", {**stage, "le": "1800.0"}) == 1
    assert sample("deploybot_time_to_restore_seconds_count", stage) == 1
    assert sample("deploybot_time_to_restore_seconds_sum", stage) == 420
