"""What the rules see (a snapshot) and what they say (a decision)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from bot.core.model import Blocker, Change, Deployment, Frozen, StagePolicy, StageState


class StageSnapshot(Frozen):
    """One stage as the rules see it at `now`."""

    policy: StagePolicy
    state: StageState
    #: Window, holiday and configured freeze blockers, evaluated for `now` from configuration.
    calendar: tuple[Blocker, ...] = ()
    #: Semaphore's deployment history's answer to "last good", for when deploybot has none.
    external_last_good: Deployment | None = None


class NoticeKind(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"
    UNBLOCKED = "unblocked"
    STARTED = "started"
    NOT_STARTED = "not_started"
    BAKING = "baking"
    DONE = "done"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"
    ROLLBACK_QUEUED = "rollback_queued"
    ROLLBACK_NEEDS_APPROVAL = "rollback_needs_approval"
    ROLLBACK_DISMISSED = "rollback_dismissed"
    ROLLBACK_FAILED = "rollback_failed"
    NO_ROLLBACK_TARGET = "no_rollback_target"
    ALARM_AFTER_BAKE = "alarm_after_bake"
    BLOCKER_ADDED = "blocker_added"
    BLOCKER_LIFTED = "blocker_lifted"
    EMERGENCY_QUEUED = "emergency_queued"
    REFUSED = "refused"
    #: A roll-forward reached the head of a stage requiring approval: it waits for it.
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    APPROVAL_REJECTED = "approval_rejected"
    APPROVAL_EXPIRED = "approval_expired"
    #: A deployment deploybot did not start (promoted in Semaphore's UI) finished.
    OUTSIDE = "outside"
    #: ... on a stage that was blocked: someone went past the block.
    OUTSIDE_PAST_BLOCK = "outside_past_block"


#: Notices that are broadcast to the channel, not only posted in the change's thread.
BROADCAST = frozenset(
    {
        NoticeKind.FAILED,
        NoticeKind.NOT_STARTED,
        NoticeKind.ROLLBACK_QUEUED,
        NoticeKind.ROLLBACK_NEEDS_APPROVAL,
        NoticeKind.ROLLBACK_FAILED,
        NoticeKind.ALARM_AFTER_BAKE,
        NoticeKind.NO_ROLLBACK_TARGET,
        NoticeKind.OUTSIDE_PAST_BLOCK,
        NoticeKind.APPROVAL_REJECTED,
        NoticeKind.APPROVAL_EXPIRED,
    }
)


class Notice(Frozen):
    """Something to tell people. `text` is plain (unescaped); the renderer escapes it."""

    kind: NoticeKind
    project: str
    stage: str
    text: str
    actor: str = "deploybot"
    deployment: Deployment | None = None
    blockers: tuple[Blocker, ...] = ()
    #: For rollback alerts: the deployment a rollback would restore.
    rollback_target: Deployment | None = None
    #: For `unblocked`: the ids of the blockers that held the queue until now (`window`, ...).
    cleared: tuple[str, ...] = ()


class Onward(Frozen):
    """A change that finished baking here and is ready for the next stage."""

    change: Change
    previous_pipeline_id: str


class Recall(Frozen):
    """A change found bad here after it went onward (a late alarm): later stages hold it."""

    change: Change
    reason: str


class Decision(Frozen):
    """The outcome of one event on one stage. The store applies `state`, `finished` and the
    audit entries atomically; the effects (`start`, `stop`, `onward`, `notices`) follow."""

    state: StageState
    changed: bool
    finished: tuple[Deployment, ...] = ()
    start: Deployment | None = None
    #: Deploy pipelines to terminate (a deployment failed by an alarm while still running).
    stop: tuple[Deployment, ...] = ()
    onward: Onward | None = None
    recall: Recall | None = None
    #: A roll-forward failed on this target of a wave: its siblings hear of it.
    wave_failure: Recall | None = None
    notices: tuple[Notice, ...] = ()
    #: Active blockers after the decision (stored and calendar).
    blocked_by: tuple[Blocker, ...] = ()
    #: For `enforce: true`: activate (True) or deactivate (False) the Semaphore deployment
    #: target; None when it stays as it is.
    target_active: bool | None = None
    #: Times to restore: for each good deployment that ended a failure here, how long since
    #: the failure (`StageState.broken_since`).
    restored: tuple[timedelta, ...] = ()
