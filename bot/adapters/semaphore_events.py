"""Semaphore's "pipeline done" news, in deploybot's events.

A CI pipeline (a workflow's initial pipeline) of the project's CI pipeline file that passed
on its deploy branch makes its commit ready for the first stage (bot/core/ci.py: never a tag,
a pull request or another pipeline file; those are logged at debug level and ignored). A
promoted pipeline that is the deploy pipeline of a deployment deploybot runs finishes that
deployment. Event ids depend only on the pipeline, so
the webhook and reconciliation's polling of the same pipeline are one event, applied once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core import events as ev
from bot.core.ci import Build, why_not_a_change
from bot.core.model import Change, DeploymentState, StageState
from semaphore_client import Pipeline, PipelineDoneEvent, PipelineResult

log = logging.getLogger(__name__)

Outcome = Literal["succeeded", "failed", "cancelled"]
OUTCOMES: dict[PipelineResult, Outcome] = {
    PipelineResult.PASSED: "succeeded",
    PipelineResult.FAILED: "failed",
    PipelineResult.STOPPED: "cancelled",
    PipelineResult.CANCELED: "cancelled",
}


#: Semaphore's `result_reason`, in words a person reads (issue 15 item 8).
REASONS: dict[str, str] = {
    "test": "a job failed",
    "malformed": "its pipeline YAML is malformed",
    "stuck": "it got stuck in Semaphore",
    "user": "stopped by a person",
    "internal": "Semaphore stopped it (an internal error)",
    "strategy": "cancelled by auto-cancel (a newer pipeline in its queue)",
    "fast_failing": "fail-fast stopped it (another job failed)",
    "deleted": "its workflow was deleted",
    "timeout": "it ran out of time (execution_time_limit)",
    "skipped": "it was skipped",
}


def pipeline_words(pipeline: Pipeline) -> str:
    """`deploy pipeline failed: a job failed`, `deploy pipeline stopped: stopped by a person`."""
    result = pipeline.result.value if pipeline.result else "ended"
    reason = pipeline.result_reason.value if pipeline.result_reason else ""
    if not reason or result == "passed":
        return f"deploy pipeline {result}"
    return f"deploy pipeline {result}: {REASONS.get(reason, reason)}"


def project_for(config: DeploybotConfig, semaphore_project: str) -> ProjectConfig | None:
    for project in config.projects:
        if semaphore_project in (project.semaphore_project, project.name):
            return project
    return None


def is_ci(pipeline: Pipeline) -> bool:
    return not pipeline.promotion_of


def build_of(pipeline: Pipeline) -> Build:
    return Build(pipeline.reference_type.value, pipeline.reference, pipeline.yml_file_path)


def is_project_ci(project: ProjectConfig, pipeline: Pipeline) -> bool:
    """`pipeline` is the project's CI pipeline file run on its deploy branch (else why not
    is logged at debug level)."""
    why = why_not_a_change(
        build_of(pipeline), branch=project.branch, ci_pipeline=project.ci_pipeline
    )
    if why is not None:
        log.debug("ignored pipeline %s: %s", pipeline.ppl_id, why)
    return why is None


def change_ready(
    project: ProjectConfig,
    pipeline: Pipeline,
    author: str = "",
    repository_url: str = "",
) -> ev.ChangeReady | None:
    """The first stage's ChangeReady for the project's CI pipeline that passed on the deploy
    branch."""
    if not (is_ci(pipeline) and pipeline.is_done and pipeline.passed):
        return None
    if not is_project_ci(project, pipeline):
        return None
    created = pipeline.created_at or pipeline.done_at or datetime.now(UTC)
    change = Change(
        sha=pipeline.commit_sha,
        message=pipeline.commit_message,
        author=author,
        workflow_id=pipeline.wf_id,
        ci_pipeline_id=pipeline.ppl_id,
        repository_url=repository_url,
        created_at=created,
    )
    return ev.ChangeReady(id=f"ci:{pipeline.ppl_id}", change=change)


def deployment_finished(
    pipeline: Pipeline, stages: dict[str, StageState]
) -> tuple[str, ev.DeploymentFinished] | None:
    """The stage and event for the deploy pipeline of a running deployment, if it is one.
    Only the deployment's own pipeline counts: one promoted from the same source by another
    promotion (a person's, in Semaphore's UI) never finishes it; a deployment whose pipeline
    is not known yet is first confirmed by its promotion's name (`Orchestrator._pipeline`)."""
    if is_ci(pipeline) or not pipeline.is_done or pipeline.result is None:
        return None
    for stage, state in stages.items():
        stopped = next((d for d in state.stopping if d.deploy_pipeline_id == pipeline.ppl_id), None)
        if stopped is not None:  # a pipeline deploybot stopped is done
            detail = f"stopped pipeline {pipeline.result.value}"
            done = ev.DeploymentFinished(
                id=f"done:{pipeline.ppl_id}", deployment_id=stopped.id, outcome="cancelled",
                detail=detail,
            )  # fmt: skip
            return stage, done
        current = state.current
        if current is None or current.state is not DeploymentState.RUNNING:
            continue
        if current.deploy_pipeline_id == pipeline.ppl_id:
            finished = ev.DeploymentFinished(
                id=f"done:{pipeline.ppl_id}",
                deployment_id=current.id,
                outcome=OUTCOMES.get(pipeline.result, "failed"),
                detail=pipeline_words(pipeline),
            )
            return stage, finished
    return None


def webhook_author(event: PipelineDoneEvent) -> str:
    sender = event.revision.sender
    return sender.login if sender is not None else ""
