"""examples/semaphore/ matches examples/deploybot.yml: every stage's promotion sits in the
pipeline it hangs off, points at the stage's deployment target and is never automatic; every
pipeline file named exists and none is left over; the notification covers every project's
deploy branch with a signed webhook; and the YAML uses only documented keys
(reference/semaphore-api.md sections 4.1 and 5, Semaphore's pipeline YAML reference)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config.loader import load_config_text
from bot.config.models import ProjectConfig
from semaphore_client.simulator import parse_world

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CONFIG = load_config_text((EXAMPLES / "deploybot.yml").read_text(), "deploybot.yml")
PROJECTS = {p.name: p for p in CONFIG.projects}

PIPELINE_KEYS = {"version", "name", "agent", "blocks", "promotions", "queue", "auto_cancel",
                 "fail_fast", "global_job_config", "after_pipeline", "execution_time_limit"}  # fmt: skip
PROMOTION_KEYS = {"name", "pipeline_file", "deployment_target", "auto_promote", "parameters"}
QUEUE_KEYS = {"name", "scope", "processing"}
AGENT_KEYS = {"machine", "containers"}
BLOCK_KEYS = {"name", "dependencies", "task", "skip", "run", "execution_time_limit"}
TASK_KEYS = {"jobs", "prologue", "epilogue", "env_vars", "secrets", "agent"}
JOB_KEYS = {"name", "commands", "commands_file", "env_vars", "matrix", "parallelism"}
FILTER_KEYS = {"projects", "branches", "tags", "pipelines", "blocks", "states", "results"}
WEBHOOK_KEYS = {"endpoint", "timeout", "action", "retries", "status", "secret"}


def pipelines(project: ProjectConfig) -> dict[str, dict[str, Any]]:
    folder = EXAMPLES / "semaphore" / project.semaphore_project
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(folder.glob("*.yml"))}


def promotions(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in pipeline.get("promotions", [])}


@pytest.mark.parametrize("name", PROJECTS)
def test_each_stage_promotion_hangs_off_the_right_pipeline(name: str) -> None:
    project = PROJECTS[name]
    files = pipelines(project)
    ci = posixpath.basename(project.ci_pipeline)
    used = {ci}
    declared_in: dict[str, str] = {}  # stage -> the file its deploy pipeline runs
    for stage in project.stages:
        hangs_off = project.source_stage(stage.name)  # after a wave: one named target
        source = ci if hangs_off is None else declared_in[hangs_off]
        offered = promotions(files[source])
        names = [stage.promotion] + ([stage.rollback.promotion] if stage.rollback.promotion else [])
        for promotion in names:
            assert promotion in offered, f"{source} has no promotion {promotion!r} for {stage.name}"
            spec = offered[promotion]
            assert spec.get("deployment_target") == stage.target
            assert "auto_promote" not in spec and "auto_promote_on" not in spec
            assert spec["pipeline_file"] in files, f"{spec['pipeline_file']} is missing"
            used.add(spec["pipeline_file"])
        declared_in[stage.name] = offered[stage.promotion]["pipeline_file"]
        if stage.emergency is not None:  # declared in CI, for the same deploy pipeline
            ci = promotions(files[posixpath.basename(project.ci_pipeline)])
            assert stage.emergency.promotion in ci, f"CI has no {stage.emergency.promotion!r}"
            spec = ci[stage.emergency.promotion]
            assert spec["pipeline_file"] == offered[stage.promotion]["pipeline_file"]
            assert spec.get("deployment_target") == stage.target
            assert "auto_promote" not in spec and "auto_promote_on" not in spec
    for last in project.steps[-1]:
        assert promotions(files[declared_in[last.name]]) == {}, "the last stage promotes nowhere"
    assert set(files) == used, f"pipeline files no promotion names: {set(files) - used}"


@pytest.mark.parametrize("name", PROJECTS)
def test_pipeline_files_use_documented_keys_only(name: str) -> None:
    for file, pipeline in pipelines(PROJECTS[name]).items():
        assert pipeline["version"] == "v1.0", file
        assert set(pipeline) <= PIPELINE_KEYS, file
        assert set(pipeline["agent"]) <= AGENT_KEYS, file
        assert set(pipeline.get("queue", {})) <= QUEUE_KEYS, file
        for promotion in pipeline.get("promotions", []):
            assert set(promotion) <= PROMOTION_KEYS, file
        for block in pipeline["blocks"]:
            assert set(block) <= BLOCK_KEYS, file
            assert set(block["task"]) <= TASK_KEYS, file
            for job in block["task"]["jobs"]:
                assert set(job) <= JOB_KEYS and job["commands"], file


@pytest.mark.parametrize("name", PROJECTS)
def test_the_simulator_accepts_the_pipelines_as_a_world(name: str) -> None:
    """The simulator validates promotions, queues and conditions strictly (unknown keys are
    errors), so the files also run as its world."""
    project = PROJECTS[name]
    files = pipelines(project)
    stripped = {
        f".semaphore/{file}": {key: value for key, value in spec.items()
                               if key in ("name", "promotions", "queue", "auto_cancel", "fail_fast")}
        | {"blocks": [{"name": block["name"]} for block in spec["blocks"]]}
        for file, spec in files.items()
    }  # fmt: skip
    targets = sorted({stage.target for stage in project.stages})
    world = {
        "projects": [
            {
                "name": project.semaphore_project,
                "pipeline_file": project.ci_pipeline,
                "deployment_targets": [{"name": target} for target in targets],
                "pipelines": stripped,
            }
        ]
    }
    parsed = parse_world(yaml.safe_dump(world))
    assert parsed.projects[0].name == project.semaphore_project


def test_the_notification_sends_every_deploy_branch_to_the_webhook() -> None:
    resource = yaml.safe_load((EXAMPLES / "semaphore" / "notification.yml").read_text())
    assert set(resource) == {"apiVersion", "kind", "metadata", "spec"}
    assert (resource["apiVersion"], resource["kind"]) == ("v1alpha", "Notification")
    assert resource["metadata"]["name"]
    (rule,) = resource["spec"]["rules"]
    assert set(rule) == {"name", "filter", "notify"}
    assert set(rule["filter"]) <= FILTER_KEYS
    assert set(rule["notify"]) == {"webhook"}
    for project in CONFIG.projects:
        assert project.semaphore_project in rule["filter"]["projects"]
        assert project.branch in rule["filter"]["branches"]
    assert "pipelines" not in rule["filter"], "deploy pipelines must notify too, not only CI"
    webhook = rule["notify"]["webhook"]
    assert set(webhook) <= WEBHOOK_KEYS
    assert webhook["endpoint"].endswith("/semaphore/webhook")
    assert webhook["secret"], "an unsigned webhook is refused with 401"
    assert 0 < webhook["timeout"] <= 15000 and 0 <= webhook["retries"] <= 5
