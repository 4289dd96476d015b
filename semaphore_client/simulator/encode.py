"""Records to JSON exactly as each endpoint encodes them (reference/semaphore-api.md).

* pipeline describe: lower-case enums, ``"YYYY-MM-DD HH:MM:SS.ffffffZ"``, nested enums as ints
* pipeline/workflow/promotion lists: UPPER-case enums (nested ones too), ``{"seconds", "nanos"}``
* deployment targets and history: ISO-8601 with microseconds (history: whole seconds)
* webhook: lower-case enums, ISO-8601 at second precision, ``"1970-01-01T00:00:00Z"`` when unset
In every API encoding ``result``/``result_reason`` are left out until the pipeline is done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from semaphore_client.simulator.records import (
    AUTO_TRIGGERER,
    SimDeployment,
    SimPipeline,
    SimPromotion,
    SimTarget,
    SimWorkflow,
    iso,
)
from semaphore_client.simulator.world import World, stable_id

_PIPELINE_TRIGGER = {"workflow": 0, "promotion": 1, "auto_promotion": 2}
_WORKFLOW_TRIGGER = ["HOOK", "SCHEDULE", "API", "MANUAL_RUN"]
_TIME_FIELDS = ("created", "pending", "queuing", "running", "stopping", "done")
TimeFormat = Callable[[float | None], Any]


def describe_time(moment: float | None) -> str:
    if moment is None:
        return "1970-01-01 00:00:00.000000Z"
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")


def proto_time(moment: float | None) -> dict[str, int]:
    if moment is None:
        return {"seconds": 0, "nanos": 0}
    micros = round(moment * 1_000_000)
    return {"seconds": micros // 1_000_000, "nanos": (micros % 1_000_000) * 1000}


def webhook_time(moment: float | None) -> str:
    """An unset time is the proto's zero timestamp, as Semaphore's webhook sends it."""
    return iso(moment or 0, digits=0)


def _pipeline_fields(
    p: SimPipeline, world: World, fmt: TimeFormat, case: Callable[[str], str]
) -> dict[str, Any]:
    workflow = p.workflow
    body: dict[str, Any] = {
        "ppl_id": p.ppl_id,
        "name": p.spec.name,
        "project_id": workflow.project.id,
        "branch_name": workflow.branch_name,
        "commit_sha": workflow.commit_sha,
        "commit_message": workflow.commit_message,
        "wf_id": workflow.wf_id,
        "yaml_file_name": p.yaml_file_name,
        "working_directory": p.working_directory,
        "state": case(p.state),
        "terminate_request": p.terminate_request,
        "terminated_by": p.terminated_by,
        "hook_id": workflow.hook_id,
        "branch_id": "",
        "error_description": "",
        "switch_id": p.switch_id,
        "snapshot_id": "",
        "promotion_of": p.promotion_of,
        "partial_rerun_of": "",
        "partially_rerun_by": "",
        "compile_task_id": "",
        "with_after_task": False,
        "after_task_id": "",
        "repository_id": "",
        "organization_id": world.organization_id,
        "env_vars": [{"name": k, "value": v} for k, v in p.env_vars.items()],
        "queue": {
            "queue_id": p.queue.queue_id,
            "name": p.queue.name,
            "scope": p.queue.scope,
            "project_id": workflow.project.id,
            "organization_id": world.organization_id,
            "type": 1 if p.queue.user_generated else 0,
        },
        "triggerer": {
            "wf_triggered_by": workflow.triggered_by,
            "wf_triggerer_id": workflow.hook_id,
            "wf_triggerer_user_id": "",
            "wf_triggerer_provider_login": "",
            "wf_triggerer_provider_uid": "",
            "wf_triggerer_provider_avatar": "",
            "ppl_triggered_by": _PIPELINE_TRIGGER[p.trigger],
            "ppl_triggerer_id": p.triggerer_id,
            "ppl_triggerer_user_id": "",
            "workflow_rerun_of": workflow.rerun_of,
        },
    }
    for name in _TIME_FIELDS:
        body[f"{name}_at"] = fmt(p.times.get(name))
    if p.done:
        body["result"] = case(p.result or "")
        body["result_reason"] = case(p.result_reason or "")
    return body


def pipeline_describe(p: SimPipeline, world: World, detailed: bool) -> dict[str, Any]:
    pipeline = _pipeline_fields(p, world, describe_time, str.lower)
    return {"pipeline": pipeline, "blocks": blocks(p, webhook=False) if detailed else []}


_QUEUE_TYPES = ["IMPLICIT", "USER_GENERATED"]


def pipeline_list_item(p: SimPipeline, world: World) -> dict[str, Any]:
    """The list converts every enum, the nested ones too, to its UPPER-case name."""
    body = _pipeline_fields(p, world, proto_time, str.upper)
    body["queue"]["type"] = _QUEUE_TYPES[body["queue"]["type"]]
    triggerer = body["triggerer"]
    triggerer["wf_triggered_by"] = _WORKFLOW_TRIGGER[triggerer["wf_triggered_by"]]
    triggerer["ppl_triggered_by"] = list(_PIPELINE_TRIGGER)[triggerer["ppl_triggered_by"]].upper()
    return body


def _waits_on_first(p: SimPipeline) -> set[int]:
    """Indexes of the blocks that depend, directly or not, on the first block (the one a
    scripted failure fails)."""
    spec = p.spec.blocks
    by_name = {block.name: index for index, block in enumerate(spec)}
    waiting: set[int] = set()
    for index, block in enumerate(spec):
        needs = [index - 1] if block.dependencies is None and index else []
        needs += [by_name[name] for name in block.dependencies or () if name in by_name]
        if any(need == 0 or need in waiting for need in needs):
            waiting.add(index)
    return waiting


def _block_outcome(p: SimPipeline, index: int, waits: bool) -> tuple[str, str] | None:
    """How block `index` ended, or None when it never started (its jobs are then `[]`)."""
    result, reason = p.result or "", p.result_reason or ""
    started = "running" in p.times
    if not started:
        return None
    if result == "passed" or index == 0:
        return result, reason
    if result == "failed":
        if waits:  # its dependency failed: it is never started
            return None
        if p.fail_fast == "stop":
            return "stopped", "fast_failing"
        return "passed", "test"  # ran beside the failed block, to its end
    return None if waits else ("stopped", reason)  # stopped, canceled: as the pipeline


def _jobs(p: SimPipeline, index: int, state: str, result: str, *, webhook: bool) -> list[Any]:
    names = p.spec.blocks[index].job_names
    case = str.lower if webhook else str.upper
    jobs: list[dict[str, Any]] = []
    for number, name in enumerate(names):
        job: dict[str, Any] = {"name": name, "index": number, "status": case(state)}
        job["id" if webhook else "job_id"] = stable_id(p.ppl_id, str(index), str(number))
        if state == "finished":
            failed = result == "failed" and number == len(names) - 1
            job["result"] = case(
                "failed" if failed else "passed" if result != "stopped" else result
            )
        jobs.append(job)
    return jobs


def blocks(p: SimPipeline, *, webhook: bool) -> list[dict[str, Any]]:
    """Blocks and their jobs. The first block carries the pipeline's result; blocks waiting on
    a failed one end `canceled/fast_failing` without jobs; blocks beside it are stopped by
    `fail_fast: stop` or run to their end; a stop stops what runs and cancels what waits."""
    waiting = _waits_on_first(p)
    found = []
    for index, block in enumerate(p.spec.blocks):
        waits = index in waiting
        started = "running" in p.times and not waits
        body: dict[str, Any] = {"name": block.name, "jobs": []}
        if not webhook:
            body.update(
                block_id=f"{p.ppl_id[:8]}-b{index}" if started else "",
                build_req_id="",
                error_description="",
            )
        if p.done:
            outcome = _block_outcome(p, index, waits)
            if outcome is None:
                failed = p.result == "failed"
                reason = "fast_failing" if failed else p.result_reason or ""
                body.update(state="done", result="canceled", result_reason=reason)
            else:
                body.update(state="done", result=outcome[0], result_reason=outcome[1])
                body["jobs"] = _jobs(p, index, "finished", outcome[0], webhook=webhook)
        elif started:
            state = "stopping" if p.state == "stopping" else "running"
            body["state"] = state
            body["jobs"] = _jobs(p, index, state, "", webhook=webhook)
        else:
            body["state"] = "waiting"
        found.append(body)
    return found


def workflow_body(w: SimWorkflow, world: World, *, listed: bool) -> dict[str, Any]:
    return {
        "wf_id": w.wf_id,
        "initial_ppl_id": w.initial_ppl_id,
        "project_id": w.project.id,
        "hook_id": w.hook_id,
        "requester_id": "",
        "branch_id": "",
        "branch_name": w.branch_name,
        "commit_sha": w.commit_sha,
        "created_at": proto_time(w.created_at),
        "triggered_by": w.triggered_by if listed else _WORKFLOW_TRIGGER[w.triggered_by],
        "rerun_of": w.rerun_of,
        "repository_id": "",
        "organization_id": world.organization_id,
    }


def promotion_body(p: SimPromotion) -> dict[str, Any]:
    return {
        "name": p.name,
        "triggered_at": proto_time(p.triggered_at),
        "triggered_by": p.triggered_by,
        "override": p.override,
        "status": p.status,
        "scheduled_at": proto_time(p.scheduled_at),
        "scheduled_pipeline_id": p.scheduled_pipeline_id,
    }


def deployment_body(d: SimDeployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "target_id": d.target.id,
        "target_name": d.target.spec.name,
        "switch_id": d.switch_id,
        "prev_pipeline_id": d.prev_pipeline_id,
        "pipeline_id": d.pipeline_id,
        "triggered_by": d.triggered_by,
        "triggered_at": iso(d.triggered_at_us // 1_000_000, digits=0).replace("Z", ".000000Z"),
        "state": d.state,
        "state_message": d.state_message,
        "env_vars": [{"name": k, "value": v} for k, v in d.env_vars.items()],
        "can_requester_rerun": d.triggered_by != AUTO_TRIGGERER,
    }


def target_body(t: SimTarget, world: World) -> dict[str, Any]:
    spec = t.spec
    return {
        "id": t.id,
        "name": spec.name,
        "description": spec.description,
        "url": spec.url,
        "organization_id": world.organization_id,
        "project_id": t.project.id,
        "created_by": "",
        "created_at": iso(t.created_at),
        "updated_by": "",
        "updated_at": iso(t.updated_at),
        "state": "CORDONED" if t.cordoned else "USABLE",
        "state_message": "",
        "subject_rules": [{"type": "ANY", "subject_id": ""}],
        "object_rules": [
            {"type": kind, "match_mode": "ALL", "pattern": ""} for kind in ("BRANCH", "TAG", "PR")
        ],
        "last_deployment": deployment_body(t.history[-1]) if t.history else None,
        "active": not t.cordoned,
        "bookmark_parameter1": spec.bookmark_parameter1,
        "bookmark_parameter2": spec.bookmark_parameter2,
        "bookmark_parameter3": spec.bookmark_parameter3,
    }


def project_body(name: str, world: World) -> dict[str, Any]:
    project = world.project(name)
    assert project is not None
    return {
        "apiVersion": "v1alpha",
        "kind": "Project",
        "metadata": {
            "id": project.id,
            "name": project.name,
            "owner_id": "",
            "org_id": world.organization_id,
            "description": "",
        },
        "spec": {
            "repository": {
                "url": project.repository_url,
                "name": project.name,
                "owner": world.organization,
                "forked_pull_requests": {"allowed_secrets": [], "allowed_contributors": []},
                "run_on": list(project.run_on),
                "pipeline_file": project.pipeline_file,
                "status": {
                    "pipeline_files": [{"path": project.pipeline_file, "level": "pipeline"}]
                },
                "whitelist": {"branches": [], "tags": []},
                "integration_type": "github_app",
            },
            "schedulers": [],
            "tasks": [],
            "visibility": "private",
        },
    }
