"""The deployment rules of DESIGN.md section 4, as one pure function:

    decide(snapshot, event, now) -> Decision

Every event first gets the same housekeeping (expired blockers go, a finished bake ends), then
its own handler, then a deployment that waited too long for its pipeline ends (after the
handler, so news of the pipeline wins), then the stage starts whatever may start now.
Handlers change a `Draft`, which collects the new state, the finished deployments and the
notices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core import stale
from bot.core.decision import Decision, NoticeKind, Onward, Recall, StageSnapshot
from bot.core.draft import SEEN_LIMIT, Draft, describe, sha7
from bot.core.model import (
    CLAIMED_LIMIT,
    AfterRollback,
    AlarmEpisode,
    BlockerKind,
    Change,
    Deployment,
    DeploymentKind,
    DeploymentState,
)
from bot.core.starts import TARGET_INACTIVE, end_start_if_overdue, not_started


def decide(snapshot: StageSnapshot, event: ev.Event, now: datetime) -> Decision:
    draft = Draft(snapshot, now)
    draft.expire_blockers()
    draft.forget_stale_stops()
    draft.end_bake_if_due()
    _HANDLERS[type(event)](draft, event)
    end_start_if_overdue(draft)
    draft.note_holds()
    draft.note_approval()
    draft.start_next()
    return draft.decision()


# -- handlers -------------------------------------------------------------------------------


def _change_ready(draft: Draft, event: ev.ChangeReady) -> None:
    change, state, policy = event.change, draft.state, draft.policy
    if change.sha in state.seen:
        return
    draft.set(seen=(*state.seen, change.sha)[-SEEN_LIMIT:])
    source = event.previous_pipeline_id if policy.hangs_off_previous else change.ci_pipeline_id
    deployment = draft.new_deployment(DeploymentKind.ROLLFORWARD, change, source)
    if change.sha in state.bad:
        rejected = draft.finish(deployment, DeploymentState.CANCELLED, "failed here before")
        draft.tell(
            NoticeKind.REJECTED,
            f"{sha7(rejected)} failed on {policy.stage} (or on a stage before it, after it went "
            "onward) before; not deployed again automatically",
            deployment=rejected,
        )
        return
    external = draft.snap.external_last_good
    if not state.good and state.current is None and external and external.change.sha == change.sha:
        # Nothing stored here (a new store, or one that lost everything), and Semaphore's
        # deployment history says this change is live: not deployed again, but sent on.
        skipped = draft.finish(deployment, DeploymentState.SUPERSEDED, "already live here")
        draft.tell(
            NoticeKind.SUPERSEDED,
            f"{sha7(skipped)} is live on {policy.stage} already (Semaphore's deployment history "
            "says so); not deployed again",
            deployment=skipped,
        )
        if not policy.is_last and external.deploy_pipeline_id:
            draft.onward = Onward(change=change, previous_pipeline_id=external.deploy_pipeline_id)
        return
    newer = [d for d in _rollforwards(draft) if d.change.created_at > change.created_at]
    if policy.supersede and newer:
        superseded = draft.finish(
            deployment, DeploymentState.SUPERSEDED, f"newer change {sha7(newer[0])}"
        )
        draft.tell(
            NoticeKind.SUPERSEDED,
            f"{sha7(superseded)} superseded by {sha7(newer[0])}",
            deployment=superseded,
        )
        return
    live = [d for d in _live(draft) if d.change.created_at > change.created_at]
    if live:  # supersede: false still never deploys a change older than the live one
        skipped = draft.finish(
            deployment, DeploymentState.SUPERSEDED, f"older than {sha7(live[0])}, live here"
        )
        draft.tell(
            NoticeKind.SUPERSEDED,
            f"{sha7(skipped)} skipped: older than {sha7(live[0])}, live on {policy.stage}",
            deployment=skipped,
        )
        return
    if policy.supersede:
        _supersede_queued(draft, deployment)
    draft.enqueue(deployment)
    draft.tell(
        NoticeKind.QUEUED, f"{sha7(deployment)} queued for {policy.stage}", deployment=deployment
    )


def _rollforwards(draft: Draft) -> list[Deployment]:
    """Roll-forwards a newly ready change must be newer than: queued, current, deployed."""
    current, good = draft.state.current, draft.state.good
    queued = [d for d in draft.state.queue if d.kind is DeploymentKind.ROLLFORWARD]
    if current is not None and current.kind is DeploymentKind.ROLLFORWARD:
        queued.append(current)
    return queued + list(good[:1])


def _live(draft: Draft) -> list[Deployment]:
    """The roll-forward running or baking on the stage, and the last one deployed there."""
    current, good = draft.state.current, draft.state.good
    running = (
        [current] if current is not None and current.kind is DeploymentKind.ROLLFORWARD else []
    )
    return running + list(good[:1])


def _supersede_queued(draft: Draft, newest: Deployment) -> None:
    older = [d for d in draft.state.queue if d.kind is DeploymentKind.ROLLFORWARD]
    if not older:
        return
    draft.set(queue=tuple(d for d in draft.state.queue if d not in older))
    for deployment in older:
        done = draft.finish(deployment, DeploymentState.SUPERSEDED, f"newer change {sha7(newest)}")
        draft.tell(
            NoticeKind.SUPERSEDED, f"{sha7(done)} superseded by {sha7(newest)}", deployment=done
        )


def _deployment_started(draft: Draft, event: ev.DeploymentStarted) -> None:
    stopping = draft.state.stopping
    if any(d.id == event.deployment_id and not d.deploy_pipeline_id for d in stopping):
        # The pipeline of a deployment deploybot stopped before it knew it: remembered, so
        # its end releases the stage.
        known = {"deploy_pipeline_id": event.pipeline_id}
        draft.set(
            stopping=tuple(
                d.model_copy(update=known) if d.id == event.deployment_id else d for d in stopping
            )
        )
        _claim(draft, event.pipeline_id)
        return
    current = draft.state.current
    if current is None or current.id != event.deployment_id or current.deploy_pipeline_id:
        return
    draft.set(current=current.model_copy(update={"deploy_pipeline_id": event.pipeline_id}))
    _claim(draft, event.pipeline_id)


def _claim(draft: Draft, pipeline_id: str) -> None:
    claimed = [p for p in draft.state.claimed if p != pipeline_id] + [pipeline_id]
    draft.set(claimed=tuple(claimed[-CLAIMED_LIMIT:]))


def _deployment_not_started(draft: Draft, event: ev.DeploymentNotStarted) -> None:
    current = draft.state.current
    if (
        current is None
        or current.id != event.deployment_id
        or current.state is not DeploymentState.RUNNING
        or current.deploy_pipeline_id  # it did start: the pipeline's news decides
    ):
        return
    not_started(
        draft,
        current,
        event.reason,
        event.triggered_at,
        event.target_inactive,
        event.promotion_missing,
    )


def _deployment_finished(draft: Draft, event: ev.DeploymentFinished) -> None:
    if any(d.id == event.deployment_id for d in draft.state.stopping):
        # The pipeline deploybot stopped is done: the stage may start the next deployment.
        left = tuple(d for d in draft.state.stopping if d.id != event.deployment_id)
        draft.set(stopping=left)
        return
    current = draft.state.current
    if (
        current is None
        or current.id != event.deployment_id
        or current.state is not DeploymentState.RUNNING
    ):
        return
    if event.outcome == "failed" or (
        event.outcome == "cancelled" and current.kind is DeploymentKind.ROLLBACK
    ):
        # A rollback is never cancelled: one stopped from outside counts as failed, so the
        # stage is held until a person looks at it.
        why = event.detail or f"the deploy pipeline {event.outcome}"
        draft.fail(current, why, pipeline_done=True)
    elif event.outcome == "cancelled":
        # Stopped in Semaphore by a person or by its queue strategy (deploybot's own stops
        # finish the deployment first): the stage may be half deployed, so it is held.
        done = draft.finish(
            current, DeploymentState.CANCELLED, event.detail or "the deploy pipeline was stopped"
        )
        draft.set(current=None)
        draft.tell(
            NoticeKind.CANCELLED, f"{describe(done)} was cancelled: {done.outcome}", deployment=done
        )
        draft.hold(
            f"stopped:{done.id}",
            f"{describe(done)} was stopped in Semaphore ({done.outcome}); "
            f"{draft.policy.stage} may be half deployed",
            NoticeKind.BLOCKER_ADDED,
            f"Blocked: {describe(done)} was stopped in Semaphore and {draft.policy.stage} may be "
            "half deployed. Check it, then lift this blocker to let the next change deploy",
            deployment=done,
        )
    else:
        _succeeded(draft, current)


def _succeeded(draft: Draft, current: Deployment) -> None:
    policy = draft.policy
    if current.kind is not DeploymentKind.ROLLFORWARD:
        done = draft.finish(current, DeploymentState.SUCCEEDED, "deployed")
        draft.set(current=None)
        draft.tell(NoticeKind.SUCCEEDED, f"{describe(done)} succeeded", deployment=done)
        if done.kind is DeploymentKind.ROLLBACK and policy.after_rollback is AfterRollback.HOLD:
            draft.hold(
                f"after-rollback:{done.id}",
                f"held after rollback to {sha7(done)}",
                NoticeKind.BLOCKER_ADDED,
                f"Stage held after rollback to {sha7(done)}",
            )
        return
    baking = current.moved(DeploymentState.BAKING, bake_until=draft.now + policy.bake)
    draft.set(current=baking)
    draft.tell(NoticeKind.BAKING, f"{describe(baking)} succeeded; baking", deployment=baking)
    draft.end_bake_if_due()


def _bake_finished(draft: Draft, event: ev.BakeFinished) -> None:
    draft.end_bake_if_due()  # idempotent: only a bake that is due ends


def _alarm_firing(draft: Draft, event: ev.AlarmFiring) -> None:
    if not _newest_episode(draft, event.alarm, event.started, resolved=False):
        return  # a late firing of an episode that has resolved, or of an older one
    blocker_id = f"alarm:{event.alarm}"
    if any(b.id == blocker_id for b in draft.state.blockers):
        return  # Alertmanager repeats firing alerts: only the first one acts
    # The alert's own words (its name and summary); its fingerprint only when it has none.
    reason = event.reason or f"alarm {event.alarm} firing"
    draft.hold(
        blocker_id,
        reason,
        NoticeKind.BLOCKER_ADDED,
        f"Blocked: {reason}",
        kind=BlockerKind.ALARM,
        author="alertmanager",
    )
    blocker = draft.state.blockers[-1]
    current = draft.state.current
    if current is not None and current.kind is DeploymentKind.ROLLBACK:
        return  # a rollback is the cure, not the cause: it runs on
    if current is not None:
        draft.fail(current, reason)
        return
    deployed = draft.last_good()
    if deployed is not None and _began_while_deploying(deployed, event.started):
        # A late alarm (group_wait, a retry, a restart): it began during this deployment's
        # deploy or bake, so the deployment failed, though the news came after its bake.
        late = f"{reason} (began {event.started:%Y-%m-%d %H:%M} UTC, during its deploy or bake)"
        draft.set(bad=draft.state.bad | {deployed.change.sha})
        draft.tell(NoticeKind.FAILED, f"{describe(deployed)} failed: {late}", deployment=deployed)
        draft.apply_rollback_policy(deployed, late)
        draft.tell_wave(deployed, late)
        if not draft.policy.is_last and deployed.kind is DeploymentKind.ROLLFORWARD:
            draft.recall = Recall(change=deployed.change, reason=late)  # it went onward
        return
    if deployed is not None:
        target = draft.last_good(exclude=deployed.change.sha)
        draft.tell(
            NoticeKind.ALARM_AFTER_BAKE,
            f"{reason} after {sha7(deployed)} finished baking on {draft.policy.stage}; roll back?",
            deployment=deployed,
            rollback_target=target,
            blockers=(blocker,),
        )


def _began_while_deploying(deployment: Deployment, started: datetime | None) -> bool:
    """Whether an alarm that began at `started` began during `deployment`'s deploy or bake."""
    if started is None or deployment.kind is DeploymentKind.ROLLBACK:
        return False
    began = deployment.started_at or deployment.created_at
    ended = deployment.finished_at
    return ended is not None and began <= started <= ended


