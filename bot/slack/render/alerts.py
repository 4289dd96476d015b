"""Messages with buttons, and their "acted" forms once someone clicked.

    rollback_alert(notice, zone, now, acted=None)      Approve / Dismiss a rollback
    blocker_message(project, stage, blocker, zone, now, acted=None)   with an Unblock button
    unblock_buttons(project, stage, blockers)          the buttons status and App Home show

Action ids: `rollback_approve`, `rollback_dismiss`, `blocker_unblock` (on a blocker message)
and `blocker_unblock:<n>` (several in one actions block: Slack wants them unique there;
match with `UNBLOCK_ACTION`). Button values are compact JSON (`encode_value`):
rollback buttons `{"project", "stage", "deployment", "to"?}` (`deployment` is the failed
one, or for an alarm after the bake the deployed one; `to` the sha a rollback restores);
Unblock buttons `{"project", "stage", "blocker"}`. Block ids: `rollback:<deployment id>`,
`rollback:<deployment id>:actions`, `blocker:<project>:<stage>:<blocker id>`.
With `acted`, the buttons give way to a line saying who did what, and when.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.decision import Notice
from bot.core.model import Blocker
from bot.slack.escape import escape
from bot.slack.render.blocks import Block, actions, button, context, encode_value, message, section
from bot.slack.render.text import blocker_line, deployment_label, local, person

Message = dict[str, Any]

ROLLBACK_APPROVE = "rollback_approve"
ROLLBACK_DISMISS = "rollback_dismiss"
BLOCKER_UNBLOCK = "blocker_unblock"
#: Matches every Unblock button's action id.
UNBLOCK_ACTION = re.compile(r"^blocker_unblock(:\d+)?$")


@dataclass(frozen=True)
class Acted:
    """Who clicked (a Slack user id), what it did (`approved the rollback`), and when."""

    by: str
    did: str
    at: datetime


def _acted_line(acted: Acted, zone: str) -> Block:
    return context(
        f":ballot_box_with_check: {person(acted.by)} {escape(acted.did)} at {local(acted.at, zone)}"
    )


def unblock_value(project: str, stage: str, blocker_id: str) -> str:
    return encode_value({"project": project, "stage": stage, "blocker": blocker_id})


def unblock_buttons(
    project: str, stage: str, blockers: Sequence[Blocker], start: int = 0
) -> list[Block]:
    """One button per blocker, action ids `blocker_unblock:<start>`, `:<start + 1>`, ..."""
    return [
        button(
            f"Unblock {stage}: {b.reason}",
            f"{BLOCKER_UNBLOCK}:{index}",
            unblock_value(project, stage, b.id),
        )
        for index, b in enumerate(blockers, start=start)
    ]


def rollback_alert(notice: Notice, zone: str, now: datetime, acted: Acted | None = None) -> Message:
    """For `rollback_needs_approval` and `alarm_after_bake` notices."""
    name = f"{escape(notice.project)}/{escape(notice.stage)}"
    failed = notice.deployment
    target = notice.rollback_target
    lines = [f":rotating_light: *{name}*: {escape(notice.text)}"]
    if failed is not None:
        lines.append(f"Bad: {deployment_label(failed)}")
    lines.append(
        f"Roll back to: {deployment_label(target)}"
        if target
        else "No earlier good deployment is known."
    )
    block_id = f"rollback:{failed.id if failed else notice.stage}"
    blocks = [section("\n".join(lines), block_id=block_id)]
    if acted is not None:
        blocks.append(_acted_line(acted, zone))
    else:
        value = encode_value(
            {
                "project": notice.project,
                "stage": notice.stage,
                "deployment": failed.id if failed else "",
                "to": target.change.sha if target else None,
            }
        )
        blocks.append(
            actions(
                [
                    button("Approve rollback", ROLLBACK_APPROVE, value, style="danger"),
                    button("Dismiss", ROLLBACK_DISMISS, value),
                ],
                block_id=f"{block_id}:actions",
            )
        )
    return message(f"{name}: {escape(notice.text)}", blocks)


def blocker_message(
    project: str, stage: str, blocker: Blocker, zone: str, now: datetime, acted: Acted | None = None
) -> Message:
    name = f"{escape(project)}/{escape(stage)}"
    block_id = f"blocker:{project}:{stage}:{blocker.id}"
    text = f"*{name}* is blocked\n{blocker_line(blocker, now, zone)}"
    if acted is not None:
        return message(
            f"{name} was blocked: {escape(blocker.reason)}",
            [section(text, block_id=block_id), _acted_line(acted, zone)],
        )
    unblock = button(
        "Unblock", BLOCKER_UNBLOCK, unblock_value(project, stage, blocker.id), style="primary"
    )
    return message(
        f"{name} is blocked: {escape(blocker.reason)}",
        [section(text, block_id=block_id, accessory=unblock)],
    )
