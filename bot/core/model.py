"""The deployment domain: changes, deployments, blockers and the state of one stage.

Pure values only: nothing here talks to Slack, Redis or HTTP. Every value is a frozen
pydantic model so it round-trips through JSON unchanged (the store keeps it as JSON).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from bot.errors import DeploybotError


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeploymentKind(StrEnum):
    ROLLFORWARD = "rollforward"
    ROLLBACK = "rollback"
    EMERGENCY = "emergency"
    #: A promotion deploybot did not start (a person in Semaphore's UI): only recorded.
    OUTSIDE = "outside"


class DeploymentState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"
    BAKING = "baking"
    DONE = "done"


#: How long a started deployment waits for Semaphore to start its pipeline, unless configured.
DEFAULT_START_TIMEOUT = timedelta(minutes=5)
#: States in which a deployment occupies its stage (rule 1: at most one per stage).
ACTIVE = frozenset({DeploymentState.RUNNING, DeploymentState.BAKING})
#: States a deployment never leaves.
FINISHED = frozenset(
    {
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.SUPERSEDED,
        DeploymentState.CANCELLED,
        DeploymentState.DONE,
    }
)
#: Finished states that left the change on the stage and working ("last good" candidates).
GOOD = frozenset({DeploymentState.SUCCEEDED, DeploymentState.DONE})
UNSUCCESSFUL = frozenset(
    {DeploymentState.FAILED, DeploymentState.SUPERSEDED, DeploymentState.CANCELLED}
)

#: The one transition table. A succeeded roll-forward goes straight on to baking; rollbacks
#: and emergency deployments end at succeeded (they never bake towards a later stage).
TRANSITIONS: dict[DeploymentState, frozenset[DeploymentState]] = {
    DeploymentState.QUEUED: frozenset(
        {DeploymentState.RUNNING, DeploymentState.SUPERSEDED, DeploymentState.CANCELLED}
    ),
    DeploymentState.RUNNING: frozenset(
        {
            DeploymentState.SUCCEEDED,
            DeploymentState.BAKING,
            DeploymentState.FAILED,
            DeploymentState.CANCELLED,
        }
    ),
    DeploymentState.BAKING: frozenset(
        {DeploymentState.DONE, DeploymentState.FAILED, DeploymentState.SUPERSEDED}
    ),
    DeploymentState.SUCCEEDED: frozenset(),
    DeploymentState.FAILED: frozenset(),
    DeploymentState.SUPERSEDED: frozenset(),
    DeploymentState.CANCELLED: frozenset(),
    DeploymentState.DONE: frozenset(),
}


class IllegalTransition(DeploybotError, ValueError):
    """A deployment was asked to move to a state the transition table does not allow."""


class BlockerKind(StrEnum):
    MANUAL = "manual"
    WINDOW = "window"
    FREEZE = "freeze"
    ALARM = "alarm"


class RollbackPolicy(StrEnum):
    AUTO = "auto"
    APPROVE = "approve"
    OFF = "off"


class AfterRollback(StrEnum):
    CONTINUE = "continue"
    HOLD = "hold"


class Change(Frozen):
    """One commit travelling through the stages."""

    sha: str
    message: str = ""
    author: str = ""
    workflow_id: str = ""
    ci_pipeline_id: str = ""
    #: The Git repository's web address, as Semaphore's webhook gives it ("" when unknown).
    repository_url: str = ""
    created_at: datetime


class Deployment(Frozen):
    """One attempt to put a change on a stage. A rollback is a deployment of an older change."""

    id: str
    project: str
    stage: str
    kind: DeploymentKind
    change: Change
    state: DeploymentState = DeploymentState.QUEUED
    #: The pipeline the promotion is triggered on (CI pipeline or previous stage's deploy).
    source_pipeline_id: str = ""
    #: The pipeline Semaphore started for the promotion, once known.
    deploy_pipeline_id: str = ""
    triggered_by: str = "deploybot"
    reason: str = ""
    #: A person chose to roll back despite manual blockers.
    force: bool = False
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    bake_until: datetime | None = None
    outcome: str = ""
    #: Which attempt to start this change here this is: one Semaphore accepted and never
    #: started is tried again as a new deployment (bot.core.starts).
    attempt: int = 1
    #: When Semaphore recorded the trigger of the attempt before this one (its clock), if
    #: it did: this attempt's promotion is one triggered later.
    previous_trigger_at: datetime | None = None
    #: A stage requiring approval: who approved this roll-forward (Slack user ids), and until
    #: when it waits for them (set when it starts waiting: it reached the head of the queue).
    approvals: tuple[str, ...] = ()
    approval_until: datetime | None = None

    def moved(self, state: DeploymentState, **changes: object) -> Deployment:
        """This deployment in `state`, checked against the transition table."""
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.id}: {self.state} -> {state}")
        return self.model_copy(update={"state": state, **changes})


#: The longest reason (a block's, a freeze's, an emergency's, a rollback's) a person may give.
REASON_LIMIT = 500


class Blocker(Frozen):
    """A reason a stage may not deploy now. Window blockers are computed, never stored."""

    id: str
    kind: BlockerKind
    reason: str
    author: str
    created_at: datetime
    #: When the block begins (a scheduled freeze starts later than it is created).
    starts_at: datetime | None = None
    #: When it ends by itself; None means until lifted (or resolved, for alarms).
    until: datetime | None = None

    def active(self, now: datetime) -> bool:
        if self.starts_at is not None and now < self.starts_at:
            return False
        return self.until is None or now < self.until

    def holds(self, deployment: Deployment) -> bool:
        """Whether this blocker keeps `deployment` waiting (rule 3 and rule 7)."""
        if deployment.kind is DeploymentKind.EMERGENCY:
            return False
        if deployment.kind is DeploymentKind.ROLLBACK:
            return self.kind is BlockerKind.MANUAL and not deployment.force
        return True


class AlarmEpisode(Frozen):
    """The latest firing of an alarm a stage has heard of: when it began, and whether its
    resolution has arrived (notifications of one alarm can arrive out of order)."""

    alarm: str
    started: datetime
    resolved: bool = False


class PendingRollback(Frozen):
    """A failed deployment whose rollback waits for an approver (policy `approve`)."""

    failed_deployment_id: str
    bad_sha: str
    target: Deployment | None
    reason: str
    created_at: datetime


class ApprovalPolicy(Frozen):
    """A stage's approval gate: `required` distinct approvers with the approve role, none of
    them an author of the changes shipped unless `allow_author`; waiting at most `expires`."""

    required: int = 1
    allow_author: bool = False
    expires: timedelta = timedelta(hours=24)


class StagePolicy(Frozen):
    """What the rules need to know of a stage's configuration."""

    project: str
    stage: str
    promotion: str
    rollback_promotion: str | None = None
    #: A promotion declared in the CI pipeline for emergency deployments (a stage hanging off
    #: the previous one), when the change never reached the previous stage.
    emergency_promotion: str | None = None
    hangs_off_previous: bool = False
    #: When the previous stage is a wave: the target (`WAVE/TARGET`) whose deploy pipeline
    #: declares this stage's promotion.
    source_target: str = ""
    #: The wave this stage is a target of ("" for a stage of one target).
    wave: str = ""
    #: A failure here rolls back every target of the wave that took the change
    #: (`rollback: {scope: wave}`).
    wave_rollback: bool = False
    rollback: RollbackPolicy = RollbackPolicy.AUTO
    after_rollback: AfterRollback = AfterRollback.CONTINUE
    bake: timedelta = timedelta(0)
    supersede: bool = True
    #: Deactivate the Semaphore deployment target while the stage is blocked.
    enforce: bool = False
    #: The Semaphore deployment target's name.
    target: str = ""
    is_last: bool = False
    #: How long a started deployment may wait for Semaphore to start its pipeline.
    start_timeout: timedelta = DEFAULT_START_TIMEOUT
    #: Roll-forwards wait for approval here (None: they do not).
    approval: ApprovalPolicy | None = None


