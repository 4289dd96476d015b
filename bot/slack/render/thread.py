"""A change's status thread: the parent message, updated in place, and one reply per notice.

    change_thread(project, change, deployments, states, now, org=None, ships=None)
        `deployments`: stage name -> this change's latest deployment there (absent: not yet);
        `states`: stage name -> StageState (blockers, rollbacks). One line per stage; then,
        for the stages in `ships`, what the deployment there ships.
    notice_reply(notice, zone, now, org=None)
        a threaded reply; `reply_broadcast` is True for `decision.BROADCAST` kinds, so
        failures and rollbacks also show in the channel.
    notices_reply(notices, now, org=None)
        notices that waited together, folded into one reply.
    superseded_reply(stage, changes)
        one line for changes superseded before their message was posted.

Block ids: `change:<sha7>:<stage>` per stage line, `notice:<kind>` for a reply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.config.models import ProjectConfig
from bot.core.decision import BROADCAST, Notice, NoticeKind
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StageState
from bot.core.ships import Ships
from bot.slack.escape import escape
from bot.slack.render.blocks import Block, context, message, section, sections
from bot.slack.render.board import StageBoard, awaits_approval, stage_board
from bot.slack.render.ships import ships_lines
from bot.slack.render.text import (
    blocker_line,
    local,
    outcome,
    person,
    sha7,
    span,
    title,
    version,
    when,
    workflow_link,
)

Message = dict[str, Any]
#: A reply shows at most this many notices as sections of their own (Slack: 50 blocks).
MAX_SECTIONS = 40
#: Characters in a message's fallback text (Slack: 40,000; notifications show far less).
FALLBACK_LIMIT = 3000
SHAS_PER_ROW = 20

NOTICE_ICON: dict[NoticeKind, str] = {
    NoticeKind.QUEUED: ":inbox_tray:",
    NoticeKind.WAITING: ":double_vertical_bar:",
    NoticeKind.UNBLOCKED: ":arrow_forward:",
    NoticeKind.STARTED: ":arrows_counterclockwise:",
    NoticeKind.NOT_STARTED: ":warning:",
    NoticeKind.BAKING: ":hourglass_flowing_sand:",
    NoticeKind.DONE: ":white_check_mark:",
    NoticeKind.SUCCEEDED: ":white_check_mark:",
    NoticeKind.FAILED: ":x:",
    NoticeKind.CANCELLED: ":heavy_minus_sign:",
    NoticeKind.SUPERSEDED: ":fast_forward:",
    NoticeKind.REJECTED: ":no_entry_sign:",
    NoticeKind.ROLLBACK_QUEUED: ":rewind:",
    NoticeKind.ROLLBACK_NEEDS_APPROVAL: ":rotating_light:",
    NoticeKind.ROLLBACK_DISMISSED: ":heavy_multiplication_x:",
    NoticeKind.ROLLBACK_FAILED: ":boom:",
    NoticeKind.NO_ROLLBACK_TARGET: ":warning:",
    NoticeKind.ALARM_AFTER_BAKE: ":rotating_light:",
    NoticeKind.BLOCKER_ADDED: ":no_entry:",
    NoticeKind.BLOCKER_LIFTED: ":large_green_circle:",
    NoticeKind.EMERGENCY_QUEUED: ":ambulance:",
    NoticeKind.REFUSED: ":no_entry_sign:",
    NoticeKind.OUTSIDE: ":bust_in_silhouette:",
    NoticeKind.AWAITING_APPROVAL: ":raised_hand:",
    NoticeKind.APPROVED: ":ballot_box_with_check:",
    NoticeKind.APPROVAL_REJECTED: ":no_entry_sign:",
    NoticeKind.APPROVAL_EXPIRED: ":hourglass:",
    NoticeKind.OUTSIDE_PAST_BLOCK: ":warning:",
}


def _rollback_after(deployment: Deployment, state: StageState) -> str:
    """What became of a failed deployment: rolled back, rolling back, or waiting for approval."""
    pending = state.pending_rollback
    if pending is not None and pending.failed_deployment_id == deployment.id:
        return "; rollback waits for approval"
    failed_at = deployment.finished_at or deployment.created_at
    current = [state.current] if state.current else []
    for candidate in (*current, *state.queue, *state.good):
        if candidate.kind is DeploymentKind.ROLLBACK and candidate.created_at >= failed_at:
            by = (
                ""
                if candidate.triggered_by == "deploybot"
                else f" (by {person(candidate.triggered_by)})"
            )
            if candidate.state is DeploymentState.QUEUED:
                return f"; rollback to `{sha7(candidate.change.sha)}` queued{by}"
            if candidate.state is DeploymentState.RUNNING:
                return f"; rolling back to `{sha7(candidate.change.sha)}`{by}"
            return f"; rolled back to `{sha7(candidate.change.sha)}`{by}"
    return ""


def stage_progress(
    deployment: Deployment | None, board: StageBoard, now: datetime, org: str | None
) -> str:
    """One stage of the change: queued, waiting, deploying, baking, done, failed, ..."""
    if deployment is None:
        return ":white_circle: not yet"
    kind = "" if deployment.kind is DeploymentKind.ROLLFORWARD else f" ({deployment.kind})"
    state = deployment.state
    if state is DeploymentState.QUEUED:
        held = [b for b in board.blockers if b.holds(deployment)]
        approval = awaits_approval(deployment, board)
        if held:
            waits = "; ".join(blocker_line(b, now, board.zone) for b in held)
            return f":double_vertical_bar: waiting on {waits}{'; ' + approval if approval else ''}"
        if approval:
            return f":raised_hand: {approval}"
        return f":inbox_tray: queued{kind}"
    if state is DeploymentState.RUNNING:
        since = deployment.started_at or deployment.created_at
        return f":arrows_counterclockwise: deploying{kind} since {when(since, now, board.zone)}{workflow_link(org, deployment.change)}"
    if state is DeploymentState.BAKING:
        until = deployment.bake_until or now
        left = span(until - now) if until > now else "0s"
        return f":hourglass_flowing_sand: baking until {local(until, board.zone)} ({left} left)"
    finished = deployment.finished_at or deployment.created_at
    at = when(finished, now, board.zone)
    if state in (DeploymentState.DONE, DeploymentState.SUCCEEDED):
        return f":white_check_mark: done{kind} {at}"
    if state is DeploymentState.FAILED:
        why = f": {outcome(deployment.outcome)}" if deployment.outcome else ""
        return f":x: failed{why}{_rollback_after(deployment, board.state)}"
    if state is DeploymentState.SUPERSEDED:
        return f":fast_forward: superseded {at}"
    return f":heavy_minus_sign: cancelled{': ' + outcome(deployment.outcome) if deployment.outcome else ''}"


def change_thread(
    project: ProjectConfig,
    change: Change,
    deployments: Mapping[str, Deployment],
    states: Mapping[str, StageState],
    now: datetime,
    org: str | None = None,
    ships: Mapping[str, Ships] | None = None,
) -> Message:
    head = f"*{escape(project.name)}* {version(change)}"
    if change.author:
        head += f" by {escape(change.author)}"
    head += workflow_link(org, change, "CI workflow")
    blocks: list[Block] = [section(head, block_id=f"change:{sha7(change.sha)}")]
    lines = []
    for stage in project.stages:
        board = stage_board(project, stage, states.get(stage.name, StageState()), now)
        lines.append(
            f"*{escape(stage.name)}*  {stage_progress(deployments.get(stage.name), board, now, org)}"
        )
    blocks.append(section("\n".join(lines), block_id=f"change:{sha7(change.sha)}:stages"))
    shipping = []  # what ships where the change is on its way (issue 16)
    for stage in project.stages:
        if ships and stage.name in ships:
            first, *rest = ships_lines(ships[stage.name])
            shipping += [f"*{escape(stage.name)}*  {first}", *rest]
    if shipping:
        blocks += sections(shipping, block_id=f"change:{sha7(change.sha)}:ships")
    blocks.append(context(f"Updated {when(now, now, project.timezone)}"))
    fallback = f"{escape(project.name)} `{sha7(change.sha)}` {title(change)}"
    return message(fallback, blocks)


def notice_line(notice: Notice, zone: str, now: datetime, org: str | None = None) -> str:
    """The notice as one readable mrkdwn line (plus its blockers, one per line)."""
    icon = NOTICE_ICON.get(notice.kind, ":information_source:")
    where = f"*{escape(notice.stage)}*"
    line = f"{icon} {where}: {escape(notice.text)}"
    if notice.actor not in ("deploybot", "") and notice.kind in (
        NoticeKind.BLOCKER_ADDED,
        NoticeKind.BLOCKER_LIFTED,
        NoticeKind.ROLLBACK_DISMISSED,
        NoticeKind.EMERGENCY_QUEUED,
        NoticeKind.REFUSED,
        NoticeKind.APPROVED,
        NoticeKind.APPROVAL_REJECTED,
    ):
        line += f" ({person(notice.actor)})"
    if notice.kind in (NoticeKind.STARTED, NoticeKind.FAILED) and notice.deployment is not None:
        line += workflow_link(org, notice.deployment.change)  # where Semaphore shows the why
    extra = [
        f"    {blocker_line(b, now, zone)}"
        for b in notice.blockers
        if notice.kind is NoticeKind.WAITING
    ]
    return "\n".join([line, *extra])


def notice_reply(notice: Notice, zone: str, now: datetime, org: str | None = None) -> Message:
    return notices_reply([(notice, zone)], now, org)


def notices_reply(
    notices: Sequence[tuple[Notice, str]], now: datetime, org: str | None = None
) -> Message:
    """Notices that waited together, as one reply (issue 15 item 14): a line each, in order,
    broadcast when any of them is. `notices`: each with its stage's timezone."""
    lines = [notice_line(notice, zone, now, org) for notice, zone in notices]
    kinds = [notice.kind for notice, _ in notices]
    if len(lines) <= MAX_SECTIONS:
        blocks = [
            section(
                line, block_id=f"notice:{kind}" if kinds.count(kind) == 1 else f"notice:{kind}:{n}"
            )
            for n, (line, kind) in enumerate(zip(lines, kinds, strict=True))
        ]
    else:  # a long backlog: lines packed into sections (Slack's limits per block and message)
        blocks = sections(lines, block_id="notices")
    fallback = "\n".join(line.splitlines()[0] for line in lines)
    reply = message(fallback[:FALLBACK_LIMIT], blocks)
    reply["reply_broadcast"] = any(kind in BROADCAST for kind in kinds)
    return reply


def superseded_reply(stage: str, changes: Sequence[Change]) -> Message:
    """Changes superseded before their own message was posted, as one line in the thread of
    the change that superseded them: each one's final state shown, no message each."""
    shas = [f"`{sha7(change.sha)}`" for change in changes]
    count = f"{len(changes)} changes" if len(changes) > 1 else "1 change"
    head = f"{NOTICE_ICON[NoticeKind.SUPERSEDED]} *{escape(stage)}*: {count} superseded while waiting, not deployed:"
    rows = [", ".join(shas[n : n + SHAS_PER_ROW]) for n in range(0, len(shas), SHAS_PER_ROW)]
    text = " ".join([head, *rows])
    return message(text[:FALLBACK_LIMIT], sections([head, *rows], block_id="superseded"))
