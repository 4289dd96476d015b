"""What the simulator remembers: workflows, pipelines, promotions, targets, history, events."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from semaphore_client.simulator.world import OutcomeDef, PipelineDef, ProjectDef, TargetDef

AUTO_TRIGGERER = "Pipeline Done request"
SIM_USER_ID = "00000000-0000-4000-8000-000000000001"
QUEUED_STATES = frozenset({"initializing", "pending", "queuing"})
ACTIVE_STATES = frozenset({"pending", "queuing", "running", "stopping"})


class SimError(Exception):
    """An API refusal: the handler answers ``status`` with ``message`` in the endpoint's style."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Outcome:
    result: str = "passed"
    result_reason: str = "test"
    duration: float = 1.0
    pending: float = 0.0
    fail_after: float | None = None


@dataclass
class SimWorkflow:
    """What a workflow was run for: a branch; a tag (``branch`` is ""); or a pull request
    (``pull_request`` is its number, ``branch`` its head branch)."""

    wf_id: str
    project: ProjectDef
    branch: str
    tag: str
    commit_sha: str
    commit_message: str
    created_at: float
    triggered_by: int  # 0 HOOK, 1 SCHEDULE, 2 API, 3 MANUAL_RUN
    initial_ppl_id: str = ""
    rerun_of: str = ""
    hook_id: str = ""
    pull_request: str = ""
    #: Who pushed: the webhook's `revision.sender.login`.
    author: str = "simulator"
    #: The commit's own versions of pipeline files (a push's `files`); others are the world's.
    files: dict[str, PipelineDef] = field(default_factory=dict)

    def spec(self, path: str) -> PipelineDef:
        """The pipeline file `path` as this workflow's commit has it."""
        return self.files.get(path) or self.project.pipelines[path]

    @property
    def reference_type(self) -> str:
        """``branch``, ``tag`` or ``pull_request``, as the webhook's ``reference_type``."""
        if self.tag:
            return "tag"
        return "pull_request" if self.pull_request else "branch"

    @property
    def git_ref_type(self) -> str:
        """``branch``, ``tag`` or ``pr``, as deployment history's ``git_ref_type``."""
        return "pr" if self.pull_request and not self.tag else self.reference_type

    @property
    def label(self) -> str:
        """The branch or tag name, or the pull request's number (Plumber's ``label``)."""
        return self.tag or self.pull_request or self.branch

    @property
    def branch_name(self) -> str:
        """What Plumber records as ``branch_name``: the branch, ``refs/tags/<tag>`` or
        ``pull-request-<number>`` (``?branch_name=`` matches exactly this)."""
        if self.tag:
            return f"refs/tags/{self.tag}"
        if self.pull_request:
            return f"pull-request-{self.pull_request}"
        return self.branch


@dataclass
class QueueInfo:
    key: tuple[str, str, str]
    name: str
    scope: str
    user_generated: bool
    parallel: bool
    queue_id: str


@dataclass
class SimPipeline:
    ppl_id: str
    workflow: SimWorkflow
    path: str
    spec: PipelineDef
    queue: QueueInfo
    outcome: Outcome
    created_at: float
    seq: int
    trigger: str = "workflow"  # workflow | promotion | auto_promotion
    promotion_of: str = ""
    triggerer_id: str = ""
    switch_id: str = ""
    cancel_strategy: str | None = None  # "stop" (running) | "cancel" (queued)
    fail_fast: str | None = None  # "stop" | "cancel"
    env_vars: dict[str, str] = field(default_factory=dict)
    state: str = "initializing"
    result: str | None = None
    result_reason: str | None = None
    times: dict[str, float] = field(default_factory=dict)
    terminate_request: str = ""
    terminated_by: str = ""
    generation: int = 0

    @property
    def yaml_file_name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def working_directory(self) -> str:
        return posixpath.dirname(self.path)

    @property
    def done(self) -> bool:
        return self.state == "done"

    def context(self) -> dict[str, str]:
        """The variables of ``when`` conditions for this pipeline."""
        return when_context(self.workflow, self.path, self.result, self.result_reason)


def when_context(
    workflow: SimWorkflow, path: str, result: str | None = None, reason: str | None = None
) -> dict[str, str]:
    """What a ``when`` condition sees (the non-applicable references are ``""``)."""
    kind = workflow.reference_type
    return {
        "branch": workflow.branch if kind == "branch" else "",
        "tag": workflow.tag,
        "pull_request": workflow.pull_request,
        "result": result or "",
        "result_reason": reason or "",
        "commit_sha": workflow.commit_sha,
        "yml_file_name": posixpath.basename(path),
        "working_dir": posixpath.dirname(path),
        "commit_range": "",
        "pr_base": "",
        "project_id": workflow.project.id,
    }


@dataclass
class SimPromotion:
    name: str
    source_ppl_id: str
    triggered_by: str
    triggered_at: float
    override: bool
    status: str
    scheduled_at: float | None
    scheduled_pipeline_id: str
    request_token: str


@dataclass
class SimDeployment:
    id: str
    target: SimTarget
    switch_id: str
    prev_pipeline_id: str
    pipeline_id: str
    triggered_by: str
    triggered_at_us: int
    state: str  # PENDING | STARTED | FAILED
    state_message: str
    env_vars: dict[str, str]
    git_ref_type: str
    git_ref_label: str


@dataclass
class SimTarget:
    id: str
    spec: TargetDef
    project: ProjectDef
    created_at: float
    updated_at: float
    cordoned: bool = False
    history: list[SimDeployment] = field(default_factory=list)

    def next_triggered_at_us(self, now: float) -> int:
        """Microseconds, strictly increasing per target so history cursors stay exact."""
        stamp = int(now * 1_000_000)
        if self.history and stamp <= self.history[-1].triggered_at_us:
            stamp = self.history[-1].triggered_at_us + 1
        return stamp


def iso(moment: float, digits: int = 6) -> str:
    text = datetime.fromtimestamp(moment, tz=UTC).isoformat(timespec="microseconds")
    text = text.replace("+00:00", "Z")
    return text if digits == 6 else text[:19] + "Z"


@dataclass
class Scripts:
    """Scripted outcomes: the newest matching (file and commit) beats (file only)."""

    default_duration: float
    items: list[OutcomeDef] = field(default_factory=list)

    def outcome_for(self, path: str, commit_sha: str) -> Outcome:
        best: OutcomeDef | None = None
        for item in self.items:
            if item.pipeline_file is None or not _same_file(item.pipeline_file, path):
                continue
            if item.commit_sha not in (None, commit_sha):
                continue
            if best is None or item.commit_sha is not None or best.commit_sha is None:
                best = item
        if best is None:
            return Outcome(duration=self.default_duration)
        reason = best.result_reason or ("test" if best.result in ("passed", "failed") else "user")
        duration = self.default_duration if best.duration is None else best.duration
        return Outcome(best.result, reason, duration, best.pending, best.fail_after)


def _same_file(scripted: str, path: str) -> bool:
    scripted = scripted.lstrip("/")
    return scripted == path or ("/" not in scripted and scripted == posixpath.basename(path))


def event_record(seq: int, at: float, kind: str, **fields: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "seq": seq,
        "at": iso(at),
        "type": kind,
        "pipeline_id": None,
        "workflow_id": None,
        "pipeline_file": None,
        "commit_sha": None,
        "state": None,
        "result": None,
        "result_reason": None,
        "promotion_of": None,
        "triggered_by": None,
    }
    record.update(fields)
    return record
