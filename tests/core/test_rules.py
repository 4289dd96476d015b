"""The rules of DESIGN.md section 4, one behaviour per test, through the pure decide()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import T0, blocker, change, deployment, policy, snapshot

from bot.core import events as ev
from bot.core.decision import Decision, NoticeKind, StageSnapshot
from bot.core.model import (
    AfterRollback,
    BlockerKind,
    DeploymentKind,
    DeploymentState,
    RollbackPolicy,
    StageState,
)
from bot.core.rules import decide

S = DeploymentState


class Stage:
    """Drives one stage through events, keeping the state between decisions like the store."""

    def __init__(self, snap: StageSnapshot | None = None) -> None:
        self.snap = snap or snapshot()
        self.now = T0
        self.decisions: list[Decision] = []
        self._n = 0

    def __call__(self, event: ev.Event, *, after: timedelta = timedelta(0)) -> Decision:
        self.now += after
        decision = decide(self.snap, event, self.now)
        self.snap = self.snap.model_copy(update={"state": decision.state})
        self.decisions.append(decision)
        return decision

    def eid(self) -> str:
        self._n += 1
        return f"e{self._n}"

    @property
    def state(self) -> StageState:
        return self.snap.state

    def ready(self, n: int, **kw: object) -> Decision:
        return self(ev.ChangeReady(id=self.eid(), change=change(n)), **kw)  # type: ignore[arg-type]

    def finish(self, outcome: str = "succeeded", **kw: object) -> Decision:
        assert self.state.current is not None
        event = ev.DeploymentFinished(
            id=self.eid(), deployment_id=self.state.current.id, outcome=outcome
        )  # type: ignore[arg-type]
        return self(event, **kw)  # type: ignore[arg-type]

    def tick(self, after: timedelta = timedelta(0)) -> Decision:
        return self(ev.Tick(id=self.eid()), after=after)

    def block(self, kind: BlockerKind = BlockerKind.MANUAL, **kw: object) -> Decision:
        return self(ev.BlockerAdded(id=self.eid(), blocker=blocker(kind, **kw)))

    def with_calendar(self, *blockers: object) -> None:
        self.snap = self.snap.model_copy(update={"calendar": blockers})

    def deploy_good(self, n: int) -> None:
        """Change n reaches the stage and finishes baking."""
        self.ready(n)
        self.finish()
        self.tick(after=self.snap.policy.bake)
        assert self.state.good[0].change == change(n)


def kinds(decision: Decision) -> list[NoticeKind]:
    return [n.kind for n in decision.notices]


def test_a_ready_change_on_an_idle_stage_starts_at_once() -> None:
    stage = Stage()
    decision = stage.ready(1)
    assert decision.start is not None and decision.start.change == change(1)
    assert stage.state.current is not None and stage.state.current.state is S.RUNNING
    assert decision.start.source_pipeline_id == "ci-1"


def test_a_stage_hanging_off_the_previous_one_promotes_from_its_deploy_pipeline() -> None:
    stage = Stage(snapshot(policy=policy(hangs_off_previous=True)))
    decision = stage(ev.ChangeReady(id="x", change=change(1), previous_pipeline_id="beta-deploy-1"))
    assert decision.start is not None and decision.start.source_pipeline_id == "beta-deploy-1"


def test_rule1_a_change_waits_while_another_runs() -> None:
    stage = Stage()
    stage.ready(1)
    decision = stage.ready(2)
    assert decision.start is None
    assert [d.change.sha for d in stage.state.queue] == [change(2).sha]


def test_rule1_a_change_waits_while_another_bakes() -> None:
    stage = Stage()
    stage.ready(1)
    stage.finish()
    assert stage.ready(2).start is None
    decision = stage.tick(after=timedelta(minutes=30))
    assert decision.start is not None and decision.start.change == change(2)


@pytest.mark.parametrize("kind", [BlockerKind.MANUAL, BlockerKind.FREEZE, BlockerKind.ALARM])
def test_rule2_a_blocked_stage_holds_its_queue_and_says_why(kind: BlockerKind) -> None:
    stage = Stage()
    stage.block(kind, reason="DB migration")
    decision = stage.ready(1)
    assert decision.start is None
    assert len(stage.state.queue) == 1
    waiting = [n for n in decision.notices if n.kind is NoticeKind.WAITING]
    assert waiting and "DB migration" in waiting[0].text


def test_rule2_lifting_the_last_blocker_drains_the_queue_and_tells_the_channel() -> None:
    stage = Stage()
    stage.block(id="b1")
    stage.block(id="b2")
    stage.ready(1)
    assert stage(ev.BlockerLifted(id="l1", blocker_id="b1", by="U1")).start is None
    decision = stage(ev.BlockerLifted(id="l2", blocker_id="b2", by="U1"))
    assert decision.start is not None
    assert NoticeKind.UNBLOCKED in kinds(decision)


def test_rule2_an_expired_blocker_releases_the_queue_at_its_expiry() -> None:
    stage = Stage()
    stage.block(until=T0 + timedelta(hours=2))
    stage.ready(1)
    assert stage.tick(after=timedelta(hours=1)).start is None
    decision = stage.tick(after=timedelta(hours=1))
    assert decision.start is not None
    assert NoticeKind.BLOCKER_LIFTED in kinds(decision)
    assert stage.state.blockers == ()


def test_rule2_a_closed_window_holds_the_queue_until_it_opens() -> None:
    stage = Stage()
    stage.with_calendar(blocker(BlockerKind.WINDOW, id="window", reason="outside deploy windows"))
    assert stage.ready(1).start is None
    stage.with_calendar()
    decision = stage.tick(after=timedelta(hours=12))
    assert decision.start is not None and NoticeKind.UNBLOCKED in kinds(decision)


def test_rule2_a_freeze_that_has_not_started_does_not_hold() -> None:
    stage = Stage()
    stage.block(BlockerKind.FREEZE, starts_at=T0 + timedelta(days=1), until=T0 + timedelta(days=2))
    assert stage.ready(1).start is not None


def test_rule4_the_newest_queued_change_supersedes_older_ones_visibly() -> None:
    stage = Stage()
    stage.block()
    stage.ready(1)
    decision = stage.ready(2)
    assert [d.change for d in stage.state.queue] == [change(2)]
    superseded = [d for d in decision.finished if d.state is S.SUPERSEDED]
    assert [d.change for d in superseded] == [change(1)]
    assert NoticeKind.SUPERSEDED in kinds(decision)


def test_rule4_supersede_false_keeps_every_change_in_order() -> None:
    stage = Stage(snapshot(policy=policy(supersede=False)))
    stage.block()
    stage.ready(1)
    stage.ready(2)
    assert [d.change for d in stage.state.queue] == [change(1), change(2)]


def test_rule4_supersede_false_never_deploys_a_change_older_than_the_live_one() -> None:
    """CI finished out of order: change 3 (older) passes after change 5 went live."""
    stage = Stage(snapshot(policy=policy(supersede=False)))
    stage.deploy_good(5)
    decision = stage.ready(3)
    assert decision.start is None and stage.state.queue == ()
    assert decision.finished[0].state is S.SUPERSEDED
    assert "skipped: older than" in decision.notices[0].text


def test_rule4_supersede_false_queues_changes_in_the_order_they_were_made() -> None:
    stage = Stage(snapshot(policy=policy(supersede=False)))
    stage.block()
    stage.ready(2)
    stage.ready(4)
    stage.ready(3)  # its CI finished last
    assert [d.change for d in stage.state.queue] == [change(2), change(3), change(4)]


def test_rule4_a_change_older_than_the_deployed_one_is_superseded_on_arrival() -> None:
    stage = Stage()
    stage.deploy_good(5)
    decision = stage.ready(3)
    assert decision.start is None and stage.state.queue == ()
    assert decision.finished[0].state is S.SUPERSEDED


def test_rule6_a_succeeded_rollforward_bakes_before_going_onward() -> None:
    stage = Stage(snapshot(policy=policy(stage="beta")))
    stage.ready(1)
    decision = stage.finish()
    assert decision.onward is None and stage.state.current is not None
    assert stage.state.current.state is S.BAKING
    assert stage.tick(after=timedelta(minutes=29)).onward is None
    decision = stage.tick(after=timedelta(minutes=1))
    assert decision.onward is not None and decision.onward.change == change(1)
    assert stage.state.good[0].state is S.DONE


def test_rule6_without_bake_time_the_change_goes_onward_at_once() -> None:
    stage = Stage(snapshot(policy=policy(bake=timedelta(0))))
    stage.ready(1)
    assert stage.finish().onward is not None


def test_the_last_stage_sends_nothing_onward() -> None:
    stage = Stage(snapshot(policy=policy(is_last=True, bake=timedelta(0))))
    stage.ready(1)
    assert stage.finish().onward is None


def test_rule5_auto_policy_rolls_back_to_last_good_at_once() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage.finish("failed")
    assert change(2).sha in stage.state.bad
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert decision.start.change == change(1)
    assert decision.start.source_pipeline_id == "ci-1"
    assert {NoticeKind.FAILED, NoticeKind.ROLLBACK_QUEUED} <= set(kinds(decision))


def test_a_rollback_that_ends_a_failure_reports_the_time_to_restore_once() -> None:
    """Issue 17: the stage is broken from the failure to the end of the rollback; that span
    is reported by exactly one decision (the metrics observe it)."""
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish("failed", after=timedelta(minutes=5))
    failed_at = stage.now
    assert stage.state.broken_since == failed_at
    assert stage.tick(timedelta(minutes=1)).restored == ()
    restored = stage.finish("succeeded", after=timedelta(minutes=12))  # the rollback
    assert restored.restored == (timedelta(minutes=13),)
    assert stage.state.broken_since is None
    stage.ready(3)
    assert stage.finish(after=timedelta(minutes=1)).restored == ()  # nothing was broken


def test_rule5_a_failed_change_is_never_promoted_there_again_automatically() -> None:
    stage = Stage(snapshot(state=StageState(bad=frozenset({change(7).sha}))))
    decision = stage.ready(7)
    assert decision.start is None and stage.state.queue == ()
    assert NoticeKind.REJECTED in kinds(decision)


def test_rule5_approve_policy_waits_for_an_approver_and_holds_rollforwards() -> None:
    stage = Stage(snapshot(policy=policy(rollback=RollbackPolicy.APPROVE)))
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage.finish("failed")
    assert decision.start is None
    alert = [n for n in decision.notices if n.kind is NoticeKind.ROLLBACK_NEEDS_APPROVAL]
    assert alert and alert[0].rollback_target is not None
    assert stage.ready(3).start is None
    decision = stage(ev.RollbackApproved(id="ok", by="U9"))
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert decision.start.triggered_by == "U9"


def test_rule5_dismissing_the_rollback_lets_newer_changes_proceed() -> None:
    stage = Stage(snapshot(policy=policy(rollback=RollbackPolicy.APPROVE)))
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish("failed")
    stage.ready(3)
    decision = stage(ev.RollbackDismissed(id="no", by="U9"))
    assert decision.start is not None and decision.start.change == change(3)


def test_rule5_approving_twice_rolls_back_once() -> None:
    stage = Stage(snapshot(policy=policy(rollback=RollbackPolicy.APPROVE)))
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish("failed")
    stage(ev.RollbackApproved(id="a1", by="U9"))
    second = stage(ev.RollbackApproved(id="a2", by="U8"))
    assert second.start is None and kinds(second) == [NoticeKind.REFUSED]


def test_rule5_off_policy_only_reports_and_newer_changes_proceed() -> None:
    stage = Stage(snapshot(policy=policy(rollback=RollbackPolicy.OFF)))
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage.finish("failed")
    assert decision.start is None and NoticeKind.FAILED in kinds(decision)
    assert stage.ready(3).start is not None


def test_rule5_seed_order_rollback_of_a_runs_before_rollforward_b() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)  # A runs
    stage.ready(3)  # B queues
    decision = stage.finish("failed")  # A fails
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert [d.change for d in stage.state.queue] == [change(3)]
    decision = stage.finish()  # the rollback succeeds, then B goes
    assert decision.start is not None and decision.start.change == change(3)


def test_rule5_after_rollback_hold_adds_a_blocker_a_person_lifts() -> None:
    stage = Stage(snapshot(policy=policy(after_rollback=AfterRollback.HOLD)))
    stage.deploy_good(1)
    stage.ready(2)
    stage.ready(3)
    stage.finish("failed")
    decision = stage.finish()  # rollback succeeded
    assert decision.start is None
    hold = [b for b in stage.state.blockers if b.kind is BlockerKind.MANUAL]
    assert hold and hold[0].author == "deploybot"
    assert stage(ev.BlockerLifted(id="l", blocker_id=hold[0].id, by="U1")).start is not None


def test_rule5_with_no_good_deployment_known_there_is_nothing_to_roll_back_to() -> None:
    stage = Stage()
    stage.ready(1)
    decision = stage.finish("failed")
    assert decision.start is None and NoticeKind.NO_ROLLBACK_TARGET in kinds(decision)


def test_rule5_semaphore_history_is_the_fallback_for_last_good() -> None:
    external = deployment(1, S.SUCCEEDED, id="semaphore/1")
    stage = Stage(snapshot(external_last_good=external))
    stage.ready(2)
    decision = stage.finish("failed")
    assert decision.start is not None and decision.start.change == change(1)


def test_rule5_a_failed_rollback_is_not_rolled_back_but_blocks_the_stage() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish("failed")
    decision = stage.finish("failed")
    assert decision.start is None
    assert NoticeKind.ROLLBACK_FAILED in kinds(decision)
    assert any(b.kind is BlockerKind.MANUAL for b in stage.state.blockers)


@pytest.mark.parametrize(
    ("kind", "holds"),
    [
        (BlockerKind.WINDOW, False),
        (BlockerKind.FREEZE, False),
        (BlockerKind.ALARM, False),
        (BlockerKind.MANUAL, True),
    ],
)
def test_rule3_only_a_manual_blocker_holds_a_rollback(kind: BlockerKind, holds: bool) -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    if kind is BlockerKind.WINDOW:
        stage.with_calendar(blocker(kind, id="window"))
    else:
        stage.block(kind)
    decision = stage.finish("failed")
    rollback_started = decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert rollback_started is not holds


def test_rule3_a_person_may_roll_back_despite_a_manual_blocker() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.deploy_good(2)
    stage.block()
    decision = stage(ev.RollbackRequested(id="r", by="U1", force=True))
    assert decision.start is not None and decision.start.change == change(1)
    assert change(2).sha in stage.state.bad


def test_rule3_a_held_rollback_still_goes_before_queued_rollforwards() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage.ready(3)
    stage.block(id="hold")
    stage.finish("failed")
    assert [d.kind for d in stage.state.queue] == [
        DeploymentKind.ROLLBACK,
        DeploymentKind.ROLLFORWARD,
    ]
    decision = stage(ev.BlockerLifted(id="l", blocker_id="hold", by="U1"))
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK


def test_manual_rollback_is_refused_while_a_deployment_runs() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage(ev.RollbackRequested(id="r", by="U1"))
    assert decision.start is None and kinds(decision) == [NoticeKind.REFUSED]
    assert "running" in decision.notices[0].text


def test_manual_rollback_of_a_baking_change_ends_its_bake() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish()
    decision = stage(ev.RollbackRequested(id="r", by="U1", reason="errors up"))
    assert decision.start is not None and decision.start.change == change(1)
    assert [d.state for d in decision.finished] == [S.FAILED]


def test_manual_rollback_to_a_named_sha() -> None:
    stage = Stage()
    for n in (1, 2, 3):
        stage.deploy_good(n)
    decision = stage(ev.RollbackRequested(id="r", by="U1", to_sha=change(1).sha[:7]))
    assert decision.start is not None and decision.start.change == change(1)


@pytest.mark.parametrize("to_sha", ["deadbee", None])
def test_manual_rollback_without_a_good_target_is_refused(to_sha: str | None) -> None:
    stage = Stage()
    stage.deploy_good(1)
    decision = stage(ev.RollbackRequested(id="r", by="U1", to_sha=to_sha))
    assert decision.start is None and kinds(decision) == [NoticeKind.REFUSED]


def test_rule5_an_alarm_while_baking_fails_the_change_and_rolls_back() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage.finish()
    decision = stage(ev.AlarmFiring(id="a", alarm="HighErrorRate", reason="5xx > 2%"))
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert change(2).sha in stage.state.bad
    assert decision.onward is None


def test_rule5_an_alarm_while_running_stops_the_deploy_pipeline() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage(ev.AlarmFiring(id="a", alarm="HighErrorRate"))
    assert [d.change for d in decision.stop] == [change(2)]


def test_rule5_an_alarm_after_the_bake_blocks_and_offers_a_rollback() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.deploy_good(2)
    decision = stage(ev.AlarmFiring(id="a", alarm="HighErrorRate"))
    assert decision.start is None
    offer = [n for n in decision.notices if n.kind is NoticeKind.ALARM_AFTER_BAKE]
    assert offer and offer[0].rollback_target is not None
    assert offer[0].rollback_target.change == change(1)
    assert stage.ready(3).start is None
    decision = stage(ev.AlarmResolved(id="r", alarm="HighErrorRate"))
    assert decision.start is not None and decision.start.change == change(3)


def test_a_repeated_firing_alert_acts_once() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    stage(ev.AlarmFiring(id="a1", alarm="HighErrorRate"))
    again = stage(ev.AlarmFiring(id="a2", alarm="HighErrorRate"))
    assert again.start is None and again.finished == () and not again.stop
    [rollback] = again.state.queue  # waiting for the stopped pipeline, once
    assert rollback.kind is DeploymentKind.ROLLBACK and len(again.state.stopping) == 1


def test_a_rollback_waits_until_the_pipeline_deploybot_stopped_is_done() -> None:
    """Issue 12 bot item 5: Semaphore keeps a stopped pipeline `stopping` (and lets its queue
    move on), so nothing starts on the stage until the stopped pipeline's end is seen."""
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    failed = stage(ev.AlarmFiring(id="a1", alarm="HighErrorRate"))
    [stopped] = failed.stop
    assert failed.start is None and failed.state.stopping == (stopped,)
    assert [d.kind for d in failed.state.queue] == [DeploymentKind.ROLLBACK]
    done = stage(ev.DeploymentFinished(id="d", deployment_id=stopped.id, outcome="cancelled"))
    assert done.state.stopping == ()
    assert done.start is not None and done.start.kind is DeploymentKind.ROLLBACK


