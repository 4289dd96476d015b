"""Approving and rejecting a roll-forward that waits for approval (issue 16), from a button
or `/deploy approve|reject`: the author check (the service), then the rules (waiting still,
not the same person twice). The answer is for the person alone; the approval message in the
channel is redrawn by the notifier from what the rules told."""

from __future__ import annotations

import uuid

from bot.core.decision import NoticeKind
from bot.core.model import AuditEntry, Deployment, DeploymentKind
from bot.service.approvals import author_refusal
from bot.slack.escape import escape
from bot.slack.listeners.context import SlackContext


async def approval_answer(
    slack: SlackContext,
    project: str,
    stage: str,
    deployment: Deployment,
    user: str,
    reject: str | None = None,
    request_id: str | None = None,
) -> str:
    """Approve `deployment` (or reject it, with `reject` as the reason) as `user`: what to
    tell them. On a target of a wave, the same change is approved (rejected) on every other
    target of the wave where it is queued: a wave needs one approval, as a stage does."""
    request = request_id or uuid.uuid4().hex
    done, answer = await _answer_one(slack, project, stage, deployment, user, reject, request)
    config = slack.config.project(project)
    wave = config.stage(stage).wave
    if not done or wave is None:
        return answer
    also = []
    for target in config.wave(wave):
        if target.name == stage:
            continue
        state = await slack.store.load(project, target.name)
        same = [d for d in state.queue if d.change.sha == deployment.change.sha]
        waiting = next((d for d in same if d.kind is DeploymentKind.ROLLFORWARD), None)
        if waiting is None:
            continue
        request_here = f"{request}>{target.name}"
        ok, _ = await _answer_one(slack, project, target.name, waiting, user, reject, request_here)
        if ok:
            also.append(target.name.partition("/")[2])
    if also:
        answer += f" The same on {escape(wave)}'s {escape(', '.join(also))}."
    return answer


async def _answer_one(
    slack: SlackContext,
    project: str,
    stage: str,
    deployment: Deployment,
    user: str,
    reject: str | None,
    request: str,
) -> tuple[bool, str]:
    """Whether anything was done, and what to tell the person."""
    sha = f"`{deployment.change.sha[:7]}`"
    if reject is None:
        refusal = await author_refusal(slack.config, slack.store, project, stage, deployment, user)
        if refusal is not None:  # in the audit log too: every refusal of an approval is
            entry = AuditEntry(at=slack.clock(), project=project, stage=stage, actor=user,
                               action="approval_refused", detail=f"{sha}: {refusal}")  # fmt: skip
            await slack.store.record(entry, slack.config.history_retention)
            return False, f":no_entry_sign: Nothing was done: {escape(refusal)}."
        decision = await slack.orchestrator.approve(project, stage, user, deployment.id, request)
    else:
        decision = await slack.orchestrator.reject(
            project, stage, user, deployment.id, reject, request
        )
    if decision is None:
        return False, "Nothing was done: this request was handled already."
    refused = [n.text for n in decision.notices if n.kind is NoticeKind.REFUSED]
    if refused:
        return False, f":no_entry_sign: Nothing was done: {escape('; '.join(refused))}."
    where = f"{escape(project)}/{escape(stage)}"
    if reject is not None:
        return True, f":no_entry_sign: You rejected {sha} for {where}: {escape(reject)}"
    gate = slack.config.project(project).stage(stage).approval
    required = gate.required if gate is not None else 1
    if decision.start is not None and decision.start.id == deployment.id:
        return (
            True,
            f":white_check_mark: You approved {sha} ({required} of {required}): it deploys to {where} now.",
        )
    now = next((d for d in decision.state.queue if d.id == deployment.id), deployment)
    count = f"{len(now.approvals)} of {required}"
    if len(now.approvals) >= required:
        return (
            True,
            f":white_check_mark: You approved {sha} ({count}): it deploys to {where} once nothing blocks it.",
        )
    return (
        True,
        f":ballot_box_with_check: You approved {sha} ({count}); it waits for {required - len(now.approvals)} more.",
    )
