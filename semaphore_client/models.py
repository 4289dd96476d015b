"""Pydantic models of pipelines, blocks, promotions, workflows and projects.

Every model accepts every encoding the API uses for it (describe vs. list vs. webhook): enums
in any casing or as wire integers, the three timestamp formats, and ``result``/``result_reason``
absent until the pipeline is done. Unknown keys are ignored so new server fields break nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from semaphore_client.enums import (
    BlockStateField,
    JobResultField,
    JobStatusField,
    PipelineResult,
    PipelineResultField,
    PipelineState,
    PipelineStateField,
    PipelineTriggerField,
    PromotionStatusField,
    QueueTypeField,
    ResultReasonField,
    WorkflowTriggerField,
)
from semaphore_client.refs import ReferenceType, parse_branch_name
from semaphore_client.timestamps import Timestamp

AUTO_PROMOTION_TRIGGERER = "Pipeline Done request"
"""``triggered_by`` of promotions and deployments started by ``auto_promote``."""


def _blank_if_none(value: Any) -> Any:
    return "" if value is None else value


Text = Annotated[str, BeforeValidator(_blank_if_none)]
"""A string field the API may send as ``null``, ``""`` or omit: always a ``str`` here."""


class ApiModel(BaseModel):
    """Base of every model: immutable, tolerant of unknown keys, populated by name or alias."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class EnvVar(ApiModel):
    name: str
    value: Text = ""


class Queue(ApiModel):
    queue_id: Text = ""
    name: Text = ""
    scope: Text = ""
    project_id: Text = ""
    organization_id: Text = ""
    type: QueueTypeField | None = None


class Triggerer(ApiModel):
    wf_triggered_by: WorkflowTriggerField | None = None
    wf_triggerer_id: Text = ""
    wf_triggerer_user_id: Text = ""
    wf_triggerer_provider_login: Text = ""
    wf_triggerer_provider_uid: Text = ""
    wf_triggerer_provider_avatar: Text = ""
    ppl_triggered_by: PipelineTriggerField | None = None
    ppl_triggerer_id: Text = ""
    ppl_triggerer_user_id: Text = ""
    workflow_rerun_of: Text = ""


class Pipeline(ApiModel):
    """A pipeline, from describe (``pipeline``), list, or the webhook (``id`` for ``ppl_id``)."""

    ppl_id: Text = Field(default="", validation_alias=AliasChoices("ppl_id", "id"))
    name: Text = ""
    project_id: Text = ""
    branch_name: Text = ""
    commit_sha: Text = ""
    commit_message: Text = ""
    wf_id: Text = ""
    yaml_file_name: Text = ""
    working_directory: Text = ""
    state: PipelineStateField
    result: PipelineResultField | None = None
    result_reason: ResultReasonField | None = None
    created_at: Timestamp = None
    pending_at: Timestamp = None
    queuing_at: Timestamp = None
    running_at: Timestamp = None
    stopping_at: Timestamp = None
    done_at: Timestamp = None
    promotion_of: Text = ""
    partial_rerun_of: Text = ""
    switch_id: Text = ""
    terminate_request: Text = ""
    terminated_by: Text = ""
    error_description: Text = ""
    hook_id: Text = ""
    branch_id: Text = ""
    snapshot_id: Text = ""
    organization_id: Text = ""
    queue: Queue | None = None
    triggerer: Triggerer | None = None
    env_vars: list[EnvVar] = Field(default_factory=list)

    @property
    def is_done(self) -> bool:
        return self.state is PipelineState.DONE

    @property
    def passed(self) -> bool:
        return self.is_done and self.result is PipelineResult.PASSED

    @property
    def reference_type(self) -> ReferenceType:
        """Branch, tag or pull request, read from ``branch_name`` (``refs/tags/…``,
        ``pull-request-…``); a pipeline without a ``branch_name`` counts as a branch."""
        return parse_branch_name(self.branch_name)[0]

    @property
    def reference(self) -> str:
        """The branch or tag name, or the pull request's number (Semaphore's "label")."""
        return parse_branch_name(self.branch_name)[1]

    @property
    def yml_file_path(self) -> str:
        """``working_directory/yaml_file_name``, e.g. ``.semaphore/semaphore.yml``."""
        if not self.working_directory:
            return self.yaml_file_name
        return f"{self.working_directory.rstrip('/')}/{self.yaml_file_name}"


