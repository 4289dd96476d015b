"""Semaphore's enumerations, normalised to lower-case string values.

The API spells one enum differently per endpoint: pipeline describe sends ``"done"``, pipeline
list sends ``"DONE"``, the webhook ``"done"``; some nested enums arrive as proto integers
(``"ppl_triggered_by": 1``, workflow list ``"triggered_by": 1``). The models accept every form
and store the lower-case member, so callers never care which endpoint a value came from.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator

E = TypeVar("E", bound=StrEnum)


class PipelineState(StrEnum):
    INITIALIZING = "initializing"
    PENDING = "pending"
    QUEUING = "queuing"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"


class PipelineResult(StrEnum):
    PASSED = "passed"
    STOPPED = "stopped"
    CANCELED = "canceled"
    FAILED = "failed"


class ResultReason(StrEnum):
    TEST = "test"
    MALFORMED = "malformed"
    STUCK = "stuck"
    USER = "user"
    INTERNAL = "internal"
    STRATEGY = "strategy"
    FAST_FAILING = "fast_failing"
    DELETED = "deleted"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


class BlockState(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    STOPPING = "stopping"
    DONE = "done"
    INITIALIZING = "initializing"


class JobStatus(StrEnum):
    ENQUEUED = "enqueued"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"


class JobResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    STOPPED = "stopped"


class WorkflowTrigger(StrEnum):
    """Who started a workflow (wire integers 0..3 in the same order)."""

    HOOK = "hook"
    SCHEDULE = "schedule"
    API = "api"
    MANUAL_RUN = "manual_run"


class PipelineTrigger(StrEnum):
    """How a pipeline was started (wire integers 0..3 in the same order)."""

    WORKFLOW = "workflow"
    PROMOTION = "promotion"
    AUTO_PROMOTION = "auto_promotion"
    PARTIAL_RE_RUN = "partial_re_run"


class QueueType(StrEnum):
    IMPLICIT = "implicit"
    USER_GENERATED = "user_generated"


class PromotionStatus(StrEnum):
    """Whether the promoted pipeline was *scheduled*; not how it ended."""

    PROCESSING = "processing"
    PASSED = "passed"
    FAILED = "failed"


class TargetState(StrEnum):
    SYNCING = "syncing"
    USABLE = "usable"
    UNUSABLE = "unusable"
    CORDONED = "cordoned"


class DeploymentState(StrEnum):
    """A deployment-history entry: ``started`` means the promoted pipeline was scheduled."""

    PENDING = "pending"
    STARTED = "started"
    FAILED = "failed"


def _normaliser(enum: type[E]) -> BeforeValidator:
    members = list(enum)

    def normalise(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and 0 <= value < len(members):
            return members[value]
        if isinstance(value, str):
            return value.lower()
        return value

    return BeforeValidator(normalise)


# Field annotations: the enum, accepting any casing and the wire integer.
PipelineStateField = Annotated[PipelineState, _normaliser(PipelineState)]
PipelineResultField = Annotated[PipelineResult, _normaliser(PipelineResult)]
ResultReasonField = Annotated[ResultReason, _normaliser(ResultReason)]
BlockStateField = Annotated[BlockState, _normaliser(BlockState)]
JobStatusField = Annotated[JobStatus, _normaliser(JobStatus)]
JobResultField = Annotated[JobResult, _normaliser(JobResult)]
WorkflowTriggerField = Annotated[WorkflowTrigger, _normaliser(WorkflowTrigger)]
PipelineTriggerField = Annotated[PipelineTrigger, _normaliser(PipelineTrigger)]
QueueTypeField = Annotated[QueueType, _normaliser(QueueType)]
PromotionStatusField = Annotated[PromotionStatus, _normaliser(PromotionStatus)]
TargetStateField = Annotated[TargetState, _normaliser(TargetState)]
DeploymentStateField = Annotated[DeploymentState, _normaliser(DeploymentState)]
