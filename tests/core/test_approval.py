"""Approval gates (issue 16 items 4-6), through the pure decide()."""

from __future__ import annotations

from datetime import timedelta

from builders import blocker, policy, snapshot

from bot.core import events as ev
from bot.core.decision import NoticeKind
from bot.core.model import ApprovalPolicy, DeploymentKind, DeploymentState, StageState
from tests.core.test_rules import Stage

GATE = ApprovalPolicy(required=2, expires=timedelta(hours=24))


def gated(state: StageState | None = None) -> Stage:
    return Stage(snapshot(state, policy=policy(approval=GATE)))


def kinds(stage: Stage) -> list[NoticeKind]:
    return [n.kind for n in stage.decisions[-1].notices]


def approve(stage: Stage, by: str) -> None:
    head = stage.state.queue[0]
    stage(ev.ApprovalGiven(id=stage.eid(), deployment_id=head.id, by=by))


def test_a_roll_forward_waits_for_two_distinct_approvals_then_starts() -> None:
    stage = gated()
    decision = stage.ready(1)
    assert decision.start is None
    assert kinds(stage) == [NoticeKind.QUEUED, NoticeKind.AWAITING_APPROVAL]
    [waiting] = stage.state.queue
    assert waiting.approval_until == stage.now + timedelta(hours=24)
    approve(stage, "U0BOB")
    assert stage.decisions[-1].start is None and kinds(stage) == [NoticeKind.APPROVED]
    approve(stage, "U0BOB")  # the same person again: refused, and nothing changes
    assert kinds(stage) == [NoticeKind.REFUSED]
    assert (
        "approved" in stage.decisions[-1].notices[0].text
        and "1 more" in stage.decisions[-1].notices[0].text
    )
    assert stage.state.queue[0].approvals == ("U0BOB",)
    approve(stage, "U0ERIN")
    started = stage.decisions[-1].start
    assert started is not None and started.approvals == ("U0BOB", "U0ERIN")


def test_approval_is_given_while_blocked_and_the_blocker_still_holds() -> None:
    stage = gated(StageState(blockers=(blocker(),)))
    stage.ready(1)
    assert NoticeKind.AWAITING_APPROVAL in kinds(stage)  # asked for while blocked
    approve(stage, "U0BOB")
    approve(stage, "U0ERIN")
    assert stage.decisions[-1].start is None  # approved, still blocked
    stage(ev.BlockerLifted(id=stage.eid(), blocker_id="b-manual", by="U0BLOCK"))
    assert stage.decisions[-1].start is not None


def test_a_newer_change_starts_its_own_approval_nothing_carries_over() -> None:
    stage = gated()
    stage.ready(1)
    approve(stage, "U0BOB")
    stage.ready(2)
    [newer] = stage.state.queue
    assert newer.change.sha.startswith("02") and newer.approvals == ()
    assert NoticeKind.SUPERSEDED in kinds(stage) and NoticeKind.AWAITING_APPROVAL in kinds(stage)
    old = stage.decisions[-2].state.queue[0].id
    stage(ev.ApprovalGiven(id=stage.eid(), deployment_id=old, by="U0ERIN"))  # a stale button
    assert kinds(stage) == [NoticeKind.REFUSED]
    assert "no longer waiting" in stage.decisions[-1].notices[0].text
    assert stage.state.queue[0].approvals == ()


def test_reject_ends_the_journey_here_and_a_newer_change_still_flows() -> None:
    stage = gated()
    stage.ready(1)
    head = stage.state.queue[0]
    stage(ev.ApprovalRejected(id=stage.eid(), deployment_id=head.id, by="U0BOB", reason="no tests"))
    assert stage.state.queue == () and kinds(stage) == [NoticeKind.APPROVAL_REJECTED]
    [done] = stage.decisions[-1].finished
    assert done.state is DeploymentState.CANCELLED and done.outcome == "rejected by U0BOB: no tests"
    stage.ready(2)
    assert NoticeKind.AWAITING_APPROVAL in kinds(stage)


def test_a_wait_past_expires_ends_and_the_channel_is_told() -> None:
    stage = gated()
    stage.ready(1)
    approve(stage, "U0BOB")
    stage(ev.Tick(id=stage.eid()), after=timedelta(hours=23, minutes=59))
    assert stage.state.queue
    stage(ev.Tick(id=stage.eid()), after=timedelta(minutes=1))
    assert stage.state.queue == () and kinds(stage) == [NoticeKind.APPROVAL_EXPIRED]
    assert "1 of 2 approvals in 1d" in stage.decisions[-1].notices[0].text


def test_rollbacks_and_emergencies_never_wait_for_approval() -> None:
    stage = gated()
    stage.ready(1)
    approve(stage, "U0BOB")
    approve(stage, "U0ERIN")
    stage.finish()  # deployed, baking
    stage(
        ev.BakeFinished(id=stage.eid(), deployment_id=stage.state.current.id),
        after=timedelta(hours=1),
    )  # type: ignore[union-attr]
    stage.ready(2)
    approve(stage, "U0BOB")
    approve(stage, "U0ERIN")
    stage.finish(outcome="failed")  # auto rollback to 1: no approval asked
    rollback = stage.decisions[-1].start
    assert rollback is not None and rollback.kind is DeploymentKind.ROLLBACK