T_ALARM = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_a_resolved_that_arrives_before_its_firing_leaves_the_stage_unblocked() -> None:
    """Two replicas, or an inbox retry, can deliver an alert's notifications out of order."""
    stage = Stage()
    stage.deploy_good(1)
    stage(ev.AlarmResolved(id="r", alarm="HighErrorRate", started=T_ALARM))
    late = stage(ev.AlarmFiring(id="f", alarm="HighErrorRate", started=T_ALARM))
    assert not stage.state.blockers and late.start is None
    assert not [n for n in late.notices if n.kind is NoticeKind.ALARM_AFTER_BAKE]
    assert stage.ready(2).start is not None  # the next change deploys


def test_a_late_resolved_of_an_older_firing_does_not_lift_the_newer_one() -> None:
    stage = Stage()
    stage.deploy_good(1)
    later = T_ALARM + timedelta(hours=1)
    stage(ev.AlarmFiring(id="f2", alarm="HighErrorRate", started=later))
    stage(ev.AlarmResolved(id="r1", alarm="HighErrorRate", started=T_ALARM))
    assert [b.id for b in stage.state.blockers] == ["alarm:HighErrorRate"]
    stage(ev.AlarmResolved(id="r2", alarm="HighErrorRate", started=later))
    assert not stage.state.blockers


