"""The message asking for approval of a roll-forward (issue 16): what it ships, how many
approvals it has of how many, Approve and Reject (Reject asks "are you sure?" first); once
it is decided, the same message says how it ended, without buttons.

    approval_message(project, stage, deployment, required, ships, zone, now, ended=None)
    APPROVAL_APPROVE, APPROVAL_REJECT   the buttons' action ids
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.model import Deployment
from bot.core.ships import Ships
from bot.slack.escape import escape
from bot.slack.render.blocks import (
    actions,
    button,
    context,
    encode_value,
    message,
    section,
    sections,
)
from bot.slack.render.ships import ships_lines
from bot.slack.render.text import local, person, sha7, title

APPROVAL_APPROVE = "approval_approve"
APPROVAL_REJECT = "approval_reject"


def approval_message(
    project: str,
    stage: str,
    deployment: Deployment,
    required: int,
    ships: Ships | None,
    zone: str,
    now: datetime,
    ended: str | None = None,
) -> dict[str, Any]:
    """`ended`: how the wait ended (mrkdwn, already escaped), or None while it waits."""
    where = f"{escape(project)}/{escape(stage)}"
    change = deployment.change
    count = f"{len(deployment.approvals)} of {required} approvals"
    by = ", ".join(person(user) for user in deployment.approvals)
    head = f":raised_hand: *{where}*: `{sha7(change.sha)}` {title(change)}"
    head += f" waits for approval: {count}" if ended is None else f": {count}"
    if by:
        head += f" (approved by {by})"
    block_id = f"approval:{deployment.id}"
    blocks = [section(head, block_id=block_id)]
    if ships is not None:
        blocks += sections(ships_lines(ships), block_id=f"{block_id}:ships")
    if ended is not None:
        blocks.append(context(ended))
    else:
        until = deployment.approval_until
        blocks.append(context(
            "Approvers: the approve role; not the people who wrote these changes."
            + (f" Waits until {local(until, zone)}." if until is not None else "")
        ))  # fmt: skip
        value = encode_value({"project": project, "stage": stage, "deployment": deployment.id})
        sure = (
            "Reject this change?",
            f"{sha7(change.sha)} will not deploy to {stage}; a newer change still can.",
            "Reject",
        )
        blocks.append(actions([
            button("Approve", APPROVAL_APPROVE, value, style="primary"),
            button("Reject", APPROVAL_REJECT, value, style="danger", confirm=sure),
        ], block_id=f"{block_id}:actions"))  # fmt: skip
    fallback = f"{where}: {sha7(change.sha)} waits for approval ({count})"
    return message(fallback if ended is None else f"{where}: {sha7(change.sha)}: {count}", blocks)
