"""Contract tests: every documented payload in tests/fixtures/semaphore parses into the models."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from semaphore_client import (
    Block,
    Deployment,
    DeploymentHistoryPage,
    DeploymentState,
    DeploymentTarget,
    JobResult,
    JobStatus,
    Pipeline,
    PipelineDetails,
    PipelineDoneEvent,
    PipelineResult,
    PipelineState,
    PipelineTrigger,
    Project,
    Promotion,
    PromotionStatus,
    QueueType,
    ResultReason,
    ScheduledWorkflow,
    TargetActivation,
    TargetState,
    Workflow,
    WorkflowTrigger,
)
from semaphore_client.events import Revision
from semaphore_client.models import WorkflowEnvelope

PARSERS: dict[str, TypeAdapter[Any]] = {
    "deployment-history.json": TypeAdapter(DeploymentHistoryPage),
    "deployment-target-activate.json": TypeAdapter(TargetActivation),
    "deployment-target-deactivate.json": TypeAdapter(TargetActivation),
    "deployment-target-create.json": TypeAdapter(DeploymentTarget),
    "deployment-target-update.json": TypeAdapter(DeploymentTarget),
    "deployment-target-describe.json": TypeAdapter(DeploymentTarget),
    "deployment-target-describe-by-name.json": TypeAdapter(list[DeploymentTarget]),
    "deployment-targets-list.json": TypeAdapter(list[DeploymentTarget]),
    "pipeline-describe.json": TypeAdapter(PipelineDetails),
    "pipeline-describe-detailed.json": TypeAdapter(PipelineDetails),
    "pipelines-list.json": TypeAdapter(list[Pipeline]),
    "project-describe.reconstructed.json": TypeAdapter(Project),
    "promotions-list.json": TypeAdapter(list[Promotion]),
    "webhook-pipeline-done.json": TypeAdapter(PipelineDoneEvent),
    "workflow-describe.json": TypeAdapter(WorkflowEnvelope),
    "workflows-list.json": TypeAdapter(list[Workflow]),
    "workflow-schedule.json": TypeAdapter(ScheduledWorkflow),
    "workflow-reschedule.json": TypeAdapter(ScheduledWorkflow),
}

FRAGMENTS = {
    "webhook-revision-pull-request-fragment.json": "pull_request",
    "webhook-revision-tag-fragment.json": "tag",
}

# Endpoints deploybot does not call, so the client has no model for them.
NOT_MODELLED = {
    "deployment-target-delete.json",
    "job-describe.json",
    "job-logs.json",
    "pipeline-partial-rebuild.json",
    "yaml-validate.json",
}


def test_every_sample_is_covered(reference_dir: Path) -> None:
    documented = {p.name for p in reference_dir.glob("*.json")}
    assert documented == set(PARSERS) | set(FRAGMENTS) | NOT_MODELLED


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_sample_parses_into_its_model(name: str, sample: Callable[[str], Any]) -> None:
    PARSERS[name].validate_python(sample(name))


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_webhook_revision_fragment_parses(name: str, reference_dir: Path) -> None:
    text = (reference_dir / name).read_text()
    document = re.sub(r",\s*}", "}", "{" + text + "}")  # published with a trailing comma
    revision = Revision.model_validate(json.loads(document))
    assert getattr(revision, FRAGMENTS[name]) is not None


def test_pull_request_number_is_text_whatever_the_encoding(reference_dir: Path) -> None:
    text = (reference_dir / "webhook-revision-pull-request-fragment.json").read_text()
    revision = Revision.model_validate(json.loads("{" + text + "}"))
    assert revision.pull_request is not None
    assert revision.pull_request.number == "2"


def test_describe_uses_lower_case_enums_and_space_timestamps(sample: Callable[[str], Any]) -> None:
    details = PipelineDetails.model_validate(sample("pipeline-describe.json"))
    pipeline = details.pipeline
    assert pipeline.ppl_id == "6d7c2931-738b-4f0f-b007-8b52c139d18c"
    assert pipeline.state is PipelineState.DONE
    assert pipeline.result is PipelineResult.PASSED
    assert pipeline.result_reason is ResultReason.TEST
    assert pipeline.passed
    assert pipeline.created_at == datetime(2025, 4, 17, 19, 6, 4, 782051, tzinfo=UTC)
    assert pipeline.stopping_at is None  # "1970-01-01 00:00:00.000000Z" means unset
    assert pipeline.promotion_of == "cc94c7f4-4ef8-4fa9-871f-5a7f408aef16"
    assert pipeline.yml_file_path == ".semaphore/pipeline_manual_WFnumber.yml"
    assert details.blocks == []


def test_describe_keeps_nested_integer_enums(sample: Callable[[str], Any]) -> None:
    pipeline = PipelineDetails.model_validate(sample("pipeline-describe.json")).pipeline
    assert pipeline.queue is not None and pipeline.queue.type is QueueType.IMPLICIT
    assert pipeline.triggerer is not None
    assert pipeline.triggerer.wf_triggered_by is WorkflowTrigger.HOOK
    assert pipeline.triggerer.ppl_triggered_by is PipelineTrigger.PROMOTION


def test_detailed_describe_has_blocks_with_upper_case_job_enums(
    sample: Callable[[str], Any],
) -> None:
    details = PipelineDetails.model_validate(sample("pipeline-describe-detailed.json"))
    [block] = details.blocks
    assert isinstance(block, Block)
    assert block.result is PipelineResult.PASSED
    assert block.jobs[0].status is JobStatus.FINISHED
    assert block.jobs[0].result is JobResult.PASSED


def test_list_uses_upper_case_enums_and_seconds_nanos(sample: Callable[[str], Any]) -> None:
    [pipeline] = TypeAdapter(list[Pipeline]).validate_python(sample("pipelines-list.json"))
    assert pipeline.state is PipelineState.DONE
    assert pipeline.result is PipelineResult.FAILED
    assert pipeline.result_reason is None
    assert pipeline.created_at == datetime(2019, 10, 14, 18, 14, 3, 537730, tzinfo=UTC)


def test_result_is_absent_until_done() -> None:
    running = Pipeline.model_validate({"ppl_id": "p", "state": "RUNNING"})
    assert running.result is None and running.result_reason is None
    assert not running.is_done and not running.passed


def test_workflow_triggered_by_is_a_string_in_describe_and_an_int_in_list(
    sample: Callable[[str], Any],
) -> None:
    described = WorkflowEnvelope.model_validate(sample("workflow-describe.json")).workflow
    listed = TypeAdapter(list[Workflow]).validate_python(sample("workflows-list.json"))
    assert described.triggered_by is WorkflowTrigger.HOOK
    assert [w.triggered_by for w in listed] == [WorkflowTrigger.SCHEDULE] * 2
    assert described.created_at == datetime.fromtimestamp(1744918825.131742, tz=UTC)


def test_promotion_from_auto_promote(sample: Callable[[str], Any]) -> None:
    [promotion] = TypeAdapter(list[Promotion]).validate_python(sample("promotions-list.json"))
    assert promotion.status is PromotionStatus.PASSED
    assert promotion.is_auto
    assert promotion.scheduled_pipeline_id == ""


def test_deployment_target_iso_timestamps_and_state(sample: Callable[[str], Any]) -> None:
    target = DeploymentTarget.model_validate(sample("deployment-target-describe.json"))
    assert target.state is TargetState.USABLE
    assert target.active and not target.cordoned
    assert target.updated_at == datetime(2023, 6, 7, 9, 24, 4, tzinfo=UTC)
    created = DeploymentTarget.model_validate(sample("deployment-target-create.json"))
    assert created.state is TargetState.SYNCING


def test_deployment_history_page(sample: Callable[[str], Any]) -> None:
    page = DeploymentHistoryPage.model_validate(sample("deployment-history.json"))
    assert page.cursor_before == 1685096881121173 and page.cursor_after == 0
    first, second = page.deployments
    assert isinstance(first, Deployment)
    assert first.state is DeploymentState.STARTED
    assert not first.is_auto and second.is_auto
    assert first.env_vars[0].name == "MESSAGE"
    assert second.triggered_at == datetime(2023, 5, 26, 10, 34, 31, tzinfo=UTC)


def test_activation_answers(sample: Callable[[str], Any]) -> None:
    assert TargetActivation.model_validate(sample("deployment-target-deactivate.json")).cordoned
    assert not TargetActivation.model_validate(sample("deployment-target-activate.json")).cordoned


def test_project_from_reconstruction(sample: Callable[[str], Any]) -> None:
    project = Project.model_validate(sample("project-describe.reconstructed.json"))
    assert project.name == "trello"
    assert project.spec.repository.pipeline_file == ".semaphore/semaphore.yml"
    assert not project.paused
    document = sample("project-describe.reconstructed.json")
    document["spec"]["repository"]["run_on"] = []
    assert Project.model_validate(document).paused


def test_webhook_payload(sample: Callable[[str], Any]) -> None:
    event = PipelineDoneEvent.model_validate(sample("webhook-pipeline-done.json"))
    assert event.pipeline.ppl_id == "fa02c7bd-7a8b-42e0-8d6e-aa0d8a194e19"
    assert event.pipeline.result is PipelineResult.STOPPED
    assert event.pipeline.result_reason is ResultReason.USER
    assert event.pipeline.done_at == datetime(2019, 12, 10, 13, 10, 28, tzinfo=UTC)
    assert event.workflow.id == "acabe58e-4bcc-4d39-be06-e98d71917703"
    assert event.revision.branch is not None and event.revision.branch.name == "rw/webhook_impl"
    assert event.blocks[0].jobs[0].job_id == "21df03d2-c4e0-4e0a-acd7-5ff60dc0727e"
    assert event.blocks[0].jobs[0].status is JobStatus.FINISHED


def test_schedule_and_reschedule_answers_share_a_model(sample: Callable[[str], Any]) -> None:
    scheduled = ScheduledWorkflow.model_validate(sample("workflow-schedule.json"))
    rescheduled = ScheduledWorkflow.model_validate(sample("workflow-reschedule.json"))
    assert scheduled.pipeline_id == "2abeb1a9-eb4a-4834-84b8-cb7806aec063"
    assert rescheduled.workflow_id == "965d3c3d-bbe6-4ff7-b62a-1ff51a92bdc0"


@pytest.mark.parametrize(
    ("name", "reference_type", "branch_name"),
    [
        ("webhook-revision-tag-fragment.json", "tag", "refs/tags/v1.0.1"),
        ("webhook-revision-pull-request-fragment.json", "pull_request", "pull-request-2"),
    ],
)
def test_a_tag_or_pull_request_revision_names_the_pipelines_branch_name(
    name: str, reference_type: str, branch_name: str, reference_dir: Path
) -> None:
    text = (reference_dir / name).read_text()
    document = json.loads(re.sub(r",\s*}", "}", "{" + text + "}"))
    revision = Revision.model_validate(
        {"reference_type": reference_type, "branch": None, **document}
    )
    assert revision.branch is None
    assert revision.branch_name == branch_name
    pipeline = Pipeline.model_validate({"state": "done", "branch_name": branch_name})
    assert pipeline.reference_type == reference_type
    assert pipeline.reference == ("v1.0.1" if reference_type == "tag" else "2")


def test_a_branch_revision_and_pipeline_name_the_branch(sample: Callable[[str], Any]) -> None:
    event = PipelineDoneEvent.model_validate(sample("webhook-pipeline-done.json"))
    assert (event.revision.reference_type, event.revision.branch_name) == (
        "branch",
        "rw/webhook_impl",
    )
    listed = TypeAdapter(list[Pipeline]).validate_python(sample("pipelines-list.json"))[0]
    assert (listed.reference_type, listed.reference) == ("branch", "ms/another-test-branch")
    assert listed.yml_file_path == ".semaphore/semaphore.yml"