def _alarm_resolved(draft: Draft, event: ev.AlarmResolved) -> None:
    if not _newest_episode(draft, event.alarm, event.started, resolved=True):
        return  # the resolution of an older firing: the newer one still holds
    _lift(draft, f"alarm:{event.alarm}", "alertmanager")


#: How many alarms' latest episodes a stage remembers.
ALARM_MEMORY = 100


def _newest_episode(draft: Draft, alarm: str, started: datetime | None, *, resolved: bool) -> bool:
    """Order an alarm's notifications by when the alert began, not by arrival: record this
    one if it is the newest news of the alarm and say whether it should act. A `resolved`
    that arrived before its `firing` is remembered, so the late firing changes nothing."""
    if started is None:
        return True  # no start time given: arrival order
    known = next((e for e in draft.state.alarms if e.alarm == alarm), None)
    if known is not None:
        if known.started > started:
            return False
        if known.started == started and known.resolved and not resolved:
            return False
    episode = AlarmEpisode(alarm=alarm, started=started, resolved=resolved)
    others = [e for e in draft.state.alarms if e.alarm != alarm]
    newest = sorted([*others, episode], key=lambda e: e.started, reverse=True)[:ALARM_MEMORY]
    draft.set(alarms=tuple(newest))
    return True


def _blocker_added(draft: Draft, event: ev.BlockerAdded) -> None:
    blocker = event.blocker
    if blocker.kind is BlockerKind.WINDOW:
        draft.tell(
            NoticeKind.REFUSED, "Window blockers come from configuration", actor=blocker.author
        )
        return
    if any(b.id == blocker.id for b in draft.state.blockers):
        return
    draft.set(blockers=(*draft.state.blockers, blocker))
    draft.tell(
        NoticeKind.BLOCKER_ADDED,
        f"Blocked: {blocker.reason}",  # who: the notice's actor, shown as a person by Slack
        blockers=(blocker,),
        actor=blocker.author,
    )


