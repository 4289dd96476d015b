"""Rule 10: a request made from what a person was shown (a button, a modal) acts only on what
it was made for; when the stage moved on since, it changes nothing and says what changed.
Through the pure decide(), one stage driven by events."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, change, policy, snapshot

from bot.core import events as ev
from bot.core.decision import Decision, NoticeKind, StageSnapshot
from bot.core.events import Shown
from bot.core.model import (
    Blocker,
    BlockerKind,
    Deployment,
    DeploymentKind,
    DeploymentState,
    RollbackPolicy,
    StageState,
)
from bot.core.rules import decide


class Stage:
    def __init__(self, snap: StageSnapshot | None = None) -> None:
        self.snap = snap or snapshot(policy=policy(rollback=RollbackPolicy.APPROVE))
        self.now = T0
        self._n = 0

    def __call__(self, event: ev.Event, after: timedelta = timedelta(seconds=1)) -> Decision:
        self.now += after
        decision = decide(self.snap, event, self.now)
        self.snap = self.snap.model_copy(update={"state": decision.state})
        return decision

    def eid(self) -> str:
        self._n += 1
        return f"e{self._n}"

    @property
    def state(self) -> StageState:
        return self.snap.state

    def ready(self, n: int) -> Decision:
        return self(ev.ChangeReady(id=self.eid(), change=change(n)))

    def finish(self, outcome: str = "succeeded") -> Decision:
        assert self.state.current is not None
        current = self.state.current.id
        return self(ev.DeploymentFinished(id=self.eid(), deployment_id=current, outcome=outcome))  # type: ignore[arg-type]

    def deploy_good(self, n: int) -> Deployment:
        self.ready(n)
        self.finish()
        self(ev.Tick(id=self.eid()), after=self.snap.policy.bake)
        assert self.state.good[0].change == change(n)
        return self.state.good[0]

    def fail(self, n: int) -> Deployment:
        """Change n fails here: its pending rollback waits for approval."""
        self.ready(n)
        decision = self.finish("failed")
        [alert] = [n for n in decision.notices if n.kind is NoticeKind.ROLLBACK_NEEDS_APPROVAL]
        assert alert.deployment is not None
        return alert.deployment

    def alarm(self) -> tuple[Deployment, Blocker, Deployment | None]:
        """An alarm after the bake: the deployment, the alarm blocker and the target shown."""
        decision = self(ev.AlarmFiring(id=self.eid(), alarm="HighErrorRate"))
        [alert] = [n for n in decision.notices if n.kind is NoticeKind.ALARM_AFTER_BAKE]
        assert alert.deployment is not None
        return alert.deployment, alert.blockers[0], alert.rollback_target


def refusals(decision: Decision) -> list[str]:
    return [n.text for n in decision.notices if n.kind is NoticeKind.REFUSED]


def rollbacks(state: StageState) -> list[Deployment]:
    live = [*state.queue, *([state.current] if state.current else [])]
    return [d for d in live if d.kind is DeploymentKind.ROLLBACK]


def alarm_shown(deployed: Deployment, alarm: Blocker, target: Deployment | None) -> Shown:
    return Shown(
        deployment_id=deployed.id,
        to_sha=target.change.sha if target else None,
        blocker_id=alarm.id,
        blocker_since=alarm.created_at,
    )


# -- an alarm after the bake ------------------------------------------------------------------


def test_approve_of_an_alarm_alert_rolls_back_while_it_still_fits() -> None:
    stage = Stage()
    stage.deploy_good(1)
    shown = alarm_shown(*_alarmed(stage, 2))
    decision = stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown))
    assert refusals(decision) == []
    assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    assert decision.start.change == change(1) and decision.start.force is False
    assert change(2).sha in stage.state.bad


def _alarmed(stage: Stage, n: int) -> tuple[Deployment, Blocker, Deployment | None]:
    stage.deploy_good(n)
    return stage.alarm()


def test_approve_of_an_alarm_alert_after_it_resolved_and_a_newer_change_baked_does_nothing() -> (
    None
):
    stage = Stage()
    stage.deploy_good(1)
    shown = alarm_shown(*_alarmed(stage, 2))
    stage(ev.AlarmResolved(id=stage.eid(), alarm="HighErrorRate"))
    stage.deploy_good(3)
    before = stage.state
    decision = stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown))
    [why] = refusals(decision)
    assert "moved on" in why and change(3).sha[:7] in why
    assert decision.start is None and rollbacks(stage.state) == []
    assert stage.state.model_copy(update={"version": before.version}) == before


def test_approve_of_an_alarm_alert_after_the_alarm_resolved_does_nothing() -> None:
    stage = Stage()
    stage.deploy_good(1)
    shown = alarm_shown(*_alarmed(stage, 2))
    stage(ev.AlarmResolved(id=stage.eid(), alarm="HighErrorRate"))
    decision = stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown))
    [why] = refusals(decision)
    assert "HighErrorRate" in why and "resolved" in why
    assert rollbacks(stage.state) == [] and change(2).sha not in stage.state.bad


def test_approve_of_an_earlier_firing_of_the_same_alarm_does_nothing() -> None:
    stage = Stage()
    stage.deploy_good(1)
    deployed, alarm, target = _alarmed(stage, 2)
    stage(ev.AlarmResolved(id=stage.eid(), alarm="HighErrorRate"))
    stage.alarm()  # fires again: the same blocker id, a later creation time
    shown = alarm_shown(deployed, alarm, target)
    [why] = refusals(stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown)))
    assert "earlier firing" in why and rollbacks(stage.state) == []


def test_dismiss_of_a_current_alarm_alert_is_recorded_and_changes_nothing() -> None:
    stage = Stage()
    stage.deploy_good(1)
    shown = alarm_shown(*_alarmed(stage, 2))
    decision = stage(ev.RollbackDismissed(id=stage.eid(), by="U9", shown=shown))
    assert [n.kind for n in decision.notices] == [NoticeKind.ROLLBACK_DISMISSED]
    assert rollbacks(stage.state) == []


# -- a failure whose rollback waits for approval ----------------------------------------------


def test_an_old_alerts_approve_never_approves_a_newer_pending_rollback() -> None:
    stage = Stage()
    stage.deploy_good(1)
    first = stage.fail(2)
    stage(ev.RollbackDismissed(id=stage.eid(), by="U9"))
    stage.fail(3)
    pending = stage.state.pending_rollback
    old = Shown(deployment_id=first.id, to_sha=change(1).sha)
    decision = stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=old))
    [why] = refusals(decision)
    assert change(3).sha[:7] in why
    assert stage.state.pending_rollback == pending and rollbacks(stage.state) == []
    dismissed = stage(ev.RollbackDismissed(id=stage.eid(), by="U9", shown=old))
    assert refusals(dismissed) and stage.state.pending_rollback == pending


def test_approve_of_the_pending_rollback_queues_it_without_force() -> None:
    stage = Stage()
    stage.deploy_good(1)
    failed = stage.fail(2)
    stage(ev.BlockerAdded(id=stage.eid(), blocker=_manual("hold")))
    shown = Shown(deployment_id=failed.id, to_sha=change(1).sha)
    decision = stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown))
    assert refusals(decision) == [] and decision.start is None  # the manual blocker holds it
    [rollback] = rollbacks(stage.state)
    assert (rollback.force, rollback.change) == (False, change(1))
    lifted = stage(ev.BlockerLifted(id=stage.eid(), blocker_id="hold", by="U1"))
    assert lifted.start is not None and lifted.start.kind is DeploymentKind.ROLLBACK


def test_a_second_approve_says_the_rollback_is_already_queued() -> None:
    stage = Stage()
    stage.deploy_good(1)
    failed = stage.fail(2)
    stage(ev.BlockerAdded(id=stage.eid(), blocker=_manual("hold")))
    shown = Shown(deployment_id=failed.id)
    stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown))
    [why] = refusals(stage(ev.RollbackApproved(id=stage.eid(), by="U8", shown=shown)))
    assert "already queued" in why and len(rollbacks(stage.state)) == 1


def test_a_shown_target_other_than_the_pending_ones_does_nothing() -> None:
    stage = Stage()
    stage.deploy_good(1)
    failed = stage.fail(2)
    shown = Shown(deployment_id=failed.id, to_sha=change(7).sha)
    assert refusals(stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown)))
    assert stage.state.pending_rollback is not None and rollbacks(stage.state) == []


def _manual(blocker_id: str, at: timedelta = timedelta(0)) -> Blocker:
    return Blocker(
        id=blocker_id, kind=BlockerKind.MANUAL, reason="hands off", author="U1", created_at=T0 + at
    )


# -- Unblock ----------------------------------------------------------------------------------


def test_unblock_of_an_earlier_firing_of_an_alarm_leaves_the_new_one() -> None:
    stage = Stage()
    stage.deploy_good(1)
    _, first, _ = _alarmed(stage, 2)
    stage(ev.AlarmResolved(id=stage.eid(), alarm="HighErrorRate"))
    stage.alarm()
    shown = Shown(blocker_id=first.id, blocker_since=first.created_at)
    decision = stage(ev.BlockerLifted(id=stage.eid(), blocker_id=first.id, by="U1", shown=shown))
    [why] = refusals(decision)
    assert "blocked again" in why
    assert [b.id for b in stage.state.blockers] == [first.id]


def test_unblock_of_the_blocker_shown_lifts_it() -> None:
    stage = Stage()
    stage(ev.BlockerAdded(id=stage.eid(), blocker=_manual("hold")))
    shown = Shown(blocker_id="hold", blocker_since=T0)
    decision = stage(ev.BlockerLifted(id=stage.eid(), blocker_id="hold", by="U1", shown=shown))
    assert refusals(decision) == [] and stage.state.blockers == ()


# -- the manual rollback's modal --------------------------------------------------------------


def test_a_rollback_modal_submitted_after_a_newer_change_deployed_does_nothing() -> None:
    stage = Stage(snapshot())
    stage.deploy_good(1)
    live = stage.deploy_good(2)
    stage.deploy_good(3)
    shown = Shown(deployment_id=live.id, past=())
    event = ev.RollbackRequested(id=stage.eid(), by="U9", force=True, shown=shown)
    [why] = refusals(stage(event))
    assert "moved on" in why and change(3).sha[:7] in why
    assert rollbacks(stage.state) == [] and stage.state.bad == frozenset()


def test_a_rollback_modal_goes_past_only_the_manual_blockers_it_showed() -> None:
    stage = Stage(snapshot())
    stage.deploy_good(1)
    live = stage.deploy_good(2)
    stage(ev.BlockerAdded(id=stage.eid(), blocker=_manual("seen")))
    shown = Shown(deployment_id=live.id, past=("seen",))
    stage(ev.BlockerAdded(id=stage.eid(), blocker=_manual("new", timedelta(minutes=1))))
    event = ev.RollbackRequested(id=stage.eid(), by="U9", force=True, shown=shown)
    [why] = refusals(stage(event))
    assert "blocked since" in why and rollbacks(stage.state) == []
    stage(ev.BlockerLifted(id=stage.eid(), blocker_id="new", by="U1"))
    again = ev.RollbackRequested(id=stage.eid(), by="U9", force=True, shown=shown)
    decision = stage(again)
    assert decision.start is not None and decision.start.change == change(1)


def test_a_rollback_to_what_runs_now_says_so() -> None:
    stage = Stage(snapshot())
    stage.deploy_good(1)
    stage.deploy_good(2)
    event = ev.RollbackRequested(id=stage.eid(), by="U9", to_sha=change(2).sha[:7])
    [why] = refusals(stage(event))
    assert why == f"{change(2).sha[:7]} is what prod runs now"


# -- emergencies (issue 13 item 20) -----------------------------------------------------------


def test_a_second_emergency_of_the_same_change_is_refused_and_says_it_is_queued() -> None:
    stage = Stage(snapshot())
    stage.ready(1)  # running: the emergency waits for it
    request = {"change": change(5), "source_pipeline_id": "ci-5", "by": "U7", "reason": "down"}
    first = stage(ev.EmergencyRequested(id=stage.eid(), **request))  # type: ignore[arg-type]
    assert [n.kind for n in first.notices] == [NoticeKind.EMERGENCY_QUEUED]
    second = stage(ev.EmergencyRequested(id=stage.eid(), **request))  # type: ignore[arg-type]
    assert refusals(second) == [
        f"An emergency deployment of {change(5).sha[:7]} to prod is already queued: down"
    ]
    emergencies = [d for d in stage.state.queue if d.kind is DeploymentKind.EMERGENCY]
    assert len(emergencies) == 1
    stage.finish()
    third = stage(ev.EmergencyRequested(id=stage.eid(), **request))  # type: ignore[arg-type]
    assert refusals(third) == [
        f"An emergency deployment of {change(5).sha[:7]} to prod is already running: down"
    ]
    assert stage.state.current is not None
    assert stage.state.current.state is DeploymentState.RUNNING


def test_approve_after_an_emergency_deployed_past_the_failure_does_nothing_but_dismiss_works() -> (
    None
):
    stage = Stage()
    stage.deploy_good(1)
    failed = stage.fail(2)
    request = {"change": change(5), "source_pipeline_id": "ci-5", "by": "U7", "reason": "fix"}
    stage(ev.EmergencyRequested(id=stage.eid(), **request))  # type: ignore[arg-type]
    shown = Shown(deployment_id=failed.id, to_sha=change(1).sha)
    [running] = refusals(stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown)))
    assert "is running" in running
    stage.finish()  # the emergency's fix is live
    [why] = refusals(stage(ev.RollbackApproved(id=stage.eid(), by="U9", shown=shown)))
    assert "moved on" in why and change(5).sha[:7] in why and rollbacks(stage.state) == []
    dismissed = stage(ev.RollbackDismissed(id=stage.eid(), by="U9", shown=shown))
    assert [n.kind for n in dismissed.notices] == [NoticeKind.ROLLBACK_DISMISSED]
    assert stage.state.pending_rollback is None
