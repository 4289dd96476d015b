"""The deployment rules of DESIGN.md section 4, as one pure function:

    decide(snapshot, event, now) -> Decision

Every event first gets the same housekeeping (expired blockers go, a finished bake ends), then
its own handler, then the stage starts whatever may start now. Handlers change a `_Draft`,
which collects the new state, the finished deployments and the notices.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.core import events as ev
from bot.core.decision import Decision, Notice, NoticeKind, Onward, StageSnapshot
from bot.core.model import (
    AfterRollback,
    Blocker,
    BlockerKind,
    Change,
    Deployment,
    DeploymentKind,
    DeploymentState,
    PendingRollback,
    RollbackPolicy,
)

SEEN_LIMIT = 200
GOOD_LIMIT = 20
#: Queue order: rollbacks first (rule 3), then emergencies (rule 7), then roll-forwards.
PRIORITY = {DeploymentKind.ROLLBACK: 0, DeploymentKind.EMERGENCY: 1, DeploymentKind.ROLLFORWARD: 2}


def decide(snapshot: StageSnapshot, event: ev.Event, now: datetime) -> Decision:
    draft = _Draft(snapshot, now)
    draft.expire_blockers()
    draft.end_bake_if_due()
    _HANDLERS[type(event)](draft, event)
    draft.note_holds()
    draft.start_next()
    return draft.decision()


class _Draft:
    def __init__(self, snapshot: StageSnapshot, now: datetime) -> None:
        self.snap = snapshot
        self.policy = snapshot.policy
        self.state = snapshot.state
        self.now = now
        self.finished: list[Deployment] = []
        self.notices: list[Notice] = []
        self.start: Deployment | None = None
        self.stop: list[Deployment] = []
        self.onward: Onward | None = None
        self._seq = 0

    # -- building blocks ------------------------------------------------------------------

    def set(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)

    def tell(self, kind: NoticeKind, text: str, **extra: Any) -> None:
        self.notices.append(
            Notice(
                kind=kind, project=self.policy.project, stage=self.policy.stage, text=text, **extra
            )
        )

    def new_deployment(
        self, kind: DeploymentKind, change: Change, source: str, **extra: Any
    ) -> Deployment:
        self._seq += 1
        return Deployment(
            id=f"{self.policy.project}/{self.policy.stage}/{self.state.version + 1}.{self._seq}",
            project=self.policy.project,
            stage=self.policy.stage,
            kind=kind,
            change=change,
            source_pipeline_id=source,
            created_at=self.now,
            **extra,
        )

    def finish(self, deployment: Deployment, state: DeploymentState, outcome: str) -> Deployment:
        done = deployment.moved(state, finished_at=self.now, outcome=outcome)
        self.finished.append(done)
        if state in (DeploymentState.SUCCEEDED, DeploymentState.DONE):
            self.set(good=(done, *self.state.good)[:GOOD_LIMIT])
        return done

    def enqueue(self, deployment: Deployment) -> None:
        queue = sorted((*self.state.queue, deployment), key=lambda d: PRIORITY[d.kind])
        self.set(queue=tuple(queue))

    def active_blockers(self) -> tuple[Blocker, ...]:
        stored = (b for b in self.state.blockers if b.active(self.now))
        return (*stored, *(b for b in self.snap.calendar if b.active(self.now)))

    def holding(self, deployment: Deployment) -> tuple[Blocker, ...]:
        return tuple(b for b in self.active_blockers() if b.holds(deployment))

    def last_good(self, exclude: str | None = None) -> Deployment | None:
        bad = self.state.bad | ({exclude} if exclude else set())
        for deployment in self.state.good:
            if deployment.change.sha not in bad:
                return deployment
        external = self.snap.external_last_good
        if external is not None and external.change.sha not in bad:
            return external
        return None

    def deployed_change(self) -> Change | None:
        """The change the stage carries now (baking, or the last that succeeded)."""
        current = self.state.current
        if current is not None and current.state is DeploymentState.BAKING:
            return current.change
        return self.state.good[0].change if self.state.good else None

    # -- housekeeping ---------------------------------------------------------------------

    def expire_blockers(self) -> None:
        expired = [b for b in self.state.blockers if b.until is not None and self.now >= b.until]
        if not expired:
            return
        self.set(blockers=tuple(b for b in self.state.blockers if b not in expired))
        for blocker in expired:
            self.tell(
                NoticeKind.BLOCKER_LIFTED, f"Blocker expired: {blocker.reason}", blockers=(blocker,)
            )

    def end_bake_if_due(self) -> None:
        current = self.state.current
        if current is None or current.state is not DeploymentState.BAKING:
            return
        if current.bake_until is not None and self.now < current.bake_until:
            return
        done = self.finish(current, DeploymentState.DONE, "baked")
        self.set(current=None)
        self.tell(NoticeKind.DONE, f"{_short(done)} finished baking", deployment=done)
        if not self.policy.is_last:
            self.onward = Onward(change=done.change, previous_pipeline_id=done.deploy_pipeline_id)

    # -- failure and rollback (rule 5) ----------------------------------------------------

    def fail(self, deployment: Deployment, why: str) -> None:
        failed = self.finish(deployment, DeploymentState.FAILED, why)
        self.set(current=None)
        if deployment.state is DeploymentState.RUNNING:
            self.stop.append(failed)
        if failed.kind is DeploymentKind.ROLLBACK:
            self.hold_after_failed_rollback(failed, why)
            return
        self.set(bad=self.state.bad | {failed.change.sha})
        self.tell(NoticeKind.FAILED, f"{_short(failed)} failed: {why}", deployment=failed)
        self.apply_rollback_policy(failed, why)

    def hold_after_failed_rollback(self, failed: Deployment, why: str) -> None:
        blocker = self.system_blocker(
            f"rollback-failed:{failed.id}", f"rollback to {_sha(failed)} failed"
        )
        self.set(blockers=(*self.state.blockers, blocker))
        self.tell(
            NoticeKind.ROLLBACK_FAILED,
            f"Rollback to {_sha(failed)} failed ({why}); stage blocked until a person lifts it",
            deployment=failed,
            blockers=(blocker,),
        )

    def apply_rollback_policy(self, failed: Deployment, why: str) -> None:
        target = self.last_good()
        policy = self.policy.rollback
        if policy is RollbackPolicy.OFF:
            return
        if target is None:
            self.tell(
                NoticeKind.NO_ROLLBACK_TARGET,
                "No earlier good deployment to roll back to",
                deployment=failed,
            )
            return
        if policy is RollbackPolicy.AUTO:
            self.queue_rollback(
                target, by="deploybot", reason=f"{_sha(failed)} failed: {why}", force=False
            )
            return
        pending = PendingRollback(
            failed_deployment_id=failed.id,
            bad_sha=failed.change.sha,
            target=target,
            reason=why,
            created_at=self.now,
        )
        self.set(pending_rollback=pending)
        self.tell(
            NoticeKind.ROLLBACK_NEEDS_APPROVAL,
            f"Roll back to {_sha(target)}? Roll-forwards wait until someone decides",
            deployment=failed,
            rollback_target=target,
        )

    def queue_rollback(self, target: Deployment, by: str, reason: str, force: bool) -> None:
        rollback = self.new_deployment(
            DeploymentKind.ROLLBACK,
            target.change,
            target.source_pipeline_id,
            triggered_by=by,
            reason=reason,
            force=force,
        )
        self.enqueue(rollback)
        self.tell(
            NoticeKind.ROLLBACK_QUEUED,
            f"Rollback to {_sha(rollback)} queued",
            deployment=rollback,
            actor=by,
        )

    def system_blocker(self, blocker_id: str, reason: str) -> Blocker:
        return Blocker(
            id=blocker_id,
            kind=BlockerKind.MANUAL,
            reason=reason,
            author="deploybot",
            created_at=self.now,
        )

    # -- starting (rules 1, 2, 3, 7) ------------------------------------------------------

    def next_startable(self) -> Deployment | None:
        current = self.state.current
        if current is not None and current.state is DeploymentState.RUNNING:
            return None
        for deployment in self.state.queue:
            if deployment.kind is DeploymentKind.EMERGENCY:
                return deployment
            if deployment.kind is DeploymentKind.ROLLBACK:
                if not self.holding(deployment):
                    return deployment
                continue
            # A roll-forward waits for a bake, a pending rollback decision, any queued
            # rollback (rollbacks go first) and any blocker.
            if current is not None or self.state.pending_rollback is not None:
                return None
            if any(d.kind is DeploymentKind.ROLLBACK for d in self.state.queue):
                return None
            return None if self.holding(deployment) else deployment
        return None

    def start_next(self) -> None:
        chosen = self.next_startable()
        if chosen is None:
            return
        current = self.state.current
        if current is not None:  # baking: an emergency or a rollback ends the bake early
            ended = self.finish(
                current, DeploymentState.SUPERSEDED, f"bake ended by {chosen.kind} {_sha(chosen)}"
            )
            self.tell(
                NoticeKind.SUPERSEDED,
                f"{_short(ended)} stopped baking: {ended.outcome}",
                deployment=ended,
            )
        running = chosen.moved(DeploymentState.RUNNING, started_at=self.now)
        self.set(current=running, queue=tuple(d for d in self.state.queue if d.id != chosen.id))
        self.start = running
        self.tell(
            NoticeKind.STARTED,
            f"{_short(running)} started",
            deployment=running,
            actor=running.triggered_by,
        )

    def note_holds(self) -> None:
        """Rule 2: say when the head of the queue starts waiting, and when it stops."""
        head = next((d for d in self.state.queue if d.kind is DeploymentKind.ROLLFORWARD), None)
        waiting_on = () if head is None else self.holding(head)
        ids = tuple(sorted(b.id for b in waiting_on))
        if ids == self.state.held_by:
            return
        if ids:
            reasons = "; ".join(b.reason for b in waiting_on)
            self.tell(
                NoticeKind.WAITING, f"Queue held: {reasons}", deployment=head, blockers=waiting_on
            )
        elif self.state.held_by and head is not None:
            self.tell(NoticeKind.UNBLOCKED, "No blockers left: the queue drains", deployment=head)
        self.set(held_by=ids)

    def decision(self) -> Decision:
        changed = self.state != self.snap.state
        state = self.state.model_copy(update={"version": self.snap.state.version + 1})
        return Decision(
            state=state,
            changed=changed,
            finished=tuple(self.finished),
            start=self.start,
            stop=tuple(self.stop),
            onward=self.onward,
            notices=tuple(self.notices),
            blocked_by=self.active_blockers(),
        )


def _sha(deployment: Deployment) -> str:
    return deployment.change.sha[:7]


def _short(deployment: Deployment) -> str:
    return f"{deployment.kind} of {_sha(deployment)} to {deployment.stage}"


# -- handlers -------------------------------------------------------------------------------


def _change_ready(draft: _Draft, event: ev.ChangeReady) -> None:
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
            f"{_sha(rejected)} failed on {policy.stage} before; not deployed again automatically",
            deployment=rejected,
        )
        return
    newer = [d for d in _rollforwards(draft) if d.change.created_at > change.created_at]
    if policy.supersede and newer:
        superseded = draft.finish(
            deployment, DeploymentState.SUPERSEDED, f"newer change {_sha(newer[0])}"
        )
        draft.tell(
            NoticeKind.SUPERSEDED,
            f"{_sha(superseded)} superseded by {_sha(newer[0])}",
            deployment=superseded,
        )
        return
    if policy.supersede:
        _supersede_queued(draft, deployment)
    draft.enqueue(deployment)
    draft.tell(
        NoticeKind.QUEUED, f"{_sha(deployment)} queued for {policy.stage}", deployment=deployment
    )


def _rollforwards(draft: _Draft) -> list[Deployment]:
    """Roll-forwards a newly ready change must be newer than: queued, current, deployed."""
    current, good = draft.state.current, draft.state.good
    queued = [d for d in draft.state.queue if d.kind is DeploymentKind.ROLLFORWARD]
    if current is not None and current.kind is DeploymentKind.ROLLFORWARD:
        queued.append(current)
    return queued + list(good[:1])


def _supersede_queued(draft: _Draft, newest: Deployment) -> None:
    older = [d for d in draft.state.queue if d.kind is DeploymentKind.ROLLFORWARD]
    if not older:
        return
    draft.set(queue=tuple(d for d in draft.state.queue if d not in older))
    for deployment in older:
        done = draft.finish(deployment, DeploymentState.SUPERSEDED, f"newer change {_sha(newest)}")
        draft.tell(
            NoticeKind.SUPERSEDED, f"{_sha(done)} superseded by {_sha(newest)}", deployment=done
        )


def _deployment_started(draft: _Draft, event: ev.DeploymentStarted) -> None:
    current = draft.state.current
    if current is None or current.id != event.deployment_id or current.deploy_pipeline_id:
        return
    draft.set(current=current.model_copy(update={"deploy_pipeline_id": event.pipeline_id}))


def _deployment_finished(draft: _Draft, event: ev.DeploymentFinished) -> None:
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
        draft.fail(current, event.detail or f"the deploy pipeline {event.outcome}")
    elif event.outcome == "cancelled":
        done = draft.finish(
            current, DeploymentState.CANCELLED, event.detail or "the deploy pipeline was stopped"
        )
        draft.set(current=None)
        draft.tell(
            NoticeKind.CANCELLED, f"{_short(done)} was cancelled: {done.outcome}", deployment=done
        )
    else:
        _succeeded(draft, current)


def _succeeded(draft: _Draft, current: Deployment) -> None:
    policy = draft.policy
    if current.kind is not DeploymentKind.ROLLFORWARD:
        done = draft.finish(current, DeploymentState.SUCCEEDED, "deployed")
        draft.set(current=None)
        draft.tell(NoticeKind.SUCCEEDED, f"{_short(done)} succeeded", deployment=done)
        if done.kind is DeploymentKind.ROLLBACK and policy.after_rollback is AfterRollback.HOLD:
            blocker = draft.system_blocker(
                f"after-rollback:{done.id}", f"held after rollback to {_sha(done)}"
            )
            draft.set(blockers=(*draft.state.blockers, blocker))
            draft.tell(
                NoticeKind.BLOCKER_ADDED,
                f"Stage held after rollback to {_sha(done)}",
                blockers=(blocker,),
            )
        return
    baking = current.moved(DeploymentState.BAKING, bake_until=draft.now + policy.bake)
    draft.set(current=baking)
    draft.tell(NoticeKind.BAKING, f"{_short(baking)} succeeded; baking", deployment=baking)
    draft.end_bake_if_due()


def _bake_finished(draft: _Draft, event: ev.BakeFinished) -> None:
    draft.end_bake_if_due()  # idempotent: only a bake that is due ends


def _alarm_firing(draft: _Draft, event: ev.AlarmFiring) -> None:
    blocker_id = f"alarm:{event.alarm}"
    if any(b.id == blocker_id for b in draft.state.blockers):
        return  # Alertmanager repeats firing alerts: only the first one acts
    reason = f"alarm {event.alarm} firing" + (f": {event.reason}" if event.reason else "")
    blocker = Blocker(
        id=blocker_id,
        kind=BlockerKind.ALARM,
        reason=reason,
        author="alertmanager",
        created_at=draft.now,
    )
    draft.set(blockers=(*draft.state.blockers, blocker))
    draft.tell(
        NoticeKind.BLOCKER_ADDED, f"Blocked: {reason}", blockers=(blocker,), actor="alertmanager"
    )
    current = draft.state.current
    if current is not None and current.kind is DeploymentKind.ROLLBACK:
        return  # a rollback is the cure, not the cause: it runs on
    if current is not None:
        draft.fail(current, reason)
        return
    deployed = draft.last_good()
    if deployed is not None:
        target = draft.last_good(exclude=deployed.change.sha)
        draft.tell(
            NoticeKind.ALARM_AFTER_BAKE,
            f"{reason} after {_sha(deployed)} finished baking on {draft.policy.stage}; roll back?",
            deployment=deployed,
            rollback_target=target,
            blockers=(blocker,),
        )


def _alarm_resolved(draft: _Draft, event: ev.AlarmResolved) -> None:
    _lift(draft, f"alarm:{event.alarm}", "alertmanager")


def _blocker_added(draft: _Draft, event: ev.BlockerAdded) -> None:
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
        f"Blocked by {blocker.author}: {blocker.reason}",
        blockers=(blocker,),
        actor=blocker.author,
    )


def _blocker_lifted(draft: _Draft, event: ev.BlockerLifted) -> None:
    if not any(b.id == event.blocker_id for b in draft.state.blockers):
        draft.tell(
            NoticeKind.REFUSED,
            f"No blocker {event.blocker_id} on {draft.policy.stage}",
            actor=event.by,
        )
        return
    _lift(draft, event.blocker_id, event.by)


def _lift(draft: _Draft, blocker_id: str, by: str) -> None:
    lifted = [b for b in draft.state.blockers if b.id == blocker_id]
    if lifted:
        draft.set(blockers=tuple(b for b in draft.state.blockers if b.id != blocker_id))
        draft.tell(
            NoticeKind.BLOCKER_LIFTED,
            f"{by} lifted: {lifted[0].reason}",
            blockers=tuple(lifted),
            actor=by,
        )


def _tick(draft: _Draft, event: ev.Tick) -> None:
    """Housekeeping and start_next do the work: expiries, bake ends, windows opening."""


def _rollback_approved(draft: _Draft, event: ev.RollbackApproved) -> None:
    pending = draft.state.pending_rollback
    if pending is None or pending.target is None:
        draft.tell(NoticeKind.REFUSED, "No rollback is waiting for approval", actor=event.by)
        return
    draft.set(pending_rollback=None)
    draft.queue_rollback(
        pending.target, by=event.by, reason=f"approved: {pending.reason}", force=True
    )


def _rollback_dismissed(draft: _Draft, event: ev.RollbackDismissed) -> None:
    if draft.state.pending_rollback is None:
        draft.tell(NoticeKind.REFUSED, "No rollback is waiting for approval", actor=event.by)
        return
    draft.set(pending_rollback=None)
    draft.tell(NoticeKind.ROLLBACK_DISMISSED, f"{event.by} dismissed the rollback", actor=event.by)


def _emergency_requested(draft: _Draft, event: ev.EmergencyRequested) -> None:
    known = [*draft.state.queue, *([draft.state.current] if draft.state.current else [])]
    if any(d.kind is DeploymentKind.EMERGENCY and d.change.sha == event.change.sha for d in known):
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
        f"Emergency deployment of {_sha(emergency)} by {event.by}: {event.reason}",
        deployment=emergency,
        actor=event.by,
    )


def _rollback_requested(draft: _Draft, event: ev.RollbackRequested) -> None:
    deployed = draft.deployed_change()
    target = _rollback_target(draft, event.to_sha, deployed)
    refusal = _rollback_refusal(draft, event.to_sha, deployed, target)
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
    draft: _Draft, to_sha: str | None, deployed: Change | None, target: Deployment | None
) -> str | None:
    stage, current = draft.policy.stage, draft.state.current
    if current is not None and current.state is DeploymentState.RUNNING:
        return f"{_short(current)} is running; roll back after it finishes"
    if any(d.kind is DeploymentKind.ROLLBACK for d in draft.state.queue):
        return f"A rollback is already queued on {stage}"
    if deployed is None:
        return f"Nothing has been deployed to {stage} yet"
    if target is None:
        wanted = to_sha or "An earlier good deployment"
        return f"{wanted} is not a good deployment on {stage} to roll back to"
    return None


def _rollback_target(
    draft: _Draft, to_sha: str | None, deployed: Change | None
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


_HANDLERS: dict[type, Callable[[_Draft, Any], None]] = {
    ev.ChangeReady: _change_ready,
    ev.DeploymentStarted: _deployment_started,
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
}