def _blocker_lifted(draft: Draft, event: ev.BlockerLifted) -> None:
    blocker = next((b for b in draft.state.blockers if b.id == event.blocker_id), None)
    if blocker is None:
        draft.tell(
            NoticeKind.REFUSED,
            f"No blocker {event.blocker_id} on {draft.policy.stage}: it was lifted or ended",
            actor=event.by,
        )
        return
    moved = stale.blocker_moved_on(draft, blocker, event.shown)
    if moved is not None:
        draft.tell(NoticeKind.REFUSED, moved, actor=event.by)
        return
    _lift(draft, event.blocker_id, event.by)


def _lift(draft: Draft, blocker_id: str, by: str) -> None:
    lifted = [b for b in draft.state.blockers if b.id == blocker_id]
    if lifted:
        draft.set(blockers=tuple(b for b in draft.state.blockers if b.id != blocker_id))
        text = f"Lifted: {lifted[0].reason}"
        if blocker_id == TARGET_INACTIVE and by == "semaphore":
            target = draft.policy.target or draft.policy.stage
            text = f"Lifted: Semaphore's deployment target {target} is active again"
        draft.tell(
            NoticeKind.BLOCKER_LIFTED,
            text,
            blockers=tuple(lifted),
            actor=by,
        )


def _tick(draft: Draft, event: ev.Tick) -> None:
    """Housekeeping and start_next do the work: expiries, bake ends, windows opening."""


