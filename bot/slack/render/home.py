"""The App Home tab: the live board of every project.

    home_view(config, states, now, org=None, figures=None) -> {"type": "home", "blocks": [...]}
    shown(config) -> the projects the view has room for

`states` maps project name -> stage name -> `StageState`. Per project: a header, one section
per stage (version and since when, running / baking / queued, blockers, next window or
freeze; the last stage's section ends with the project's delivery figures of the last 30
days, given in `figures`) and ONE actions block with the project's Unblock buttons (`blocker_unblock:<n>`),
then a divider. That is 3 + stages blocks per project, so 10 projects of 5 stages take 82 of
the 100 blocks a home view may have. Block ids: `home:<project>:<stage>`,
`home:<project>:unblock`. Projects are drawn while they fit; the last block then says how many
were left out (only those drawn are worked out, so 1,000 projects cost what 14 do).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core.delivery import Delivery
from bot.core.model import StageState
from bot.slack.escape import escape
from bot.slack.render.alerts import unblock_buttons
from bot.slack.render.blocks import (
    ACTIONS_ELEMENTS,
    VIEW_BLOCKS,
    Block,
    actions,
    context,
    divider,
    header,
    home,
    section,
)
from bot.slack.render.board import stage_lines
from bot.slack.render.delivery import board_line
from bot.slack.render.status import boards, wave_lead
from bot.slack.render.text import local


def home_view(
    config: DeploybotConfig,
    states: Mapping[str, Mapping[str, StageState]],
    now: datetime,
    org: str | None = None,
    figures: Mapping[str, Delivery] | None = None,
) -> dict[str, Any]:
    figures = figures or {}
    blocks: list[Block] = [
        header("deploybot: live board"),
        context(f"Updated {local(now, 'UTC')} · `/deploy help` for commands"),
    ]
    room = VIEW_BLOCKS - 1  # the last block may have to say how many projects were left out
    for index, project in enumerate(config.projects):
        drawn = _project_blocks(project, states.get(project.name, {}), now, org, figures)
        if len(blocks) + len(drawn) > room:
            left = len(config.projects) - index
            blocks.append(context(f"_{left} more projects not shown (Slack's limit): "
                                  "`/deploy status PROJECT`_"))  # fmt: skip
            break
        blocks += drawn
    return home(blocks)


def _project_blocks(
    project: ProjectConfig,
    states: Mapping[str, StageState],
    now: datetime,
    org: str | None,
    figures: Mapping[str, Delivery],
) -> list[Block]:
    stage_boards = boards(project, states, now)
    blocks = [header(project.name, block_id=f"home:{project.name}")]
    buttons: list[Block] = []
    for board in stage_boards:
        lead = wave_lead(project, board, stage_boards)
        lines = [*([lead] if lead else []), *stage_lines(board, now, org)]
        if board is stage_boards[-1] and project.name in figures:
            lines.append(board_line(figures[project.name]))
        blocks.append(section("\n".join(lines), block_id=f"home:{project.name}:{board.stage}"))
        buttons += unblock_buttons(project.name, board.stage, board.liftable, start=len(buttons))
    if buttons:
        fits = buttons if len(buttons) <= ACTIONS_ELEMENTS else buttons[: ACTIONS_ELEMENTS - 1]
        blocks.append(actions(fits, block_id=f"home:{project.name}:unblock"))
        if len(fits) < len(buttons):
            more = len(buttons) - len(fits)
            blocks.append(context(f"{more} more blockers: `/deploy status {escape(project.name)}`"))
    blocks.append(divider())
    return blocks


def shown(config: DeploybotConfig) -> list[str]:
    """The projects the App Home has room for (at least a header, a section per stage and a
    divider each), in order: only theirs need figures."""
    room, names = VIEW_BLOCKS - 2, []
    for project in config.projects:
        room -= 2 + len(project.stages)
        if room < 0:
            break
        names.append(project.name)
    return names
