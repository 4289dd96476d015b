"""An async client for Semaphore CI's public API v1alpha, its models, and a local simulator.

    async with SemaphoreClient(org="acme", token="…") as semaphore:
        pipeline = await semaphore.describe_pipeline(ppl_id)

The client never imports ``bot``; the simulator lives in ``semaphore_client.simulator``.
"""

from semaphore_client.client import DEFAULT_TIMEOUT, SemaphoreClient
from semaphore_client.enums import (
    BlockState,
    DeploymentState,
    JobResult,
    JobStatus,
    PipelineResult,
    PipelineState,
    PipelineTrigger,
    PromotionStatus,
    QueueType,
    ResultReason,
    TargetState,
    WorkflowTrigger,
)
from semaphore_client.errors import (
    ApiError,
    BadRequest,
    DecodeError,
    Forbidden,
    NotFound,
    PromotionRefused,
    RateLimited,
    SemaphoreError,
    ServerError,
    TransportError,
    Unauthorized,
)
from semaphore_client.events import PipelineDoneEvent
from semaphore_client.models import (
    AUTO_PROMOTION_TRIGGERER,
    Block,
    EnvVar,
    Job,
    Pipeline,
    PipelineDetails,
    Project,
    Promotion,
    ScheduledWorkflow,
    Workflow,
)
from semaphore_client.refs import ReferenceType
from semaphore_client.retry import RetryPolicy
from semaphore_client.signature import SIGNATURE_HEADER, sign_webhook, verify_webhook_signature
from semaphore_client.targets import (
    Deployment,
    DeploymentHistoryPage,
    DeploymentTarget,
    HistoryFilter,
    TargetActivation,
)

__all__ = [
    "AUTO_PROMOTION_TRIGGERER",
    "DEFAULT_TIMEOUT",
    "SIGNATURE_HEADER",
    "ApiError",
    "BadRequest",
    "Block",
    "BlockState",
    "DecodeError",
    "Deployment",
    "DeploymentHistoryPage",
    "DeploymentState",
    "DeploymentTarget",
    "EnvVar",
    "Forbidden",
    "HistoryFilter",
    "Job",
    "JobResult",
    "JobStatus",
    "NotFound",
    "Pipeline",
    "PipelineDetails",
    "PipelineDoneEvent",
    "PipelineResult",
    "PipelineState",
    "PipelineTrigger",
    "Project",
    "Promotion",
    "PromotionRefused",
    "PromotionStatus",
    "QueueType",
    "RateLimited",
    "ReferenceType",
    "ResultReason",
    "RetryPolicy",
    "ScheduledWorkflow",
    "SemaphoreClient",
    "SemaphoreError",
    "ServerError",
    "TargetActivation",
    "TargetState",
    "TransportError",
    "Unauthorized",
    "Workflow",
    "WorkflowTrigger",
    "sign_webhook",
    "verify_webhook_signature",
]