def _rollback_approved(draft: Draft, event: ev.RollbackApproved) -> None:
    """Rule 10: an approval acts only on the rollback its alert showed, and never forces past
    a manual blocker (the rollback waits for it; `/deploy rollback` goes past one)."""
    shown = event.shown
    if shown is not None and shown.blocker_id:  # an alarm after the bake: roll back now
        moved = stale.alarm_alert_moved_on(draft, shown)
        if moved is not None:
            draft.tell(NoticeKind.REFUSED, moved, actor=event.by)
            return
        reason = f"approved from the alert of {shown.blocker_id}"
        request = ev.RollbackRequested(id=event.id, by=event.by, reason=reason, to_sha=shown.to_sha)
        _rollback_requested(draft, request)
        return
    pending = draft.state.pending_rollback
    moved = stale.approval_moved_on(draft, shown) if shown is not None else None
    if moved is not None or pending is None or pending.target is None:
        draft.tell(
            NoticeKind.REFUSED, moved or "No rollback is waiting for approval", actor=event.by
        )
        return
    draft.set(pending_rollback=None)
    draft.queue_rollback(
        pending.target, by=event.by, reason=f"approved: {pending.reason}", force=False
    )


def _rollback_dismissed(draft: Draft, event: ev.RollbackDismissed) -> None:
    shown = event.shown
    if shown is not None and shown.blocker_id:  # an alarm after the bake: nothing waits
        moved = stale.alarm_alert_moved_on(draft, shown)
        if moved is not None:
            draft.tell(NoticeKind.REFUSED, moved, actor=event.by)
        else:
            draft.tell(NoticeKind.ROLLBACK_DISMISSED, "Rollback dismissed", actor=event.by)
        return
    moved = stale.approval_moved_on(draft, shown, approving=False) if shown else None
    if moved is not None or draft.state.pending_rollback is None:
        draft.tell(
            NoticeKind.REFUSED, moved or "No rollback is waiting for approval", actor=event.by
        )
        return
    draft.set(pending_rollback=None)
    draft.tell(NoticeKind.ROLLBACK_DISMISSED, "Rollback dismissed", actor=event.by)


