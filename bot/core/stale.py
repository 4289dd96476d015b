"""Requests made from what a person was shown (a button on a message, a modal), checked
against the stage as it is now (DESIGN.md section 4 rule 10). What a request was made for
travels with it as `Shown`; when the stage moved on since, the request changes nothing, and
these functions say in a sentence what changed (None: the request still fits).

    approval_moved_on(draft, shown)       Approve / Dismiss on a rollback alert
    alarm_alert_moved_on(draft, shown)    Approve / Dismiss on an alarm-after-bake alert
    blocker_moved_on(draft, blocker, shown)   Unblock
    rollback_moved_on(draft, shown, force)    the manual rollback's modal
"""

from __future__ import annotations

from bot.core.draft import Draft, describe, sha7
from bot.core.events import Shown
from bot.core.model import (
    Blocker,
    BlockerKind,
    Deployment,
    DeploymentKind,
    DeploymentState,
    StageState,
)


def live(state: StageState) -> Deployment | None:
    """The deployment the stage carries now: the one baking, else the last that finished good."""
    current = state.current
    if current is not None and current.state is DeploymentState.BAKING:
        return current
    return state.good[0] if state.good else None


def label(deployment: Deployment) -> str:
    """`abc1234 (first line of its message)`."""
    title = deployment.change.message.strip().splitlines()[0] if deployment.change.message else ""
    return f"{sha7(deployment)} ({title[:60]})" if title else sha7(deployment)


def approval_moved_on(draft: Draft, shown: Shown, *, approving: bool = True) -> str | None:
    """A rollback alert's button: its pending rollback must still be the one waiting, and
    (to approve it) nothing may have deployed since the failure: an emergency's fix is not
    rolled back by an alert about what it fixed. Dismissing such a rollback is always fine."""
    pending, stage = draft.state.pending_rollback, draft.policy.stage
    if pending is not None and pending.failed_deployment_id == shown.deployment_id:
        target = pending.target
        if shown.to_sha is not None and (target is None or target.change.sha != shown.to_sha):
            return f"the rollback waiting on {stage} restores another deployment than this shows"
        if not approving:
            return None
        current, now = draft.state.current, live(draft.state)
        if current is not None and current.state is DeploymentState.RUNNING:
            return f"{stage} moved on since this alert: {describe(current)} is running"
        if now is not None and now.created_at > pending.created_at:
            return f"{stage} moved on since this alert: {label(now)} was deployed after it"
        return None
    if pending is not None:
        return (
            f"the rollback waiting for approval on {stage} is for {pending.bad_sha[:7]}, "
            "not for this alert's deployment: use the buttons of its own alert"
        )
    return _decided(draft)


def _decided(draft: Draft) -> str:
    """What became of a rollback that no longer waits for approval."""
    stage, current = draft.policy.stage, draft.state.current
    for deployment in (*([current] if current else []), *draft.state.queue):
        if deployment.kind is DeploymentKind.ROLLBACK:
            return f"a rollback to {sha7(deployment)} is already {deployment.state} on {stage}"
    now = live(draft.state)
    runs = f"; {stage} runs {label(now)}" if now is not None else ""
    return f"this rollback was already approved or dismissed{runs}"


def alarm_alert_moved_on(draft: Draft, shown: Shown) -> str | None:
    """An alarm-after-bake alert's button: the deployment it named must still be live, with
    nothing deploying, and its alarm still firing."""
    stage, current = draft.policy.stage, draft.state.current
    if current is not None and current.state is DeploymentState.RUNNING:
        return f"{stage} moved on since this alert: {describe(current)} is running"
    now = live(draft.state)
    if now is None or now.id != shown.deployment_id:
        runs = f"{label(now)} is live there now" if now is not None else "nothing is live there"
        return f"{stage} moved on since this alert: {runs}"
    alarm = next((b for b in draft.state.blockers if b.id == shown.blocker_id), None)
    name = shown.blocker_id.removeprefix("alarm:")
    if alarm is None:
        return f"the alarm {name} this alert was about has resolved; {stage} runs {label(now)}"
    if shown.blocker_since is not None and alarm.created_at != shown.blocker_since:
        return f"this alert is about an earlier firing of {name}; it fired again since"
    target = draft.last_good(exclude=now.change.sha)
    if shown.to_sha is not None and (target is None or target.change.sha != shown.to_sha):
        instead = f"is {label(target)}" if target is not None else "is not known"
        return f"the last good deployment to roll back to {instead} now"
    return None


def blocker_moved_on(draft: Draft, blocker: Blocker, shown: Shown | None) -> str | None:
    """An Unblock button: the blocker it shows must be the one on the stage (an alarm's id
    is the same every time it fires)."""
    if shown is None or shown.blocker_since is None or blocker.created_at == shown.blocker_since:
        return None
    return (
        f"{draft.policy.stage} was blocked again since this message ({blocker.kind}: "
        f"{blocker.reason})"
    )


def rollback_moved_on(draft: Draft, shown: Shown | None, force: bool) -> str | None:
    """A manual rollback's modal: the stage must still run what the modal showed, and a
    rollback past manual blockers goes past only those the modal named."""
    if shown is None:
        return None
    stage = draft.policy.stage
    now = live(draft.state)
    if shown.deployment_id and (now is None or now.id != shown.deployment_id):
        runs = f"{label(now)} is live there now" if now is not None else "nothing is live there"
        return f"{stage} moved on since the rollback was asked for: {runs}"
    if force and shown.past is not None:
        added = [
            b
            for b in draft.active_blockers()
            if b.kind is BlockerKind.MANUAL and b.id not in shown.past
        ]
        if added:
            reasons = "; ".join(b.reason for b in added)
            return f"{stage} was blocked since the rollback was asked for: {reasons}"
    return None