def test_an_alarm_that_fires_again_after_resolving_blocks_again() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage(ev.AlarmFiring(id="f1", alarm="HighErrorRate", started=T_ALARM))
    stage(ev.AlarmResolved(id="r1", alarm="HighErrorRate", started=T_ALARM))
    stage(ev.AlarmFiring(id="f2", alarm="HighErrorRate", started=T_ALARM + timedelta(hours=1)))
    assert [b.id for b in stage.state.blockers] == ["alarm:HighErrorRate"]


def test_a_late_alarm_that_began_during_the_bake_fails_the_change_and_rolls_back() -> None:
    """Alertmanager's group_wait, a retry or a restart can deliver an alarm after the bake it
    began in has ended: by when it began, the change failed."""
    stage = Stage()
    stage.deploy_good(1)
    began = stage.now
    stage.deploy_good(2)  # deployed and baked 30 minutes
    late = stage(
        ev.AlarmFiring(id="a", alarm="HighErrorRate", started=began + timedelta(minutes=20)),
        after=timedelta(minutes=5),
    )
    assert late.start is not None and late.start.kind is DeploymentKind.ROLLBACK
    assert late.start.change == change(1)
    assert change(2).sha in stage.state.bad
    assert NoticeKind.FAILED in kinds(late)


def test_an_alarm_that_began_after_the_bake_offers_a_rollback_and_does_not_start_one() -> None:
    stage = Stage()
    stage.deploy_good(1)
    stage.deploy_good(2)
    decision = stage(
        ev.AlarmFiring(id="a", alarm="HighErrorRate", started=stage.now + timedelta(minutes=1)),
        after=timedelta(minutes=5),
    )
    assert decision.start is None and change(2).sha not in stage.state.bad
    assert NoticeKind.ALARM_AFTER_BAKE in kinds(decision)