def _emergency_requested(draft: Draft, event: ev.EmergencyRequested) -> None:
    known = [*draft.state.queue, *([draft.state.current] if draft.state.current else [])]
    same = [d for d in known if d.kind is DeploymentKind.EMERGENCY]
    same = [d for d in same if d.change.sha == event.change.sha]
    if same:  # item 20 of issue 13: one emergency per change at a time, and the asker is told
        draft.tell(
            NoticeKind.REFUSED,
            f"An emergency deployment of {sha7(same[0])} to {draft.policy.stage} is already "
            f"{same[0].state}: {same[0].reason}",
            actor=event.by,
        )
        return
    emergency = draft.new_deployment(
        DeploymentKind.EMERGENCY,
        event.change,
        event.source_pipeline_id,
        triggered_by=event.by,
        reason=event.reason,
    )
    draft.enqueue(emergency)
    draft.tell(
        NoticeKind.EMERGENCY_QUEUED,
        f"Emergency deployment of {sha7(emergency)} queued: {event.reason}",
        deployment=emergency,
        actor=event.by,
    )


def _rollback_requested(draft: Draft, event: ev.RollbackRequested) -> None:
    deployed = draft.deployed_change()
    target = _rollback_target(draft, event.to_sha, deployed)
    refusal = stale.rollback_moved_on(draft, event.shown, event.force)
    refusal = refusal or _rollback_refusal(draft, event.to_sha, deployed, target)
    if refusal is not None or target is None or deployed is None:
        draft.tell(NoticeKind.REFUSED, refusal or "Cannot roll back", actor=event.by)
        return
    current = draft.state.current
    if current is not None:  # baking: the person decided it is bad
        draft.finish(current, DeploymentState.FAILED, f"rolled back by {event.by}")
        draft.set(current=None)
    draft.set(bad=draft.state.bad | {deployed.sha}, pending_rollback=None)
    draft.queue_rollback(
        target, by=event.by, reason=event.reason or "manual rollback", force=event.force
    )


