"""The webhook notification Semaphore POSTs when a pipeline is done (payload version 1.0.0).

Verify the ``X-Semaphore-Signature-256`` header with
:func:`semaphore_client.signature.verify_webhook_signature` *before* parsing the body.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError

from semaphore_client.errors import DecodeError
from semaphore_client.models import ApiModel, Block, Pipeline, Text
from semaphore_client.refs import ReferenceType, branch_name_of
from semaphore_client.timestamps import Timestamp


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class NamedRef(ApiModel):
    name: Text = ""
    id: Text = ""


class Repository(ApiModel):
    url: Text = ""
    slug: Text = ""


class Sender(ApiModel):
    login: Text = ""
    email: Text = ""
    avatar_url: Text = ""


class BranchRef(ApiModel):
    name: Text = ""
    commit_range: Text = ""


class PullRequestRef(ApiModel):
    head_repo_slug: Text = ""
    number: Annotated[str, BeforeValidator(_as_text)] = ""
    name: Text = ""
    head_sha: Text = ""
    branch_name: Text = ""
    commit_range: Text = ""


class TagRef(ApiModel):
    name: Text = ""


class Revision(ApiModel):
    reference: Text = ""
    reference_type: Text = ""
    commit_sha: Text = ""
    commit_message: Text = ""
    sender: Sender | None = None
    branch: BranchRef | None = None
    pull_request: PullRequestRef | None = None
    tag: TagRef | None = None

    @property
    def branch_name(self) -> str:
        """The revision as a pipeline's ``branch_name`` names it: the branch,
        ``refs/tags/<tag>`` or ``pull-request-<number>`` ("" when the payload names none)."""
        if self.reference_type == ReferenceType.TAG and self.tag is not None:
            return branch_name_of(ReferenceType.TAG, self.tag.name)
        if self.reference_type == ReferenceType.PULL_REQUEST and self.pull_request is not None:
            return branch_name_of(ReferenceType.PULL_REQUEST, self.pull_request.number)
        if self.reference_type in (ReferenceType.BRANCH, "") and self.branch is not None:
            return self.branch.name
        return ""


class WorkflowRef(ApiModel):
    id: Text = ""
    initial_pipeline_id: Text = ""
    created_at: Timestamp = None


class PipelineDoneEvent(ApiModel):
    """The body of a pipeline-done webhook; ``pipeline.ppl_id`` holds the payload's ``id``."""

    version: Text = ""
    organization: NamedRef = Field(default_factory=NamedRef)
    project: NamedRef = Field(default_factory=NamedRef)
    repository: Repository = Field(default_factory=Repository)
    revision: Revision = Field(default_factory=Revision)
    workflow: WorkflowRef = Field(default_factory=WorkflowRef)
    pipeline: Pipeline
    blocks: list[Block] = Field(default_factory=list)

    @classmethod
    def from_body(cls, body: bytes | str) -> PipelineDoneEvent:
        """Parse a raw webhook body; a malformed one raises :class:`DecodeError`."""
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise DecodeError(f"not a pipeline-done webhook payload: {exc}") from exc
