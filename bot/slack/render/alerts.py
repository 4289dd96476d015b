"""Messages with buttons, and their "acted" forms once someone clicked.

    rollback_alert(notice, zone, now, acted=None)      Approve / Dismiss a rollback
    blocker_message(project, stage, blocker, zone, now, acted=None)   with an Unblock button
    unblock_buttons(project, stage, blockers)          the buttons status and App Home show

    read_button(action_id, value)                      what a click asks for, or None
    without_buttons(blocks, line)                      a clicked message: acted, or outdated

Action ids: `rollback_approve`, `rollback_dismiss`, `blocker_unblock` (on a blocker message)
and `blocker_unblock:<n>` (several in one actions block: Slack wants them unique there;
match with `UNBLOCK_ACTION`). Button values are compact JSON (`encode_value`) naming what the
button acts on, which the rules check against the stage when it is clicked (DESIGN.md rule
10; a value is never trusted for who may click):
rollback buttons `{"project", "stage", "deployment", "to"?, "alarm"?, "since"?}`
(`deployment` is the failed one, or for an alarm after the bake the deployed one, with the
alarm's blocker id and when it began to block; `to` the sha a rollback restores);
Unblock buttons `{"project", "stage", "blocker", "since"}` (when the blocker was made: an
alarm's blocker has the same id each time it fires). Block ids: `rollback:<deployment id>`,
`rollback:<deployment id>:actions`, `blocker:<project>:<stage>:<blocker id>`.
With `acted`, the buttons give way to a line saying who did what, and when.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.core.decision import Notice, NoticeKind
from bot.core.events import Shown
from bot.core.model import Blocker, BlockerKind
from bot.core.ships import Ships
from bot.slack.escape import escape
from bot.slack.render.approvals import APPROVAL_APPROVE, APPROVAL_REJECT
from bot.slack.render.blocks import (
    Block,
    actions,
    button,
    context,
    decode_value,
    encode_value,
    message,
    section,
    sections,
)
from bot.slack.render.ships import ships_lines
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


def unblock_value(project: str, stage: str, blocker: Blocker) -> str:
    return encode_value(
        {
            "project": project,
            "stage": stage,
            "blocker": blocker.id,
            "since": blocker.created_at.isoformat(),
        }
    )


def unblock_buttons(
    project: str, stage: str, blockers: Sequence[Blocker], start: int = 0
) -> list[Block]:
    """One button per blocker, action ids `blocker_unblock:<start>`, `:<start + 1>`, ..."""
    return [
        button(
            f"Unblock {stage}: {_short(b)}",
            f"{BLOCKER_UNBLOCK}:{index}",
            unblock_value(project, stage, b),
        )
        for index, b in enumerate(blockers, start=start)
    ]


def _short(blocker: Blocker) -> str:
    """An alarm by its name (`HighErrorRate firing`), the summary left to the message."""
    if blocker.kind is BlockerKind.ALARM:
        return blocker.reason.split(": ", 1)[0]
    return blocker.reason


def rollback_alert(
    notice: Notice,
    zone: str,
    now: datetime,
    acted: Acted | None = None,
    reverts: Ships | None = None,
) -> Message:
    """For `rollback_needs_approval` and `alarm_after_bake` notices; `reverts`: the changes
    the rollback would take away (issue 16 item 2)."""
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
    if reverts is not None:
        blocks += sections(ships_lines(reverts), block_id=f"{block_id}:reverts")
    if acted is not None:
        blocks.append(_acted_line(acted, zone))
    else:
        alarm = notice.blockers[0] if notice.kind is NoticeKind.ALARM_AFTER_BAKE else None
        value = encode_value(
            {
                "project": notice.project,
                "stage": notice.stage,
                "deployment": failed.id if failed else "",
                "to": target.change.sha if target else None,
                "alarm": alarm.id if alarm else None,
                "since": alarm.created_at.isoformat() if alarm else None,
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
    if acted is not None:  # lifted: the headline says it is over, the button is gone
        text = f"*{name}* was blocked\n{blocker_line(blocker, now, zone)}"
        return message(
            f"{name} was blocked: {escape(blocker.reason)}",
            [section(text, block_id=block_id), _acted_line(acted, zone)],
        )
    unblock = button(
        "Unblock", BLOCKER_UNBLOCK, unblock_value(project, stage, blocker), style="primary"
    )
    return message(
        f"{name} is blocked: {escape(blocker.reason)}",
        [section(text, block_id=block_id, accessory=unblock)],
    )


#: The most alarms an alarm board lists one by one (each with its Unblock button).
BOARD_ALARMS = 20


def alarm_board(
    project: str, stage: str, firing: Sequence[Blocker], zone: str, now: datetime
) -> Message:
    """The one message per stage that shows the alarms firing there, edited in place as alerts
    fire and resolve (bot.slack.alarm_boards)."""
    name = f"{escape(project)}/{escape(stage)}"
    if not firing:
        text = f":large_green_circle: *{name}*: no alarm is firing (updated {local(now, zone)})"
        return message(f"{name}: no alarm is firing", [section(text, block_id=f"alarms:{stage}")])
    count = f"{len(firing)} alarm{'s' if len(firing) != 1 else ''}"
    blocks: list[Block] = [section(f":rotating_light: *{name}* is blocked by {count} firing")]
    for index, blocker in enumerate(firing[:BOARD_ALARMS]):
        unblock = button(
            "Unblock", f"{BLOCKER_UNBLOCK}:{index}", unblock_value(project, stage, blocker)
        )
        blocks.append(section(blocker_line(blocker, now, zone), accessory=unblock))
    if len(firing) > BOARD_ALARMS:
        more = len(firing) - BOARD_ALARMS
        blocks.append(context(f"and {more} more: `/deploy status {escape(stage)}` lists them all"))
    blocks.append(context(f"Updated {local(now, zone)}; this message changes as alerts do"))
    reasons = "; ".join(escape(b.reason) for b in firing[:3])
    return message(f"{name} is blocked by {count}: {reasons}", blocks)


ClickKind = Literal["approve", "dismiss", "unblock", "approval_approve", "approval_reject"]
#: The longest id or sha a button value may carry (deploybot's own are far shorter).
_ID_LIMIT = 200


@dataclass(frozen=True)
class Clicked:
    """What a click asks for: the action, where, and what the button was made for."""

    kind: ClickKind
    project: str
    stage: str
    shown: Shown


def read_button(action_id: str, value: str) -> Clicked | None:
    """The request of a click on one of deploybot's buttons; None for a value deploybot never
    made (malformed, or missing what the button acts on)."""
    fields = decode_value(value)
    if fields is None or any(len(v) > _ID_LIMIT for v in fields.values()):
        return None
    project, stage = fields.get("project", ""), fields.get("stage", "")
    since = _instant(fields.get("since"))
    if not project or not stage or (fields.get("since") is not None and since is None):
        return None
    if UNBLOCK_ACTION.match(action_id):
        blocker = fields.get("blocker", "")
        shown = Shown(blocker_id=blocker, blocker_since=since)
        return Clicked("unblock", project, stage, shown) if blocker else None
    kind: ClickKind
    if action_id in (APPROVAL_APPROVE, APPROVAL_REJECT):
        approval: ClickKind = (
            "approval_approve" if action_id == APPROVAL_APPROVE else "approval_reject"
        )
        deployment = fields.get("deployment", "")
        return (
            Clicked(approval, project, stage, Shown(deployment_id=deployment))
            if deployment
            else None
        )
    if action_id == ROLLBACK_APPROVE:
        kind = "approve"
    elif action_id == ROLLBACK_DISMISS:
        kind = "dismiss"
    else:
        return None
    deployment, alarm = fields.get("deployment", ""), fields.get("alarm", "")
    if not deployment or (alarm and since is None):
        return None
    shown = Shown(
        deployment_id=deployment, to_sha=fields.get("to"), blocker_id=alarm, blocker_since=since
    )
    return Clicked(kind, project, stage, shown)


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def without_buttons(blocks: Sequence[Block], line: Block) -> list[Block]:
    """A clicked message's blocks without its buttons (actions blocks, button accessories),
    and `line` (who did what, or why it is outdated) at the end."""
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            continue
        if (block.get("accessory") or {}).get("type") == "button":
            block = {key: value for key, value in block.items() if key != "accessory"}
        kept.append(block)
    return [*kept, line]


def acted_line(by: str, did: str, at: datetime, zone: str) -> Block:
    return _acted_line(Acted(by, did, at), zone)


def outdated_line(why: str, by: str, at: datetime, zone: str) -> Block:
    """`why` is plain text (escaped here)."""
    return context(
        f":warning: Outdated: {escape(why)} ({person(by)} clicked at {local(at, zone)}; "
        "nothing was done)"
    )