def _rollback_refusal(
    draft: Draft, to_sha: str | None, deployed: Change | None, target: Deployment | None
) -> str | None:
    stage, current = draft.policy.stage, draft.state.current
    if current is not None and current.state is DeploymentState.RUNNING:
        return f"{describe(current)} is running; roll back after it finishes"
    if any(d.kind is DeploymentKind.ROLLBACK for d in draft.state.queue):
        return f"A rollback is already queued on {stage}"
    if deployed is None:
        return f"Nothing has been deployed to {stage} yet"
    if to_sha is not None and deployed.sha.startswith(to_sha.lower()):
        return f"{to_sha} is what {stage} runs now"
    if target is None:
        wanted = to_sha or "An earlier good deployment"
        return f"{wanted} is not a good deployment on {stage} to roll back to"
    return None


def _rollback_target(
    draft: Draft, to_sha: str | None, deployed: Change | None
) -> Deployment | None:
    exclude = deployed.sha if deployed is not None else None
    if to_sha is None:
        return draft.last_good(exclude=exclude)
    candidates = [
        *draft.state.good,
        *([draft.snap.external_last_good] if draft.snap.external_last_good else []),
    ]
    for deployment in candidates:
        if deployment.change.sha.startswith(to_sha.lower()) and deployment.change.sha != exclude:
            return deployment
    return None


def _reset_requested(draft: Draft, event: ev.ResetRequested) -> None:
    """Issue 13 item 12, the manual door: forget the running deployment the modal showed. It
    ends cancelled, naming who and why; deploybot stops nothing in Semaphore; the queue goes on.
    If the stage moved on since the modal opened, nothing happens and the person is told."""
    current, stage = draft.state.current, draft.policy.stage
    if current is None or current.id != event.shown.deployment_id:
        now = f"{describe(current)} is {current.state}" if current else "nothing is running"
        draft.tell(NoticeKind.REFUSED, f"{stage} moved on since: {now} there now", actor=event.by)
        return
    if current.state is not DeploymentState.RUNNING:
        draft.tell(
            NoticeKind.REFUSED,
            f"{describe(current)} is {current.state}, not running; `/deploy rollback {stage}` "
            "undoes it",
            actor=event.by,
        )
        return
    done = draft.finish(current, DeploymentState.CANCELLED, f"reset by {event.by}: {event.reason}")
    draft.set(current=None)
    draft.tell(
        NoticeKind.CANCELLED,
        f"{describe(done)} forgotten by a reset ({event.reason}); the queue goes on",
        deployment=done,
        actor=event.by,
    )


def _waiting_for_approval(draft: Draft, deployment_id: str, by: str) -> Deployment | None:
    """The roll-forward waiting for approval that a click or command names; else the person
    is told why nothing happened (it moved on: superseded, rejected, expired or started)."""
    found = next((d for d in draft.state.queue if d.id == deployment_id), None)
    if found is None or not draft.awaits_approval(found):
        draft.tell(
            NoticeKind.REFUSED,
            "That change is no longer waiting for approval on "
            f"{draft.policy.stage} (it started, was superseded, rejected or expired)",
            actor=by,
        )
        return None
    return found


def _approval_given(draft: Draft, event: ev.ApprovalGiven) -> None:
    found = _waiting_for_approval(draft, event.deployment_id, event.by)
    gate = draft.policy.approval
    if found is None or gate is None:
        return
    if event.by in found.approvals:
        left = gate.required - len(found.approvals)
        draft.tell(
            NoticeKind.REFUSED,
            f"You approved {sha7(found)} already; it needs {left} more from someone else",
            actor=event.by,
        )
        return
    approved = found.model_copy(update={"approvals": (*found.approvals, event.by)})
    draft.set(queue=tuple(approved if d.id == found.id else d for d in draft.state.queue))
    count = f"{len(approved.approvals)} of {gate.required}"
    draft.tell(
        NoticeKind.APPROVED, f"{sha7(approved)} approved ({count})", deployment=approved,
        actor=event.by,
    )  # fmt: skip


