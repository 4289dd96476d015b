"""The demo's hands on the world around the bot: Semaphore's scripted results, Alertmanager's
alerts, and whether anything is still moving.

`fail prod` scripts the NEXT deploy pipeline of prod to fail, and only that one: the outcome is
scripted for the stage's pipeline file, and put back to `passed` as soon as a pipeline of
that file starts (the simulator fixes a pipeline's outcome when it creates it). So the
rollback that follows, a pipeline of the same file, passes.
"""

from __future__ import annotations

import posixpath
from datetime import UTC, datetime
from typing import Any

import yaml

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.scenarios.harness import Harness
from semaphore_client.simulator import World, default_world, parse_world


def stage_files(world: World, project: ProjectConfig) -> dict[str, str]:
    """Each stage's deploy pipeline file (bare name), found through its promotion's name."""
    spec = world.project(project.semaphore_project)
    promotions: dict[str, str] = {}
    if spec is not None:
        for pipeline in spec.pipelines.values():
            for promotion in pipeline.promotions:
                promotions.setdefault(promotion.name, posixpath.basename(promotion.pipeline_file))
    return {s.name: promotions[s.promotion] for s in project.stages if s.promotion in promotions}


def demo_world(config: DeploybotConfig) -> World:
    """The simulator's built-in `demo` world when it has every promotion the configuration
    names; else a world made from the configuration (a wave's targets, say): each stage's
    deployment target, a deploy pipeline per stage (`deploy-TARGET.yml`) with its own queue,
    and each promotion declared in the pipeline the stage hangs off."""
    built_in = default_world()
    project = config.projects[0]
    if set(stage_files(built_in, project)) == set(project.stage_names):
        return built_in
    return parse_world(yaml.safe_dump(_world_spec(project), sort_keys=False))


def _world_spec(project: ProjectConfig) -> dict[str, Any]:
    def file(target: str) -> str:
        return f"deploy-{target.replace('/', '-')}.yml"

    def promotion(name: str, target: str) -> dict[str, str]:
        return {"name": name, "pipeline_file": file(target), "deployment_target": target}

    ci = posixpath.join(".semaphore", posixpath.basename(project.ci_pipeline))
    pipelines: dict[str, dict[str, Any]] = {ci: {"name": "CI", "blocks": [{"name": "Test"}]}}
    for stage in project.stages:
        pipelines[f".semaphore/{file(stage.target)}"] = {
            "name": f"Deploy to {stage.name}",
            "blocks": [{"name": "Deploy"}],
            "queue": {"name": f"{project.name}-{stage.target}", "processing": "serialized"},
        }
    for stage in project.stages:
        source = project.source_stage(stage.name)
        at = ci if source is None else f".semaphore/{file(project.stage(source).target)}"
        offered = pipelines[at].setdefault("promotions", [])
        offered.append(promotion(stage.promotion, stage.target))
        if stage.rollback.promotion:
            offered.append(promotion(stage.rollback.promotion, stage.target))
        if stage.emergency is not None:
            pipelines[ci].setdefault("promotions", []).append(
                promotion(stage.emergency.promotion, stage.target)
            )
    targets = list(dict.fromkeys(stage.target for stage in project.stages))
    return {
        "organization": "demo-org",
        "projects": [
            {
                "name": project.semaphore_project,
                "deployment_targets": [{"name": target} for target in targets],
                "pipelines": pipelines,
            }
        ],
    }


def alert_payload(project: str, stage: str, status: str, starts_at: datetime) -> dict[str, Any]:
    """An Alertmanager (webhook version 4) notification with one alert for `stage`."""
    labels = {
        "alertname": "DemoAlarm",
        "severity": "page",
        "deploybot_project": project,
        "deploybot_stage": stage,
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"error rate on {stage} above 5% (from the demo)"},
        "startsAt": starts_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.demo/graph",
        "fingerprint": f"demo-{project}-{stage}",
    }
    return {
        "version": "4",
        "status": status,
        "receiver": "deploybot",
        "groupKey": f'{{}}:{{alertname="DemoAlarm",deploybot_stage="{stage}"}}',
        "truncatedAlerts": 0,
        "groupLabels": {"alertname": "DemoAlarm"},
        "commonLabels": labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.demo:9093",
        "alerts": [alert],
    }


class Outcomes:
    """One-shot scripted results per stage (see the module's docstring)."""

    def __init__(self, harness: Harness, files: dict[str, str]) -> None:
        self.harness, self.files = harness, files
        #: pipeline file -> the last simulator event seq seen when it was scripted.
        self.armed: dict[str, int] = {}

    async def next_result(self, stage: str, result: str, seen_seq: int) -> None:
        file = self.files[stage]
        await self.harness.script(pipeline_file=file, result=result)
        if result == "passed":
            self.armed.pop(file, None)
        else:
            self.armed[file] = seen_seq

    async def observe(self, events: list[dict[str, Any]]) -> None:
        """Disarm a stage once a pipeline of its file was created after it was scripted."""
        for event in events:
            file = posixpath.basename(str(event.get("pipeline_file") or ""))
            armed = self.armed.get(file)
            if armed is None or event.get("type") != "pipeline" or event["seq"] <= armed:
                continue
            if event.get("state") == "initializing":
                self.armed.pop(file)
                await self.harness.script(pipeline_file=file, result="passed")


async def busy(harness: Harness, project: str) -> bool:
    """Something is running, baking or about to start on a stage, or Semaphore is running a
    pipeline. A queue held by a blocker, or a rollback waiting for approval, is not busy."""
    for stage in harness.config.project(project).stages:
        state = await harness.store.load(project, stage.name)
        if state.current is not None:
            return True
        if state.queue and not state.blockers and state.pending_rollback is None:
            return True
    last: dict[str, str] = {}
    for event in await harness.sim_events("pipeline"):
        last[str(event["pipeline_id"])] = str(event["state"])
    return any(state != "done" for state in last.values())
