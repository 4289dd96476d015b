"""The simulator's world file: projects and their pipeline files, as Semaphore YAML minus commands.

organization: demo-org
projects:
  - name: demo
    deployment_targets: [{name: beta}, {name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        blocks: [{name: Build}, {name: Test}]      # optional; task.jobs[].name, dependencies
        promotions:
          - name: beta
            pipeline_file: deploy-beta.yml            # relative to this file's directory
            deployment_target: beta
            auto_promote: {when: "result = 'passed' and branch = 'main'"}
      .semaphore/deploy-beta.yml:
        queue: {name: beta-deploys, processing: serialized}
        auto_cancel: {queued: {when: "true"}}
        fail_fast: {stop: {when: "true"}}
outcomes:                                           # optional scripted results
  - {pipeline_file: .semaphore/deploy-beta.yml, result: failed, duration: 2}
  - {promotion: beta, never_scheduled: deadline}    # accepted, never scheduled
"""

from __future__ import annotations

import posixpath
import uuid
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from semaphore_client.simulator.conditions import Condition, parse_condition

SIM_NAMESPACE = uuid.UUID("5e3a9c1e-0d6b-4f7e-9a51-1f0c4d2b7a10")
DEFAULT_PIPELINE_FILE = ".semaphore/semaphore.yml"


def stable_id(*parts: str) -> str:
    """A UUID that is the same for the same names on every run."""
    return str(uuid.uuid5(SIM_NAMESPACE, "/".join(parts)))


def _condition(value: Any) -> Any:
    return parse_condition(value) if isinstance(value, str | bool) else value