def _approval_rejected(draft: Draft, event: ev.ApprovalRejected) -> None:
    found = _waiting_for_approval(draft, event.deployment_id, event.by)
    if found is None:
        return
    draft.set(queue=tuple(d for d in draft.state.queue if d.id != found.id))
    done = draft.finish(found, DeploymentState.CANCELLED, f"rejected by {event.by}: {event.reason}")
    draft.tell(
        NoticeKind.APPROVAL_REJECTED,
        f"{sha7(done)} rejected for {draft.policy.stage}: {event.reason}",
        deployment=done,
        actor=event.by,
    )


def _change_recalled(draft: Draft, event: ev.ChangeRecalled) -> None:
    """Issue 13 item 14: the change failed on an earlier stage after it went onward. Here it
    is bad from now on (an onward still on its way is turned away); a copy deploying or baking
    fails, as an alarm would fail it; where it is live, the stage is held and people are asked
    whether to roll back; where it waits in the queue, the stage holds it until a person
    decides."""
    change, stage, state = event.change, draft.policy.stage, draft.state
    blocker_id = f"recalled:{change.sha[:7]}"
    if change.sha in state.bad or any(b.id == blocker_id for b in state.blockers):
        return
    why = f"{change.sha[:7]} failed on {event.from_stage} after it went onward ({event.reason})"
    draft.set(bad=state.bad | {change.sha})
    current = state.current
    if current is not None and current.change.sha == change.sha:
        if current.kind is not DeploymentKind.ROLLBACK:
            draft.fail(current, why)
        return
    live = draft.last_good()  # `bad` now excludes it: the deployment live before the change
    deployed = state.good[0] if state.good else None
    if deployed is not None and deployed.change.sha == change.sha:
        draft.hold(
            blocker_id,
            why,
            NoticeKind.ALARM_AFTER_BAKE,
            f"{why}; it runs on {stage}: roll back?",
            kind=BlockerKind.ALARM,
            deployment=deployed,
            rollback_target=live,
        )
        return
    queued = next((d for d in state.queue if d.change.sha == change.sha), None)
    if queued is not None:
        draft.hold(
            blocker_id,
            why,
            NoticeKind.BLOCKER_ADDED,
            f"Held: {why}. It waits on {stage} until a person lifts this blocker",
            kind=BlockerKind.ALARM,
            deployment=queued,
        )


def _sibling_failed(draft: Draft, event: ev.SiblingFailed) -> None:
    """Issue 18: the change failed on another target of this wave. It is bad here from now on
    (never queued, started or retried here again, and no rollback goes back to it), and a copy
    queued here is dropped. With `rollback: {scope: wave}`, a copy deploying or baking here
    fails and one live here counts as failed: the stage rolls back by its policy. With the
    default scope, a copy deploying, baking or live here stays."""
    change, state = event.change, draft.state
    if change.sha in state.bad:
        return
    why = f"{change.sha[:7]} failed on {event.from_stage} ({event.reason})"
    draft.set(
        bad=state.bad | {change.sha},
        seen=tuple(dict.fromkeys((*state.seen, change.sha)))[-SEEN_LIMIT:],
    )
    queued = [d for d in state.queue if d.change.sha == change.sha]
    queued = [d for d in queued if d.kind is DeploymentKind.ROLLFORWARD]
    if queued:
        draft.set(queue=tuple(d for d in state.queue if d not in queued))
        for deployment in queued:
            done = draft.finish(
                deployment, DeploymentState.CANCELLED, f"the wave stopped it: {why}"
            )
            draft.tell(
                NoticeKind.CANCELLED,
                f"{describe(done)} will not start: {why}",
                deployment=done,
            )
    if not draft.policy.wave_rollback:
        return
    current = draft.state.current
    if current is not None and current.change.sha == change.sha:
        if current.kind is DeploymentKind.ROLLFORWARD:
            draft.fail(current, f"rolled back with its wave: {why}")
            draft.wave_failure = None  # its siblings know already
        return
    deployed = state.good[0] if state.good else None
    if deployed is not None and deployed.change.sha == change.sha and current is None:
        draft.tell(
            NoticeKind.FAILED,
            f"{describe(deployed)} is rolled back with its wave: {why}",
            deployment=deployed,
        )
        draft.apply_rollback_policy(deployed, f"rolled back with its wave: {why}")


