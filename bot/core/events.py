"""What can happen to a stage. Every event carries an `id`: the idempotency key under which it
is recorded, so the same event applied twice (a duplicate webhook, a second replica, a replay
after a restart) changes nothing the second time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from bot.core.model import Blocker, Change, Frozen


class _Event(Frozen):
    id: str


class Shown(Frozen):
    """What a person acted on: the state a button's message or a modal showed them. The rules
    check it against the stage when the request arrives (DESIGN.md rule 10), and a request
    whose stage moved on since changes nothing (bot.core.stale says what changed).
    """

    #: The deployment the message was about (the failed one of a rollback alert, the deployed
    #: one of an alarm alert), or the one live when a rollback modal opened.
    deployment_id: str = ""
    #: The sha a rollback would restore, as shown.
    to_sha: str | None = None
    #: The blocker shown (an Unblock button's; an alarm alert's alarm), and when it was made.
    blocker_id: str = ""
    blocker_since: datetime | None = None
    #: The manual blockers a rollback modal said it would go past (None: not a modal's).
    past: tuple[str, ...] | None = None


class ChangeReady(_Event):
    """CI passed on the deploy branch (first stage) or the previous stage finished baking."""

    type: Literal["change_ready"] = "change_ready"
    change: Change
    #: The previous stage's deploy pipeline, for stages whose promotion hangs off it.
    previous_pipeline_id: str = ""


class DeploymentStarted(_Event):
    """Semaphore confirmed the promotion: the deploy pipeline's id is known."""

    type: Literal["deployment_started"] = "deployment_started"
    deployment_id: str
    pipeline_id: str


class DeploymentNotStarted(_Event):
    """Semaphore accepted the promotion and will never start its pipeline (it gave up, or
    refused it), or started none within the stage's `start_timeout`."""

    type: Literal["deployment_not_started"] = "deployment_not_started"
    deployment_id: str
    #: Semaphore's reason, in a sentence people can act on.
    reason: str
    #: When Semaphore recorded the trigger (its clock), if it did.
    triggered_at: datetime | None = None
    #: Semaphore refused it because the stage's deployment target is deactivated: the change
    #: waits until the target is active again (bot.core.starts).
    target_inactive: bool = False
    #: Semaphore refused it because the source pipeline's file declares no such promotion
    #: (an old commit's file, for a rollback): trying again cannot help.
    promotion_missing: bool = False


class DeploymentFinished(_Event):
    type: Literal["deployment_finished"] = "deployment_finished"
    deployment_id: str
    outcome: Literal["succeeded", "failed", "cancelled"]
    detail: str = ""


class BakeFinished(_Event):
    type: Literal["bake_finished"] = "bake_finished"
    deployment_id: str


class AlarmFiring(_Event):
    type: Literal["alarm_firing"] = "alarm_firing"
    alarm: str
    reason: str = ""
    #: When the alert began (Alertmanager's `startsAt`): events of one alarm are ordered by
    #: it, not by arrival. None: unknown, applied in arrival order.
    started: datetime | None = None


class AlarmResolved(_Event):
    type: Literal["alarm_resolved"] = "alarm_resolved"
    alarm: str
    #: The `startsAt` of the firing this resolves.
    started: datetime | None = None


class BlockerAdded(_Event):
    type: Literal["blocker_added"] = "blocker_added"
    blocker: Blocker


class BlockerLifted(_Event):
    type: Literal["blocker_lifted"] = "blocker_lifted"
    blocker_id: str
    by: str
    shown: Shown | None = None


class Tick(_Event):
    """A moment to look again: a window or freeze boundary, a blocker expiry, a bake end."""

    type: Literal["tick"] = "tick"


class RollbackApproved(_Event):
    """Approve on a rollback alert. With `shown`, only the alert's own rollback: the pending
    one of its failed deployment, or (an alarm alert: `shown.blocker_id` is the alarm) a
    rollback of the deployment it named while that is live and the alarm fires."""

    type: Literal["rollback_approved"] = "rollback_approved"
    by: str
    shown: Shown | None = None


class RollbackDismissed(_Event):
    type: Literal["rollback_dismissed"] = "rollback_dismissed"
    by: str
    shown: Shown | None = None


class EmergencyRequested(_Event):
    type: Literal["emergency_requested"] = "emergency_requested"
    change: Change
    source_pipeline_id: str
    by: str
    reason: str


class RollbackRequested(_Event):
    """A person asks to roll the stage back (to last good, or to a given sha)."""

    type: Literal["rollback_requested"] = "rollback_requested"
    by: str
    reason: str = ""
    to_sha: str | None = None
    #: Roll back even though a manual blocker holds the stage.
    force: bool = False
    #: What the modal showed: the live deployment and the blockers it goes past.
    shown: Shown | None = None


class ResetRequested(_Event):
    """A person forgets the deployment deploybot believes is running (`/deploy reset`); only
    the one the confirmation modal showed (`shown.deployment_id`)."""

    type: Literal["reset_requested"] = "reset_requested"
    by: str
    reason: str
    shown: Shown


class ApprovalGiven(_Event):
    """A person with the approve role approves the roll-forward `deployment_id` waiting for
    approval (issue 16); the service checked they wrote none of the changes it carries."""

    type: Literal["approval_given"] = "approval_given"
    deployment_id: str
    by: str


class ApprovalRejected(_Event):
    """A person rejects the roll-forward `deployment_id`: its journey ends at this stage."""

    type: Literal["approval_rejected"] = "approval_rejected"
    deployment_id: str
    by: str
    reason: str


class ChangeRecalled(_Event):
    """The change failed on an earlier stage after it went onward (a late alarm)."""

    type: Literal["change_recalled"] = "change_recalled"
    change: Change
    from_stage: str
    reason: str


class SiblingFailed(_Event):
    """The change failed on another target of this stage's wave (issue 18): the wave stops
    it. A copy still queued here never starts; with `rollback: {scope: wave}` a copy
    deploying, baking or live here fails too, and the stage rolls back by its policy."""

    type: Literal["sibling_failed"] = "sibling_failed"
    change: Change
    #: The target it failed on (`WAVE/TARGET`).
    from_stage: str
    reason: str


class OutsideDeployment(_Event):
    """A deploy pipeline of the stage's promotion that deploybot did not start (a person
    promoted in Semaphore's UI, or an auto-promotion) finished (issue 13 item 16)."""

    type: Literal["outside_deployment"] = "outside_deployment"
    change: Change
    #: The pipeline it was promoted from, and the promoted (deploy) pipeline.
    source_pipeline_id: str
    pipeline_id: str
    promotion: str
    #: Who Semaphore says triggered the promotion.
    by: str
    outcome: Literal["succeeded", "failed", "cancelled"]


Event = Annotated[
    ChangeReady
    | DeploymentStarted
    | DeploymentNotStarted
    | DeploymentFinished
    | BakeFinished
    | AlarmFiring
    | AlarmResolved
    | BlockerAdded
    | BlockerLifted
    | Tick
    | RollbackApproved
    | RollbackDismissed
    | EmergencyRequested
    | RollbackRequested
    | OutsideDeployment
    | ChangeRecalled
    | SiblingFailed
    | ResetRequested
    | ApprovalGiven
    | ApprovalRejected,
    Field(discriminator="type"),
]

EVENT = TypeAdapter[Event](Event)