class StageState(Frozen):
    """Everything stored about one stage, written as a whole by one atomic apply."""

    version: int = 0
    current: Deployment | None = None
    queue: tuple[Deployment, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    bad: frozenset[str] = frozenset()
    pending_rollback: PendingRollback | None = None
    #: Deployments that finished good here, newest first (capped): "last good" comes from here.
    good: tuple[Deployment, ...] = ()
    #: Shas seen on this stage recently, so the same change is never queued twice.
    seen: tuple[str, ...] = ()
    #: Ids of the blockers holding the head of the queue at the last decision (rule 2 notices).
    held_by: tuple[str, ...] = ()
    #: Whether the Semaphore deployment target should be active (for `enforce: true`).
    target_active: bool = True
    #: Per alarm, its latest episode (capped, newest kept): a late `firing` of an episode
    #: already resolved, or a late `resolved` of an older one, changes nothing.
    alarms: tuple[AlarmEpisode, ...] = ()
    #: Set when the store first creates the stage (random): deployment ids, and so Semaphore
    #: request tokens, never repeat after the store is wiped, flushed or replaced.
    epoch: str = ""
    #: Deployments whose pipeline deploybot stopped and Semaphore has not shown done yet
    #: (a stopping pipeline still runs its epilogues): nothing starts on the stage meanwhile.
    stopping: tuple[Deployment, ...] = ()
    #: The pipelines the stage's deployments took as theirs, newest last (capped at
    #: CLAIMED_LIMIT): a later deployment promoted from the same source by the same promotion
    #: never takes one of them (a deployment stopped before its pipeline was known is in the
    #: history without it).
    claimed: tuple[str, ...] = ()
    #: Since when the stage is broken: a roll-forward failed here, or a rollback was asked
    #: for, and no deployment has ended good since (time to restore is measured from it).
    broken_since: datetime | None = None


#: How many claimed pipeline ids a stage remembers.
CLAIMED_LIMIT = 50


class AuditEntry(Frozen):
    at: datetime
    project: str
    stage: str
    actor: str
    action: str
    detail: str = ""
