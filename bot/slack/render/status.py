"""Status, queue and history replies to `/deploy`.

    project_status(project, states, now, org=None, stage=None)    one project, stage by stage
    overview(config, states, now)                                 one line per stage, all projects
    queue_message(project, stage, state, now)                     what waits, in order
    history_message(project, stage, deployments, now, limit=20)   the last deployments

`states` maps stage name to `StageState` (for `overview`, project name to that). Stored,
active blockers get Unblock buttons (`blocker_unblock:<n>`, see `bot.slack.render.alerts`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core.model import Deployment, DeploymentState, StageState
from bot.slack.escape import escape
from bot.slack.render.alerts import unblock_buttons
from bot.slack.render.blocks import (
    MESSAGE_BLOCKS,
    Block,
    actions,
    context,
    header,
    message,
    section,
    sections,
)
from bot.slack.render.board import (
    StageBoard,
    activity_line,
    stage_board,
    stage_lines,
    wave_line,
)
from bot.slack.render.text import deployment_label, outcome, sha7, started_by, when

Message = dict[str, Any]

STATE_ICON = {
    DeploymentState.QUEUED: ":inbox_tray:",
    DeploymentState.RUNNING: ":arrows_counterclockwise:",
    DeploymentState.BAKING: ":hourglass_flowing_sand:",
    DeploymentState.SUCCEEDED: ":white_check_mark:",
    DeploymentState.DONE: ":white_check_mark:",
    DeploymentState.FAILED: ":x:",
    DeploymentState.SUPERSEDED: ":fast_forward:",
    DeploymentState.CANCELLED: ":heavy_minus_sign:",
}


def boards(
    project: ProjectConfig, states: Mapping[str, StageState], now: datetime
) -> list[StageBoard]:
    return [stage_board(project, s, states.get(s.name, StageState()), now) for s in project.stages]


def stage_blocks(
    board: StageBoard, now: datetime, org: str | None, prefix: str, lead: str | None = None
) -> list[Block]:
    """A section for the stage (after `lead`, a wave's line before its first target) and,
    when it has liftable blockers, their Unblock buttons."""
    block_id = f"{prefix}:{board.project}:{board.stage}"
    lines = [*([lead] if lead else []), *stage_lines(board, now, org)]
    blocks = [section("\n".join(lines), block_id=block_id)]
    if board.liftable:
        buttons = unblock_buttons(board.project, board.stage, board.liftable)
        blocks.append(actions(buttons, block_id=f"{block_id}:unblock"))
    return blocks


def project_status(
    project: ProjectConfig,
    states: Mapping[str, StageState],
    now: datetime,
    org: str | None = None,
    stage: str | None = None,
) -> Message:
    wanted: set[str] = set()
    if stage is not None:  # a stage, or a wave: its targets
        wanted = {s.name for s in project.wave(stage)} or {stage}
    shown = [b for b in boards(project, states, now) if not wanted or b.stage in wanted]
    blocks: list[Block] = [header(f"{project.name}: status")]
    for board in shown:
        blocks += stage_blocks(board, now, org, "status", wave_lead(project, board, shown))
    blocks.append(context(f"As of {when(now, now, project.timezone)}"))
    blocked = sum(1 for b in shown if b.blockers)
    return message(f"{escape(project.name)}: {len(shown)} stages, {blocked} blocked", blocks)


def wave_lead(project: ProjectConfig, board: StageBoard, shown: Sequence[StageBoard]) -> str | None:
    """The wave's line, for the first of its targets shown; None for other stages."""
    wave = project.stage(board.stage).wave
    if wave is None:
        return None
    targets = [b for b in shown if project.stage(b.stage).wave == wave]
    return wave_line(wave, targets) if targets[0] is board else None


def _summaries(project: ProjectConfig, shown: Sequence[StageBoard], now: datetime) -> list[str]:
    """A line per stage, and one per wave (its targets together)."""
    lines = []
    for board in shown:
        wave = project.stage(board.stage).wave
        if wave is None:
            lines.append(_summary(board, now))
        elif (lead := wave_lead(project, board, shown)) is not None:
            lines.append(lead)
    return lines


def _summary(board: StageBoard, now: datetime) -> str:
    deployed = board.deployed
    parts = [f"*{escape(board.stage)}* " + (f"`{sha7(deployed.change.sha)}`" if deployed else "—")]
    activity = activity_line(board, now, None)
    if activity:
        parts.append(activity.split(" since ")[0])
    if board.state.queue:
        parts.append(f"{len(board.state.queue)} queued")
    if board.blockers:
        parts.append(f":no_entry: {len(board.blockers)} blocker(s)")
    return " · ".join(parts)


def overview(
    config: DeploybotConfig, states: Mapping[str, Mapping[str, StageState]], now: datetime
) -> Message:
    """Every project in a few lines (`/deploy status` with several projects), as many as a
    message holds (`overview_room`); then how many more there are."""
    blocks: list[Block] = [header("deploybot: all projects")]
    room = overview_room(config)
    for project in room:
        lines = _summaries(project, boards(project, states.get(project.name, {}), now), now)
        blocks.append(
            section(
                f"*{escape(project.name)}*\n" + "\n".join(lines),
                block_id=f"overview:{project.name}",
            )
        )
    more = len(config.projects) - len(room)
    left = f"{more} more projects not shown (Slack's limit). " if more else ""
    blocks.append(context(f"{left}`/deploy status PROJECT` shows one project in full."))
    return message(f"deploybot: {len(config.projects)} projects", blocks)


def overview_room(config: DeploybotConfig) -> tuple[ProjectConfig, ...]:
    """The projects an overview has room for: a section each, between a header and a note
    (only their states need reading)."""
    return config.projects[: MESSAGE_BLOCKS - 2]


def queue_message(project: ProjectConfig, stage: str, state: StageState, now: datetime) -> Message:
    board = stage_board(project, project.stage(stage), state, now)
    name = f"{escape(project.name)}/{escape(stage)}"
    if not state.queue:
        return message(f"Nothing queued on {name}", [section(f"Nothing queued on *{name}*.")])
    lines = [
        f"{index}. {deployment_label(d)} · {started_by(d.triggered_by)} · queued {when(d.created_at, now, board.zone)}"
        for index, d in enumerate(state.queue, start=1)
    ]
    held = [b for b in board.blockers if b.holds(state.queue[0])]
    if held:
        lines.append("Held by: " + ", ".join(escape(b.reason) for b in held))
    return message(
        f"{len(state.queue)} queued on {name}", [section(f"*Queue of {name}*\n" + "\n".join(lines))]
    )


def history_message(
    project: ProjectConfig,
    stage: str,
    deployments: Sequence[Deployment],
    now: datetime,
    limit: int = 20,
) -> Message:
    """`deployments` newest first, as the store keeps them."""
    zone = project.stage(stage).timezone or project.timezone
    name = f"{escape(project.name)}/{escape(stage)}"
    if not deployments:
        return message(
            f"No deployments on {name} yet", [section(f"No deployments on *{name}* yet.")]
        )
    rows = []
    for d in deployments[:limit]:
        moment = d.finished_at or d.started_at or d.created_at
        ended = d.state in (DeploymentState.FAILED, DeploymentState.CANCELLED)
        why = f": {outcome(d.outcome)}" if d.outcome and ended else ""
        rows.append(
            f"{STATE_ICON.get(d.state, '')} {d.kind} `{sha7(d.change.sha)}` {d.state}{why}"
            f" · {when(moment, now, zone)} · {started_by(d.triggered_by)}"
        )
    more = len(deployments) - limit
    blocks = sections([f"*History of {name}*", *rows], block_id="history")
    if more > 0:
        blocks.append(context(f"{more} older not shown"))
    return message(f"Last {min(limit, len(deployments))} deployments on {name}", blocks)