def test_a_rollforward_stopped_in_semaphore_holds_the_stage_until_a_person_looks() -> None:
    """Stopped by a person in Semaphore's UI or by its queue strategy: the stage may be half
    deployed, so the next change must not start on top of it."""
    stage = Stage()
    stage.deploy_good(1)
    stage.ready(2)
    decision = stage.finish("cancelled")
    assert [d.state for d in decision.finished] == [S.CANCELLED]
    [held] = stage.state.blockers
    assert held.id.startswith("stopped:") and "half deployed" in held.reason
    assert stage.ready(3).start is None  # waits
    lifted = stage(ev.BlockerLifted(id="l", blocker_id=held.id, by="U1"))
    assert lifted.start is not None and lifted.start.change == change(3)


def test_an_emergency_during_a_bake_queues_the_baking_change_again_so_it_goes_onward() -> None:
    stage = Stage(snapshot(policy=policy(stage="beta", is_last=False)))
    stage.ready(1)
    stage.finish()  # change 1 bakes on beta
    emergency = stage(
        ev.EmergencyRequested(
            id="em", change=change(9), source_pipeline_id="ci-9", by="U1", reason="fix"
        )
    )
    assert emergency.start is not None and emergency.start.kind is DeploymentKind.EMERGENCY
    assert [(d.kind, d.change) for d in stage.state.queue] == [
        (DeploymentKind.ROLLFORWARD, change(1))
    ]
    assert any("again after the emergency" in n.text for n in emergency.notices)
    after = stage.finish()  # the emergency succeeded: change 1 deploys again
    assert after.start is not None and after.start.change == change(1)
    stage.finish()
    onward = stage.tick(after=timedelta(minutes=30))
    assert onward.onward is not None and onward.onward.change == change(1)