def _outside_deployment(draft: Draft, event: ev.OutsideDeployment) -> None:
    """Record a deployment someone did in Semaphore, outside deploybot: in the stage's history
    and the change's thread; one that passed is the stage's last good; one that went past a
    blocker is told to the channel. Nothing is rolled back or started because of it."""
    state, stage = draft.state, draft.policy.stage
    if any(d.deploy_pipeline_id == event.pipeline_id for d in (state.current, *state.good) if d):
        return
    began = draft.new_deployment(
        DeploymentKind.OUTSIDE,
        event.change,
        event.source_pipeline_id,
        state=DeploymentState.RUNNING,
        deploy_pipeline_id=event.pipeline_id,
        triggered_by=event.by,
        reason=f"promotion {event.promotion} triggered in Semaphore",
        started_at=draft.now,
    )
    ended = {
        "succeeded": (DeploymentState.SUCCEEDED, "deployed outside deploybot"),
        "failed": (DeploymentState.FAILED, "failed, deployed outside deploybot"),
        "cancelled": (DeploymentState.CANCELLED, "stopped, deployed outside deploybot"),
    }[event.outcome]
    done = draft.finish(began, *ended)
    text = f"{sha7(done)} was deployed to {stage} by {event.by} in Semaphore, outside deploybot"
    if event.outcome == "succeeded":
        text += f"; it is what {stage} runs now"
    elif event.outcome == "failed":
        text += (
            f", and failed; deploybot did not start it, so it rolls nothing back "
            f"(`/deploy rollback {stage}` if {stage} needs it)"
        )
    else:
        text += f", and was stopped; {stage} may be half deployed"
    blockers = draft.active_blockers()
    kind = NoticeKind.OUTSIDE
    if blockers:
        kind = NoticeKind.OUTSIDE_PAST_BLOCK
        reasons = "; ".join(b.reason for b in blockers)
        text += f". {stage} was blocked ({reasons}): this went past the block"
    elif event.outcome == "failed":
        kind = NoticeKind.FAILED
    draft.tell(kind, text, deployment=done, blockers=blockers, actor=event.by)


_HANDLERS: dict[type, Callable[[Draft, Any], None]] = {
    ev.ChangeReady: _change_ready,
    ev.DeploymentStarted: _deployment_started,
    ev.DeploymentNotStarted: _deployment_not_started,
    ev.DeploymentFinished: _deployment_finished,
    ev.BakeFinished: _bake_finished,
    ev.AlarmFiring: _alarm_firing,
    ev.AlarmResolved: _alarm_resolved,
    ev.BlockerAdded: _blocker_added,
    ev.BlockerLifted: _blocker_lifted,
    ev.Tick: _tick,
    ev.RollbackApproved: _rollback_approved,
    ev.RollbackDismissed: _rollback_dismissed,
    ev.EmergencyRequested: _emergency_requested,
    ev.RollbackRequested: _rollback_requested,
    ev.OutsideDeployment: _outside_deployment,
    ev.ChangeRecalled: _change_recalled,
    ev.SiblingFailed: _sibling_failed,
    ev.ResetRequested: _reset_requested,
    ev.ApprovalGiven: _approval_given,
    ev.ApprovalRejected: _approval_rejected,
}
