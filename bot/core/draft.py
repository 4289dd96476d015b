"""The working copy of one stage while the rules decide: the building blocks the handlers in
`bot.core.rules` are written in (queueing, finishing, failing, rolling back, starting).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.decision import Decision, Notice, NoticeKind, Onward, Recall, StageSnapshot
from bot.core.durations import format_duration
from bot.core.model import (
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


class Draft:
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
        self.recall: Recall | None = None
        self.wave_failure: Recall | None = None
        #: How long the stage was broken, for each time a good deployment ended that.
        self.restored: list[timedelta] = []
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
        if kind is DeploymentKind.ROLLBACK and self.state.broken_since is None:
            self.set(broken_since=self.now)  # undoing a change that went out: it failed
        epoch = f"{self.state.epoch}." if self.state.epoch else ""
        return Deployment(
            id=f"{self.policy.project}/{self.policy.stage}/{epoch}{self.state.version + 1}.{self._seq}",
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
        broken = self.state.broken_since
        if state in (DeploymentState.SUCCEEDED, DeploymentState.DONE):
            self.set(good=(done, *self.state.good)[:GOOD_LIMIT], broken_since=None)
            if broken is not None:
                self.restored.append(self.now - broken)
        elif (
            state is DeploymentState.FAILED
            and deployment.kind is DeploymentKind.ROLLFORWARD
            and broken is None
        ):
            self.set(broken_since=self.now)
        return done

    def enqueue(self, deployment: Deployment) -> None:
        queue = sorted((*self.state.queue, deployment), key=_queue_order)
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

    def forget_stale_stops(self) -> None:
        """A stopped pipeline Semaphore never showed done within the stage's `start_timeout`
        no longer holds the stage (a lost webhook is caught by reconciliation before that)."""
        limit = self.policy.start_timeout
        stale = [d for d in self.state.stopping if (d.finished_at or self.now) + limit <= self.now]
        if stale:
            self.set(stopping=tuple(d for d in self.state.stopping if d not in stale))

    def end_bake_if_due(self) -> None:
        current = self.state.current
        if current is None or current.state is not DeploymentState.BAKING:
            return
        if current.bake_until is not None and self.now < current.bake_until:
            return
        done = self.finish(current, DeploymentState.DONE, "baked")
        self.set(current=None)
        self.tell(NoticeKind.DONE, f"{describe(done)} finished baking", deployment=done)
        if not self.policy.is_last:
            self.onward = Onward(change=done.change, previous_pipeline_id=done.deploy_pipeline_id)

    # -- failure and rollback (rule 5) ----------------------------------------------------

    def fail(self, deployment: Deployment, why: str, *, pipeline_done: bool = False) -> None:
        """`deployment` failed; a running one's pipeline is stopped (unless `pipeline_done`:
        Semaphore reported it ended) and nothing starts until Semaphore shows it done."""
        failed = self.finish(deployment, DeploymentState.FAILED, why)
        self.set(current=None)
        if deployment.state is DeploymentState.RUNNING and not pipeline_done:
            self.stop.append(failed)
            self.set(stopping=(*self.state.stopping, failed))  # until Semaphore shows it done
        if failed.kind is DeploymentKind.ROLLBACK:
            self.hold_after_failed_rollback(failed, why)
            return
        self.set(bad=self.state.bad | {failed.change.sha})
        self.tell(NoticeKind.FAILED, f"{describe(failed)} failed: {why}", deployment=failed)
        self.apply_rollback_policy(failed, why)
        self.tell_wave(failed, why)

    def tell_wave(self, failed: Deployment, why: str) -> None:
        """A roll-forward failed on a target of a wave: the wave stops the change."""
        if self.policy.wave and failed.kind is DeploymentKind.ROLLFORWARD:
            self.wave_failure = Recall(change=failed.change, reason=why)

    def hold_after_failed_rollback(self, failed: Deployment, why: str) -> None:
        self.hold(
            f"rollback-failed:{failed.id}",
            f"rollback to {sha7(failed)} failed",
            NoticeKind.ROLLBACK_FAILED,
            f"Rollback to {sha7(failed)} failed ({why}); stage blocked until a person lifts it",
            deployment=failed,
        )

    def hold(
        self,
        blocker_id: str,
        reason: str,
        notice: NoticeKind,
        text: str,
        *,
        kind: BlockerKind = BlockerKind.MANUAL,
        author: str = "deploybot",
        **extra: Any,
    ) -> None:
        """Block the stage on deploybot's (or an alarm's) account, and say so. A manual hold
        stays until a person lifts it."""
        blocker = Blocker(
            id=blocker_id, kind=kind, reason=reason, author=author, created_at=self.now
        )
        self.set(blockers=(*self.state.blockers, blocker))
        self.tell(notice, text, blockers=(blocker,), actor=author, **extra)

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
                target, by="deploybot", reason=f"{sha7(failed)} failed: {why}", force=False
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
            f"Roll back to {sha7(target)}? Roll-forwards wait until someone decides",
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
            f"Rollback to {sha7(rollback)} queued",
            deployment=rollback,
            actor=by,
        )

    # -- starting (rules 1, 2, 3, 7) ------------------------------------------------------

    def next_startable(self) -> Deployment | None:
        current = self.state.current
        if current is not None and current.state is DeploymentState.RUNNING:
            return None
        if self.state.stopping:  # a stopped pipeline still runs: nothing starts beside it
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
            if self.holding(deployment) or self.awaits_approval(deployment):
                return None
            return deployment
        return None

    # -- approval (issue 16) --------------------------------------------------------------

    def awaits_approval(self, deployment: Deployment) -> bool:
        """A roll-forward on a stage requiring approval, without enough approvals yet.
        Rollbacks and emergencies never wait for approval."""
        gate = self.policy.approval
        if gate is None or deployment.kind is not DeploymentKind.ROLLFORWARD:
            return False
        return len(deployment.approvals) < gate.required

    def note_approval(self) -> None:
        """The head roll-forward that would start now but for blockers starts waiting for
        approval (told once; approvals may come while the stage is blocked); one that waited
        past `expires` ends."""
        gate = self.policy.approval
        head = next((d for d in self.state.queue if d.kind is DeploymentKind.ROLLFORWARD), None)
        if gate is None or head is None or not self.awaits_approval(head):
            return
        if head.approval_until is not None:
            if self.now >= head.approval_until:
                self.set(queue=tuple(d for d in self.state.queue if d.id != head.id))
                done = self.finish(head, DeploymentState.CANCELLED, "approval expired")
                self.tell(
                    NoticeKind.APPROVAL_EXPIRED,
                    f"{describe(done)} expired: {len(head.approvals)} of {gate.required} "
                    f"approvals in {format_duration(gate.expires)}",
                    deployment=done,
                )
            return
        current, rollbacks = self.state.current, self.state.pending_rollback
        if current is not None or rollbacks is not None or self.state.stopping:
            return
        if any(d.kind is DeploymentKind.ROLLBACK for d in self.state.queue):
            return
        waiting = head.model_copy(update={"approval_until": self.now + gate.expires})
        self.set(queue=tuple(waiting if d.id == head.id else d for d in self.state.queue))
        self.tell(
            NoticeKind.AWAITING_APPROVAL,
            f"{describe(waiting)} awaits approval: 0 of {gate.required}",
            deployment=waiting,
        )

    def start_next(self) -> None:
        chosen = self.next_startable()
        if chosen is None:
            return
        current = self.state.current
        if current is not None:  # baking: an emergency or a rollback ends the bake early
            ended = self.finish(
                current, DeploymentState.SUPERSEDED, f"bake ended by {chosen.kind} {sha7(chosen)}"
            )
            self.tell(
                NoticeKind.SUPERSEDED,
                f"{describe(ended)} stopped baking: {ended.outcome}",
                deployment=ended,
            )
            self._requeue_after_emergency(ended, chosen)
        running = chosen.moved(DeploymentState.RUNNING, started_at=self.now)
        self.set(current=running, queue=tuple(d for d in self.state.queue if d.id != chosen.id))
        self.start = running
        self.tell(
            NoticeKind.STARTED,
            f"{describe(running)} started",
            deployment=running,
            actor=running.triggered_by,
        )

    def _requeue_after_emergency(self, ended: Deployment, emergency: Deployment) -> None:
        """A change whose bake an emergency ended would never reach the later stages: it is
        queued again here, to deploy and bake after the emergency (and then go onward)."""
        if (
            emergency.kind is not DeploymentKind.EMERGENCY
            or ended.kind is not DeploymentKind.ROLLFORWARD
            or ended.change.sha == emergency.change.sha
            or ended.change.sha in self.state.bad  # it failed on another target of the wave
            or self.policy.is_last
        ):
            return
        again = self.new_deployment(
            DeploymentKind.ROLLFORWARD, ended.change, ended.source_pipeline_id
        )
        self.enqueue(again)
        self.tell(
            NoticeKind.QUEUED,
            f"{sha7(again)} queued for {self.policy.stage} again after the emergency "
            f"{sha7(emergency)}, so it still goes onward",
            deployment=again,
        )
        self.note_holds()  # it may wait on a blocker the emergency bypassed

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
            self.tell(
                NoticeKind.UNBLOCKED,
                "No blockers left: the queue drains",
                deployment=head,
                cleared=self.state.held_by,
            )
        self.set(held_by=ids)

    def enforce_target(self) -> bool | None:
        """Rule of `enforce: true`: the target is active while a deployment starts or runs and
        while nothing blocks the stage; otherwise inactive, so nobody deploys around deploybot."""
        if not self.policy.enforce:
            return None
        current = self.state.current
        running = current is not None and current.state is DeploymentState.RUNNING
        active = running or not self.active_blockers()
        if active == self.state.target_active:
            return None
        self.set(target_active=active)
        return active

    def decision(self) -> Decision:
        target_active = self.enforce_target()
        changed = self.state != self.snap.state
        state = self.state.model_copy(update={"version": self.snap.state.version + 1})
        return Decision(
            state=state,
            changed=changed,
            finished=tuple(self.finished),
            start=self.start,
            stop=tuple(self.stop),
            onward=self.onward,
            recall=self.recall,
            wave_failure=self.wave_failure,
            notices=tuple(self.notices),
            blocked_by=self.active_blockers(),
            target_active=target_active,
            restored=tuple(self.restored),
        )


def sha7(deployment: Deployment) -> str:
    return deployment.change.sha[:7]


def describe(deployment: Deployment) -> str:
    return f"{deployment.kind} of {sha7(deployment)} to {deployment.stage}"


def _queue_order(deployment: Deployment) -> tuple[int, float]:
    """Rollbacks first, then emergencies, then roll-forwards (rule 1); roll-forwards by their
    commit's time, so with `supersede: false` changes deploy in the order they were made even
    when CI finishes out of order. Others keep their arrival order (the sort is stable)."""
    made = deployment.change.created_at.timestamp()
    return PRIORITY[deployment.kind], made if deployment.kind is DeploymentKind.ROLLFORWARD else 0.0