def test_rule7_an_emergency_bypasses_every_blocker_and_never_goes_onward() -> None:
    stage = Stage(snapshot(policy=policy(stage="beta", bake=timedelta(0))))
    stage.block()
    stage.with_calendar(blocker(BlockerKind.WINDOW, id="window"))
    event = ev.EmergencyRequested(
        id="em", change=change(4), source_pipeline_id="ci-4", by="U1", reason="fix"
    )
    decision = stage(event)
    assert decision.start is not None and decision.start.kind is DeploymentKind.EMERGENCY
    assert stage.finish().onward is None


def test_rule7_an_emergency_never_stops_a_running_deployment() -> None:
    stage = Stage()
    stage.ready(1)
    event = ev.EmergencyRequested(
        id="em", change=change(4), source_pipeline_id="ci-4", by="U1", reason="fix"
    )
    assert stage(event).start is None
    decision = stage.finish()
    assert decision.start is not None and decision.start.kind is DeploymentKind.EMERGENCY
    assert [d.state for d in decision.finished] == [S.SUPERSEDED]  # the bake it cut short


def test_rule8_a_duplicate_finish_changes_nothing() -> None:
    stage = Stage()
    stage.ready(1)
    current = stage.state.current
    assert current is not None
    event = ev.DeploymentFinished(id="f", deployment_id=current.id, outcome="succeeded")
    stage(event)
    before = stage.state
    again = stage(event)
    assert again.state.model_copy(update={"version": before.version}) == before
    assert again.notices == () and again.start is None


def test_rule8_the_same_change_arriving_twice_is_queued_once() -> None:
    stage = Stage()
    stage.block()
    stage.ready(1)
    stage(ev.ChangeReady(id="other-id", change=change(1)))
    assert len(stage.state.queue) == 1


def test_enforce_deactivates_the_target_while_blocked_and_activates_it_to_deploy() -> None:
    stage = Stage(snapshot(policy=policy(enforce=True)))
    assert stage.block(id="b").target_active is False
    assert stage.ready(1).target_active is None  # still blocked: stays inactive
    decision = stage(ev.BlockerLifted(id="l", blocker_id="b", by="U1"))
    assert decision.target_active is True and decision.start is not None


def test_enforce_activates_the_target_for_an_emergency_that_bypasses_a_blocker() -> None:
    stage = Stage(snapshot(policy=policy(enforce=True)))
    stage.block()
    event = ev.EmergencyRequested(
        id="em", change=change(4), source_pipeline_id="ci-4", by="U1", reason="fix"
    )
    decision = stage(event)
    assert decision.start is not None and decision.target_active is True
    assert stage.finish().target_active is False  # blocked again once it is done


def test_without_enforce_the_target_is_left_alone() -> None:
    stage = Stage()
    assert stage.block().target_active is None
