"""A deployment Semaphore never started (DESIGN.md section 4 rule 9).

Semaphore's 200 to a promotion only means it recorded the trigger. When it gives up on it
(its deadline, a full pipeline queue, a deployment target it checks again), refuses it, or
starts no pipeline within the stage's `start_timeout`, the attempt ends `cancelled` ("not
started: ...") and the change goes back to the head of the queue as a new deployment (so a
new request token), to be tried again; with `supersede`, a newer change queued meanwhile goes
instead. After `MAX_START_ATTEMPTS` the stage is blocked, naming Semaphore's reason, and the
change waits at the head of the queue until a person lifts the blocker (an emergency
deployment, which no blocker holds, ends instead: its requester is told). No deployment stays
running without a pipeline past `start_timeout`.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.decision import NoticeKind
from bot.core.draft import Draft, describe, sha7
from bot.core.durations import format_duration
from bot.core.model import Deployment, DeploymentKind, DeploymentState

MAX_START_ATTEMPTS = 3
#: The blocker of a stage whose Semaphore deployment target was found deactivated.
TARGET_INACTIVE = "target-inactive"


def end_start_if_overdue(draft: Draft) -> None:
    """The running deployment has waited `start_timeout` for a pipeline: it did not start."""
    current = draft.state.current
    if current is None or current.state is not DeploymentState.RUNNING:
        return
    if current.deploy_pipeline_id:
        return
    timeout = draft.policy.start_timeout
    if draft.now < (current.started_at or current.created_at) + timeout:
        return
    reason = f"Semaphore started no pipeline within {format_duration(timeout)}"
    not_started(draft, current, reason, None)


def not_started(
    draft: Draft,
    deployment: Deployment,
    reason: str,
    triggered_at: datetime | None,
    target_inactive: bool = False,
    promotion_missing: bool = False,
) -> None:
    done = draft.finish(deployment, DeploymentState.CANCELLED, f"not started: {reason}")
    draft.set(current=None)
    if target_inactive and done.kind is not DeploymentKind.EMERGENCY:
        _wait_for_target(draft, done, reason, triggered_at)
        return
    if promotion_missing and done.kind is DeploymentKind.ROLLBACK:
        _hold_missing_rollback(draft, done, reason)
        return
    if done.kind is DeploymentKind.ROLLFORWARD and done.change.sha in draft.state.bad:
        # It failed on another target of this stage's wave meanwhile (issue 18).
        draft.tell(
            NoticeKind.NOT_STARTED,
            f"{describe(done)} did not start: {reason}; not tried again, it failed on another "
            "target of the wave",
            deployment=done,
        )
        return
    last = done.attempt >= MAX_START_ATTEMPTS
    again = draft.new_deployment(
        done.kind,
        done.change,
        done.source_pipeline_id,
        triggered_by=done.triggered_by,
        reason=done.reason,
        # After the last attempt a person decides: a forced rollback waits for them too.
        force=done.force and not last,
        attempt=1 if last else done.attempt + 1,
        previous_trigger_at=triggered_at or done.previous_trigger_at,
    )
    if last and done.kind is not DeploymentKind.EMERGENCY:  # a blocker never holds those
        _hold(draft, done, reason)
    newer = _newer_queued(draft, again)
    if newer is not None:
        superseded = draft.finish(again, DeploymentState.SUPERSEDED, f"newer change {sha7(newer)}")
        draft.tell(
            NoticeKind.NOT_STARTED,
            f"{describe(done)} did not start: {reason}; {sha7(newer)}, newer, goes instead",
            deployment=superseded,
        )
    elif done.kind is DeploymentKind.EMERGENCY and last:
        draft.tell(
            NoticeKind.NOT_STARTED,
            f"{describe(done)} did not start {MAX_START_ATTEMPTS} times: {reason}; ask for "
            "it again once Semaphore can start it",
            deployment=done,
        )
    else:
        draft.enqueue(again)
        if not last:
            draft.tell(
                NoticeKind.NOT_STARTED,
                f"{describe(done)} did not start: {reason}; trying again "
                f"(attempt {again.attempt} of {MAX_START_ATTEMPTS})",
                deployment=again,
            )


def _wait_for_target(
    draft: Draft, done: Deployment, reason: str, triggered_at: datetime | None
) -> None:
    """Issue 13 item 6: the stage's deployment target is deactivated in Semaphore. Trying
    again cannot help; the change waits at the head of the queue behind a blocker that lifts
    by itself once reconciliation sees the target active again (or that a person lifts)."""
    again = draft.new_deployment(
        done.kind,
        done.change,
        done.source_pipeline_id,
        triggered_by=done.triggered_by,
        reason=done.reason,
        force=done.force,
        previous_trigger_at=triggered_at or done.previous_trigger_at,
    )
    draft.enqueue(again)
    if any(b.id == TARGET_INACTIVE for b in draft.state.blockers):
        return
    stage, target = draft.policy.stage, draft.policy.target or draft.policy.stage
    draft.hold(
        TARGET_INACTIVE,
        f"Semaphore's deployment target {target} is deactivated ({reason})",
        NoticeKind.BLOCKER_ADDED,
        f"Blocked: Semaphore refused to deploy {sha7(done)} to {stage} because its deployment "
        f"target {target} is deactivated. {sha7(done)} waits and deploys once the target is "
        f"active again (checked at every reconciliation), or when a person lifts this blocker",
        author="semaphore",
        deployment=again,
    )


def _hold_missing_rollback(draft: Draft, done: Deployment, reason: str) -> None:
    """Issue 12 bot item 4: the old commit's pipeline file does not declare the promotion the
    rollback uses. Trying again cannot help: the stage is held, and people are told what
    they can do instead. Nothing is lost silently."""
    stage = draft.policy.stage
    promotion = draft.policy.rollback_promotion or draft.policy.promotion
    draft.hold(
        f"rollback-not-started:{done.id}",
        f"rollback to {sha7(done)} could not start ({reason})",
        NoticeKind.ROLLBACK_FAILED,
        f"Rollback to {sha7(done)} could not start: {reason}. {sha7(done)}'s pipeline file "
        f"does not declare the promotion `{promotion}`. Roll back with `/deploy rollback "
        f"{stage} to SHA` to a commit whose file declares it, or declare `{promotion}` in "
        "CI for every commit (`rollback.promotion` in deploybot's configuration); then lift "
        "this blocker",
        deployment=done,
    )


def _hold(draft: Draft, done: Deployment, reason: str) -> None:
    """One message to the channel: what happened, and what to do about it."""
    stage = draft.policy.stage
    draft.hold(
        f"not-started:{done.id}",
        f"{sha7(done)} did not start on {stage} {MAX_START_ATTEMPTS} times ({reason}): "
        f"check its promotion in Semaphore, then unblock {stage} to try again",
        NoticeKind.BLOCKER_ADDED,
        f"Blocked: {describe(done)} did not start {MAX_START_ATTEMPTS} times ({reason}). Check "
        f"the promotion in Semaphore, then lift this blocker to try again",
        deployment=done,
    )


def _newer_queued(draft: Draft, again: Deployment) -> Deployment | None:
    """With `supersede`, a newer roll-forward queued meanwhile goes instead of `again`."""
    if again.kind is not DeploymentKind.ROLLFORWARD or not draft.policy.supersede:
        return None
    newer = [
        d
        for d in draft.state.queue
        if d.kind is DeploymentKind.ROLLFORWARD and d.change.created_at > again.change.created_at
    ]
    return newer[-1] if newer else None
