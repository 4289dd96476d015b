"""A scenario as people read it: one line per event, seconds since the start.

      0.00s  semaphore  ci: semaphore.yml base pushed
      0.01s  semaphore  ci: semaphore.yml tag pushed (refs/tags/v1.2.3)
      3.21s  semaphore  prod: deploy-prod.yml A running
      3.40s  deploybot  prod: rollback of base started

Semaphore's lines are the pipelines' state changes (CI pipelines: pushed, with the tag or
pull request they build, and their result; promoted ones: promoted, running, their result). deploybot's are its audit log: what it told
people, and what people asked of it. The scenario's own lines say what no log shows (the bot
crashing, restarting). The raw decisions (`change_ready`, `tick`, ...) are left
out: each is followed by the notices that say what it did.
"""

from __future__ import annotations

from typing import Any, get_args

from bot.core import events as ev
from bot.core.model import AuditEntry
from bot.scenarios.record import ENDED_EARLY, ScenarioRun

#: The audit log's `action` of an event entry (its detail is the event's id).
EVENT_TYPES = frozenset(
    str(cls.model_fields["type"].default) for cls in get_args(get_args(ev.Event)[0])
)
PROMOTED_STATES = {"initializing": "promoted", "running": "running"}
CI_STATES = {"initializing": "pushed"}


def render(run: ScenarioRun) -> list[str]:
    lines: list[tuple[float, str]] = []
    stages = {p.id: p.stage for p in run.pipelines()}
    for event in run.events:
        text = _pipeline_line(run, event, stages) or _gofer_line(run, event)
        if text is not None:
            lines.append((run.seconds(event["at"]), f"semaphore  {text}"))
    for entry in run.audit:
        text = _audit_line(run, entry)
        if text is not None:
            lines.append((run.seconds(entry.at, bot_clock=True), f"deploybot  {text}"))
    for at, note in run.notes:
        lines.append((run.seconds(at), f"scenario   {note}"))
    lines.sort(key=lambda line: line[0])  # stable: each source keeps its own order on ties
    return [f"{seconds:7.2f}s  {text}" for seconds, text in lines]


def header(run: ScenarioRun, summary: str) -> str:
    how = "with deploybot" if run.with_bot else "Semaphore alone, without deploybot"
    commits = ", ".join(f"{label}={sha[:7]}" for label, sha in run.commits.items())
    return f"{run.scenario} ({how}): {summary}\ncommits: {commits}"


def _pipeline_line(run: ScenarioRun, event: dict[str, Any], stages: dict[str, str]) -> str | None:
    if event["type"] != "pipeline":
        return None
    stage = stages.get(event["pipeline_id"], "")
    shown = CI_STATES if stage == "ci" else PROMOTED_STATES
    if event["state"] == "done":
        word = str(event["result"])
        if word in ENDED_EARLY and event["result_reason"]:
            word += f" ({event['result_reason']})"
    elif event["state"] in shown:
        word = shown[event["state"]]
    else:
        return None
    file = str(event["pipeline_file"]).rsplit("/", 1)[-1]
    line = f"{stage or '?'}: {file} {run.label(event['commit_sha'])} {word}"
    branch = str(event.get("branch") or "")
    if word == "pushed" and branch.startswith(("refs/tags/", "pull-request-")):
        line += f" ({branch})"
    return line


def _gofer_line(run: ScenarioRun, event: dict[str, Any]) -> str | None:
    """A promotion Semaphore gave up on (no pipeline), and a deployment target (de)activated."""
    if event["type"] == "promotion" and event["state"] == "failed":
        where = event.get("deployment_target") or "?"
        label = run.label(event["commit_sha"])
        return f"{where}: promotion {event.get('promotion')} of {label} failed ({event['result_reason']})"
    if event["type"] == "target":
        word = "deactivated" if event["state"] == "cordoned" else "active again"
        return f"{event.get('deployment_target')}: deployment target {word}"
    return None


def _audit_line(run: ScenarioRun, entry: AuditEntry) -> str | None:
    is_event = entry.action in EVENT_TYPES and " " not in entry.detail
    if is_event:
        if entry.actor == "deploybot":
            return None
        return f"{entry.stage}: {entry.actor} asked: {entry.action.replace('_', ' ')}"
    return f"{entry.stage}: {_labelled(run, entry.detail)}"


def _labelled(run: ScenarioRun, text: str) -> str:
    for label, sha in run.commits.items():
        text = text.replace(sha, label).replace(sha[:7], label)
    return text
