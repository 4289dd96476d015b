"""Requests a person confirms in a modal (a manual rollback, an emergency deployment),
checked before the modal opens (issue 13 item 5), so a request that cannot be done is
answered at once instead of after the person filled the modal in.

    rollback_plan(stages, project, stage, to_sha, by)     -> Plan | Refused
    emergency_plan(stages, project, stage, sha, by)       -> Plan | Refused

Both look only at what deploybot knows (its store; for a rollback on a stage without history
of its own, Semaphore's deployment history, as the rules would), and ask the rules what they
would decide on the stage as it is now, applying nothing. A plan carries what the modal shows
(`Shown`: the live deployment, the blockers it goes past), and the rules check that again
when the modal is submitted: the stage may have moved on in between.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.config.models import ProjectConfig
from bot.core import events as ev
from bot.core import waves
from bot.core.decision import Notice, NoticeKind
from bot.core.emergency import emergency_source, no_source
from bot.core.model import Blocker, BlockerKind, Change, Deployment, StageState
from bot.core.rules import decide
from bot.core.stale import live
from bot.service.stages import StageService


class Why(StrEnum):
    #: deploybot knows no change of that sha.
    UNKNOWN = "unknown"
    #: The sha is the prefix of several changes.
    AMBIGUOUS = "ambiguous"
    #: The rules refuse it on the stage as it is (nothing deployed, running, queued, ...).
    STATE = "state"


@dataclass(frozen=True)
class Refused:
    text: str
    why: Why = Why.STATE


@dataclass(frozen=True)
class Plan:
    """What the modal shows and what it was made for."""

    #: The change to deploy (an emergency) or to restore (a rollback).
    change: Change
    #: What runs on the stage now, if anything.
    live: Deployment | None
    #: The active blockers of the stage (stored and from the calendar).
    blockers: tuple[Blocker, ...]
    shown: ev.Shown


def together(plans: Sequence[Plan]) -> Plan:
    """One modal for every target of a wave: the blockers and the manual ones it goes past of
    all of them, every target's live deployment (comma-separated ids: each names its stage),
    and the commit a rollback restores when every target would restore the same one."""
    blockers = tuple({b.id: b for p in plans for b in p.blockers}.values())
    past = tuple(dict.fromkeys(b for p in plans for b in p.shown.past or ()))
    restores = {p.shown.to_sha for p in plans}
    shown = ev.Shown(
        deployment_id=",".join(p.shown.deployment_id for p in plans if p.shown.deployment_id),
        to_sha=restores.pop() if len(restores) == 1 else None,
        past=past,
    )
    return Plan(change=plans[0].change, live=None, blockers=blockers, shown=shown)


def shown_on(shown: ev.Shown, project: str, stage: str) -> ev.Shown:
    """What a wave's modal showed of one of its targets (its own live deployment)."""
    ids = [i for i in shown.deployment_id.split(",") if i.startswith(f"{project}/{stage}/")]
    return shown.model_copy(update={"deployment_id": ids[0] if ids else ""})


async def rollback_plan(
    stages: StageService, project: str, stage: str, to_sha: str | None, by: str
) -> Plan | Refused:
    """A manual rollback of `stage` (to `to_sha`, or to the last good deployment), past the
    manual blockers there are now: what the rules would queue, or why they would not."""
    event = ev.RollbackRequested(id="preview", by=by, to_sha=to_sha, force=True)
    snapshot = await stages.snapshot(project, stage, event)
    decision = decide(snapshot, event, stages.clock())
    refused = _refusal(decision.notices)
    if refused is not None:
        return refused
    queued = next(n.deployment for n in decision.notices if n.kind is NoticeKind.ROLLBACK_QUEUED)
    assert queued is not None
    now = live(snapshot.state)
    blockers = decision.blocked_by
    manual = tuple(b.id for b in blockers if b.kind is BlockerKind.MANUAL)
    shown = ev.Shown(deployment_id=now.id if now else "", to_sha=queued.change.sha, past=manual)
    return Plan(change=queued.change, live=now, blockers=blockers, shown=shown)


async def emergency_plan(
    stages: StageService, project: ProjectConfig, stage: str, sha: str, by: str
) -> Plan | Refused:
    """An emergency deployment of commit `sha` (a prefix will do) to `stage`: the change
    must be one deploybot knows (its CI passed on the deploy branch), and not already queued
    or running there as an emergency."""
    states = await stages.store.load_many(project.name, project.stage_names)
    known = _known(states.values())
    prefix = sha.lower()
    matches = sorted(s for s in known if s.startswith(prefix))
    if not matches:
        return Refused(
            f"deploybot knows no change {sha} of {project.name} whose CI passed on "
            f"{project.branch}",
            Why.UNKNOWN,
        )
    if len(matches) > 1:
        several = ", ".join(m[:12] for m in matches[:5])
        return Refused(f"{sha} is the start of {len(matches)} changes ({several})", Why.AMBIGUOUS)
    full = matches[0]
    change = known[full] or Change(sha=full, created_at=stages.clock())
    source = await emergency_source_of(stages, project, stage, change)
    if isinstance(source, Refused):
        return source
    event = ev.EmergencyRequested(
        id="preview", change=change, source_pipeline_id=source, by=by, reason="-"
    )
    snapshot = await stages.snapshot(project.name, stage, event, states[stage])
    decision = decide(snapshot, event, stages.clock())
    refused = _refusal(decision.notices)
    if refused is not None:
        return refused
    now = live(states[stage])
    shown = ev.Shown(deployment_id=now.id if now else "", to_sha=full)
    return Plan(change=change, live=now, blockers=decision.blocked_by, shown=shown)


async def emergency_source_of(
    stages: StageService, project: ProjectConfig, stage: str, change: Change
) -> str | Refused:
    """The pipeline an emergency deployment of `change` to `stage` is promoted from
    (bot.core.emergency), or why there is none."""
    policy = stages.policy(project.name, stage)
    before = waves.source_stage(stages.pipelines[project.name], policy) or ""
    previous: list[Deployment] = []
    if policy.hangs_off_previous and before:
        state = await stages.store.load(project.name, before)
        previous = [*([state.current] if state.current else []), *state.good]
        previous += await stages.store.history(project.name, before)
    source = emergency_source(policy, change, previous)
    if source:
        return source
    return Refused(no_source(policy, before, change, project.ci_pipeline))


def _known(states: Iterable[StageState]) -> dict[str, Change | None]:
    """Every change deploybot knows of a project's stages: those whose CI passed (the shas a
    stage has seen) and those deployed, queued or running (with their commit's details)."""
    known: dict[str, Change | None] = {}
    for state in states:
        for sha in state.seen:
            known.setdefault(sha, None)
        current = [state.current] if state.current else []
        for deployment in (*current, *state.queue, *state.good):
            known[deployment.change.sha] = deployment.change
    return known


def _refusal(notices: Iterable[Notice]) -> Refused | None:
    for notice in notices:
        if notice.kind is NoticeKind.REFUSED:
            return Refused(notice.text)
    return None
