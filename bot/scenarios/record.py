"""What a scenario left behind: the simulator's events and deploybot's audit and history.

`ScenarioRun` answers the questions the tests and the timeline ask in the scenario's own
words: commits by label (`base`, `A`, `B`), pipelines by stage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.model import AuditEntry, Deployment
from bot.scenarios.outcome import outcome

#: Pipeline results that mean Semaphore ended a pipeline early.
ENDED_EARLY = ("canceled", "stopped")


def commit_sha(label: str) -> str:
    """A stable, realistic 40-hex sha for a scenario's commit label."""
    return hashlib.sha1(f"deploybot scenario commit {label}".encode()).hexdigest()


@dataclass(frozen=True)
class Pipeline:
    """One pipeline as the simulator's events tell its story."""

    id: str
    file: str
    label: str
    stage: str
    promoted: bool
    #: (state or result, seconds since the scenario began) in order.
    states: tuple[tuple[str, float], ...]
    result: str | None

    @property
    def created(self) -> float:
        return self.states[0][1]

    def at(self, state: str) -> float | None:
        return next((t for s, t in self.states if s == state), None)


@dataclass
class ScenarioRun:
    scenario: str
    with_bot: bool
    commits: dict[str, str]
    events: list[dict[str, Any]]
    audit: list[AuditEntry]
    history: dict[str, list[Deployment]] = field(default_factory=dict)
    #: Each stage's delivery metrics at the end (bot.service.delivery.figures), with the bot.
    stats: dict[str, Any] = field(default_factory=dict)
    #: What the scenario did that no log shows (a crash, a restart), by wall clock.
    notes: list[tuple[datetime, str]] = field(default_factory=list)
    #: Wall-clock start of the scenario.
    started_at: datetime = field(default_factory=lambda: datetime.fromtimestamp(0, UTC))
    #: How far the bot's clock was ahead of the wall clock (a scenario clock).
    clock_offset: timedelta = timedelta(0)

    def label(self, sha: str | None) -> str:
        for label, known in self.commits.items():
            if known == sha:
                return label
        return (sha or "?")[:7]

    def seconds(self, at: str | datetime, *, bot_clock: bool = False) -> float:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        if bot_clock:
            moment -= self.clock_offset
        return (moment - self.started_at).total_seconds()

    def pipelines(self) -> list[Pipeline]:
        """Every pipeline, in creation order."""
        targets = {
            e["pipeline_id"]: e.get("deployment_target") or ""
            for e in self.events
            if e["type"] == "promotion"
        }
        story: dict[str, list[dict[str, Any]]] = {}
        for event in self.events:
            if event["type"] == "pipeline":
                story.setdefault(event["pipeline_id"], []).append(event)
        found = []
        for pipeline_id, events in story.items():
            first, last = events[0], events[-1]
            promoted = first["promotion_of"] is not None
            states = tuple(
                (e["result"] if e["state"] == "done" else e["state"], self.seconds(e["at"]))
                for e in events
            )
            found.append(
                Pipeline(
                    id=pipeline_id,
                    file=first["pipeline_file"].rsplit("/", 1)[-1],
                    label=self.label(first["commit_sha"]),
                    stage=targets.get(pipeline_id, "") if promoted else "ci",
                    promoted=promoted,
                    states=states,
                    result=last["result"] if last["state"] == "done" else None,
                )
            )
        return found

    def promoted(self, stage: str) -> list[Pipeline]:
        """The pipelines promoted to `stage`, in the order they were created."""
        return [p for p in self.pipelines() if p.promoted and p.stage == stage]

    def ran(self, stage: str) -> list[Pipeline]:
        """The pipelines of `stage` that started running, in the order they did."""
        running = [p for p in self.promoted(stage) if p.at("running") is not None]
        return sorted(running, key=lambda p: p.at("running") or 0.0)

    def ended_early(self) -> list[Pipeline]:
        return [p for p in self.pipelines() if p.result in ENDED_EARLY]

    def audit_of(self, stage: str, action: str | None = None) -> list[AuditEntry]:
        return [
            a for a in self.audit if a.stage == stage and (action is None or a.action == action)
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "with_bot": self.with_bot,
            "commits": dict(self.commits),
            "events": self.events,
            "audit": [a.model_dump(mode="json") for a in self.audit],
            "outcome": outcome(self),
            "stats": self.stats,
        }
