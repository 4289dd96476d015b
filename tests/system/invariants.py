"""What must hold after any run, read from the simulator's `/_sim/events` (issue 12):

1. never two deploy or rollback pipelines of one stage running at the same time;
2. no tag, pull-request or non-CI pipeline's commit is ever promoted, nor a commit whose CI
   failed;
3. every main commit whose CI passed is deployed on every stage, or superseded there by a newer
   one that is (after settling, no blocker holds a stage: the last commit runs everywhere);
4. no rollback is ever cancelled or stopped by Semaphore's strategy (auto-cancel);
5. an emergency deployment never causes a promotion to a later stage;
6. a commit is promoted to a stage (other than by an emergency) only after its deploy passed
   on every stage of the step before: the stage before, or every target of the wave before
   (issue 18).

Invariant 6 (nothing RUNNING without a pipeline) is the bot's state, watched during the run
(tests/system/runs.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tests.system.world import CI_FILE, PLAIN, Topology

Event = dict[str, Any]
PROMOTED = ("promotion", "auto_promotion")


@dataclass(frozen=True)
class Span:
    pipeline_id: str
    file: str
    sha: str
    start: int  # event seq
    end: int | None  # event seq of done; None while it runs


def _file(event: Event) -> str:
    return str(event["pipeline_file"] or "").rsplit("/", 1)[-1]


def pipelines(events: Iterable[Event]) -> list[Event]:
    return [e for e in events if e["type"] == "pipeline"]


def running_spans(events: Iterable[Event], topology: Topology) -> dict[str, list[Span]]:
    """Per stage: each deploy or rollback pipeline from `running` until `done` (stopping
    counts as running: its jobs still run)."""
    started: dict[str, Event] = {}
    spans: dict[str, list[Span]] = {stage: [] for stage in topology.stages}
    for event in pipelines(events):
        stage = topology.stage_files.get(_file(event))
        if stage is None:
            continue
        pid = event["pipeline_id"]
        if event["state"] == "running":
            started[pid] = event
        elif event["state"] == "done" and pid in started:
            begin = started.pop(pid)
            spans[stage].append(Span(pid, _file(event), event["commit_sha"], begin["seq"],
                                     event["seq"]))  # fmt: skip
    for pid, begin in started.items():
        stage = topology.stage_files[_file(begin)]
        spans[stage].append(Span(pid, _file(begin), begin["commit_sha"], begin["seq"], None))
    return spans


def check(
    events: list[Event],
    *,
    final_sha: str,
    emergency_pipelines: Iterable[str],
    label: dict[str, str],
    topology: Topology = PLAIN,
) -> list[str]:
    """Every invariant broken by the run, in words (empty when all hold)."""
    problems: list[str] = []

    def name(sha: str) -> str:
        return label.get(sha, sha[:7])

    # 1. one pipeline per stage at a time
    for stage, spans in running_spans(events, topology).items():
        spans.sort(key=lambda s: s.start)
        for before, after in itertools.pairwise(spans):
            if before.end is None or after.start < before.end:
                problems.append(
                    f"1: on {stage}, {after.file} of {name(after.sha)} ran while {before.file} "
                    f"of {name(before.sha)} was still running"
                )
    # 2. only main commits whose CI passed are promoted
    ci_passed: set[str] = set()
    for event in pipelines(events):
        ci = event["pipeline_file"] == CI_FILE and event["triggered_by"] == "workflow"
        passed = event["state"] == "done" and event["result"] == "passed"
        if ci and passed and event.get("branch") == "main":
            ci_passed.add(event["commit_sha"])
    for event in pipelines(events):
        promoted = event["triggered_by"] in PROMOTED and event["state"] == "initializing"
        if promoted and event["commit_sha"] not in ci_passed:
            problems.append(
                f"2: {_file(event)} of {name(event['commit_sha'])} was promoted, but no CI "
                f"pipeline of it passed on main (its build: {event.get('branch')})"
            )
    # 3. after settling, the final commit is the last deployed on every stage
    for stage, spans in running_spans(events, topology).items():
        passed = {
            e["pipeline_id"]
            for e in pipelines(events)
            if e["state"] == "done" and e["result"] == "passed"
        }
        done = [s for s in spans if s.pipeline_id in passed]
        last = max(done, key=lambda s: s.end or 0, default=None)
        if last is None or last.sha != final_sha:
            now = name(last.sha) if last else "nothing"
            problems.append(f"3: after settling, {stage} runs {now}, not the final commit")
    # 4. no rollback (or any deploy) is cancelled or stopped by auto-cancel
    for event in pipelines(events):
        if _file(event) in topology.stage_files and event["result_reason"] == "strategy":
            problems.append(
                f"4: Semaphore's auto-cancel ended {_file(event)} of {name(event['commit_sha'])} "
                f"({event['result']})"
            )
    # 5. nothing is promoted from an emergency deployment's pipeline
    emergencies = set(emergency_pipelines)
    for event in pipelines(events):
        promoted = event["triggered_by"] in PROMOTED and event["state"] == "initializing"
        if promoted and event["promotion_of"] in emergencies:
            problems.append(
                f"5: {_file(event)} of {name(event['commit_sha'])} was promoted from an "
                "emergency deployment's pipeline"
            )
    problems += _gated(events, topology, emergencies, name)
    return problems


def _gated(events: list[Event], topology: Topology, emergencies: set[str], name: Any) -> list[str]:
    """6. every promotion to a stage came after the commit's deploy passed on the whole step
    before (emergencies bypass that by design)."""
    problems: list[str] = []
    step_of = {stage: i for i, step in enumerate(topology.steps) for stage in step}
    # A commit an emergency deployed may be rolled back to later, from anywhere.
    rushed = {e["commit_sha"] for e in pipelines(events) if e["pipeline_id"] in emergencies}
    passed: dict[tuple[str, str], int] = {}  # (stage, sha) -> seq of its first passed deploy
    for event in pipelines(events):
        stage = topology.stage_files.get(_file(event))
        if stage is None or event["pipeline_id"] in emergencies:
            continue
        if event["state"] == "done" and event["result"] == "passed":
            passed.setdefault((stage, event["commit_sha"]), event["seq"])
        if (
            event["triggered_by"] in PROMOTED
            and event["state"] == "initializing"
            and event["commit_sha"] not in rushed
        ):
            index = step_of[stage]
            before = topology.steps[index - 1] if index else ()
            missing = [s for s in before if (s, event["commit_sha"]) not in passed]
            if missing:
                problems.append(
                    f"6: {_file(event)} of {name(event['commit_sha'])} was promoted before its "
                    f"deploy passed on {', '.join(missing)}"
                )
    return problems


def timeline(events: list[Event], label: dict[str, str]) -> list[str]:
    """Semaphore's side of a run, one line per event, commits by label."""
    lines = []
    for e in events:
        sha = e.get("commit_sha") or ""
        who = label.get(sha, sha[:7])
        what = e["state"] or ""
        if e["result"]:
            what += f" {e['result']}/{e['result_reason']}"
        elif e["result_reason"]:
            what += f" ({e['result_reason']})"
        where = _file(e) or e.get("deployment_target") or ""
        extra = f" from {e['promotion_of'][:8]}" if e.get("promotion_of") else ""
        pid = (e.get("pipeline_id") or "")[:8]
        lines.append(f"#{e['seq']:<4} {e['at'][11:23]} {e['type']:<10} {where:<18} {who:<7} "
                     f"{pid:<8} {what}{extra}")  # fmt: skip
    return lines