class Job(ApiModel):
    job_id: Text = Field(default="", validation_alias=AliasChoices("job_id", "id"))
    name: Text = ""
    index: int | None = None
    status: JobStatusField | None = None
    result: JobResultField | None = None


class Block(ApiModel):
    """A block of a detailed pipeline describe (or of the webhook payload)."""

    block_id: Text = ""
    name: Text = ""
    build_req_id: Text = ""
    state: BlockStateField | None = None
    result: PipelineResultField | None = None
    result_reason: ResultReasonField | None = None
    error_description: Text = ""
    jobs: list[Job] = Field(default_factory=list)


class PipelineDetails(ApiModel):
    """``GET /pipelines/:id``: the pipeline and (with ``detailed=true``) its blocks."""

    pipeline: Pipeline
    blocks: list[Block] = Field(default_factory=list)


class Promotion(ApiModel):
    """One trigger of a promotion, from ``GET /promotions``.

    ``status`` says whether the promoted pipeline was *scheduled*; describe
    ``scheduled_pipeline_id`` to learn how the deployment ended.
    """

    name: str
    triggered_by: Text = ""
    triggered_at: Timestamp = None
    override: bool = False
    status: PromotionStatusField
    scheduled_at: Timestamp = None
    scheduled_pipeline_id: Text = ""

    @property
    def is_auto(self) -> bool:
        return self.triggered_by == AUTO_PROMOTION_TRIGGERER


class Workflow(ApiModel):
    """A workflow; ``triggered_by`` is a string in describe and an integer in list."""

    wf_id: str
    initial_ppl_id: Text = ""
    project_id: Text = ""
    hook_id: Text = ""
    requester_id: Text = ""
    branch_id: Text = ""
    branch_name: Text = ""
    commit_sha: Text = ""
    created_at: Timestamp = None
    triggered_by: WorkflowTriggerField | None = None
    rerun_of: Text = ""
    repository_id: Text = ""
    organization_id: Text = ""


class WorkflowEnvelope(ApiModel):
    """``GET /plumber-workflows/:id`` answers ``{"workflow": {…}}``."""

    workflow: Workflow


class ScheduledWorkflow(ApiModel):
    """``POST /plumber-workflows`` (and the reschedule answer, whose keys are shorter)."""

    workflow_id: str = Field(validation_alias=AliasChoices("workflow_id", "wf_id"))
    pipeline_id: str = Field(validation_alias=AliasChoices("pipeline_id", "ppl_id"))


class ProjectMetadata(ApiModel):
    id: Text = ""
    name: str
    owner_id: Text = ""
    org_id: Text = ""
    description: Text = ""


class ProjectRepository(ApiModel):
    url: Text = ""
    name: Text = ""
    owner: Text = ""
    run_on: list[str] | None = None
    pipeline_file: Text = ""
    integration_type: Text = ""


class ProjectSpec(ApiModel):
    repository: ProjectRepository = Field(default_factory=ProjectRepository)
    visibility: Text = ""


class Project(ApiModel):
    api_version: Text = Field(
        default="", validation_alias=AliasChoices("apiVersion", "api_version")
    )
    kind: Text = ""
    metadata: ProjectMetadata
    spec: ProjectSpec = Field(default_factory=ProjectSpec)

    @property
    def id(self) -> str:
        return self.metadata.id

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def paused(self) -> bool:
        """Paused ("do not run on any events"): no trigger creates workflows (``run_on == []``)."""
        return self.spec.repository.run_on == []