When = Annotated[Condition, BeforeValidator(_condition)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Rule(_Spec):
    when: When


class AutoPromoteOn(_Spec):
    """The deprecated ``auto_promote_on`` item: all given conditions must hold."""

    result: str
    branch: list[str] = Field(default_factory=list)
    result_reason: str | None = None
    labels: list[str] = Field(default_factory=list)
    label_patterns: list[str] = Field(default_factory=list)


class ParameterDef(_Spec):
    name: str
    description: str = ""
    required: bool = True
    options: list[str] = Field(default_factory=list)
    default_value: str = ""


class Parameters(_Spec):
    env_vars: list[ParameterDef] = Field(default_factory=list)


class PromotionDef(_Spec):
    name: str = Field(min_length=1)
    pipeline_file: str
    deployment_target: str | None = None
    auto_promote: Rule | None = None
    auto_promote_on: list[AutoPromoteOn] = Field(default_factory=list)
    parameters: Parameters | None = None


class QueueDef(_Spec):
    name: str | None = None
    scope: Literal["project", "organization"] | None = None
    processing: Literal["serialized", "parallel"] | None = None
    when: When | None = None

    @model_validator(mode="after")
    def _check(self) -> QueueDef:
        if self.name is None and self.processing is None:
            raise ValueError("queue needs a name or processing")
        if self.scope is not None and self.name is None:
            raise ValueError("queue scope is only allowed with a name")
        return self


class AutoCancelDef(_Spec):
    running: Rule | None = None
    queued: Rule | None = None


class FailFastDef(_Spec):
    stop: Rule | None = None
    cancel: Rule | None = None


class JobDef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str


class TaskDef(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    jobs: list[JobDef] = Field(default_factory=list)


class BlockDef(BaseModel):
    """A block: its jobs' names (one job named as the block when none are given) and its
    `dependencies` (left out: the block waits for the one before it, as Semaphore's
    implicit sequential blocks do)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    name: str
    dependencies: list[str] | None = None
    task: TaskDef | None = None

    @property
    def job_names(self) -> list[str]:
        return [job.name for job in self.task.jobs] if self.task and self.task.jobs else [self.name]


class PipelineDef(BaseModel):
    """One pipeline file. Keys the simulator does not model (agent, jobs…) are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, arbitrary_types_allowed=True)
    name: str = "Pipeline"
    blocks: list[BlockDef] = Field(default_factory=lambda: [BlockDef(name="Build")])
    queue: QueueDef | list[QueueDef] | None = None
    auto_cancel: AutoCancelDef | None = None
    fail_fast: FailFastDef | None = None
    promotions: list[PromotionDef] = Field(default_factory=list)
    #: Not Semaphore YAML but what a team writes into its first job to make a roll-forward
    #: wait for a rollback (DESIGN problem 2): once running, the pipeline does its work, and
    #: passes, only when no pipeline of this file (path from the repository root,
    #: `.semaphore/rollback-prod.yml`) in its project is pending, queued or running; until
    #: then its job polls, as API loops do (before its work, and again before it passes).
    waits_for: str | None = None


class TargetDef(_Spec):
    name: str
    description: str = ""
    url: str = ""
    active: bool = True
    bookmark_parameter1: str = ""
    bookmark_parameter2: str = ""
    bookmark_parameter3: str = ""


class ProjectDef(_Spec):
    name: str
    repository_url: str = ""
    pipeline_file: str = DEFAULT_PIPELINE_FILE
    run_on: list[str] = Field(default_factory=lambda: ["branches", "tags"])
    deployment_targets: list[TargetDef] = Field(default_factory=list)
    pipelines: dict[str, PipelineDef]

    @model_validator(mode="after")
    def _check_references(self) -> ProjectDef:
        if self.pipeline_file not in self.pipelines:
            raise ValueError(f"project {self.name}: {self.pipeline_file} is not declared")
        targets = {t.name for t in self.deployment_targets}
        for path, pipeline in self.pipelines.items():
            for promotion in pipeline.promotions:
                resolved = resolve_pipeline_file(path, promotion.pipeline_file)
                if resolved not in self.pipelines:
                    raise ValueError(
                        f"{path}: promotion {promotion.name!r} -> {resolved} is not declared"
                    )
                if promotion.deployment_target and promotion.deployment_target not in targets:
                    raise ValueError(
                        f"{path}: unknown deployment_target {promotion.deployment_target!r}"
                    )
        return self

    @property
    def id(self) -> str:
        return stable_id("project", self.name)


class OutcomeDef(_Spec):
    """A scripted outcome: for this pipeline file (and commit, if given), end like this; or,
    with ``promotion``, what Gofer does with that promotion's triggers (of that commit's
    pipelines, if given): ``never_scheduled`` ``deadline`` (it never gets to them) or
    ``queue_limit`` (Plumber refuses them as if the pipeline queue were full)."""

    pipeline_file: str | None = None
    promotion: str | None = Field(default=None, min_length=1)
    never_scheduled: Literal["deadline", "queue_limit"] | None = None
    commit_sha: str | None = None
    result: Literal["passed", "failed", "stopped", "canceled"] = "passed"
    result_reason: str | None = None
    duration: float | None = Field(default=None, ge=0)
    pending: float = Field(default=0.0, ge=0)
    fail_after: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_subject(self) -> OutcomeDef:
        if (self.pipeline_file is None) == (self.promotion is None):
            raise ValueError("give either pipeline_file or promotion")
        if self.never_scheduled is not None and self.promotion is None:
            raise ValueError("never_scheduled is for a promotion")
        return self


class World(_Spec):
    organization: str = "demo-org"
    projects: list[ProjectDef] = Field(min_length=1)
    outcomes: list[OutcomeDef] = Field(default_factory=list)

    @property
    def organization_id(self) -> str:
        return stable_id("organization", self.organization)

    def project(self, name: str) -> ProjectDef | None:
        return next((p for p in self.projects if p.name == name), None)


def resolve_pipeline_file(current: str, target: str) -> str:
    """A promotion's ``pipeline_file``: relative to ``current``'s directory, ``/`` from root."""
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(current), target))


def parse_world(text: str) -> World:
    return World.model_validate(yaml.safe_load(text))


def load_world(path: str | Path) -> World:
    return parse_world(Path(path).read_text())


def default_world() -> World:
    """Project ``demo``: CI -> promotion ``beta`` -> promotion ``prod``, no auto-promotions."""
    text = resources.files("semaphore_client.simulator").joinpath("default_world.yml")
    return parse_world(text.read_text())
