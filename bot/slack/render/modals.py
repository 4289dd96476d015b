"""The confirmation modal for emergency deployments and manual rollbacks.

    confirm_modal(kind, project, stage, sha, blockers, zone, now, reason="", current=None)

`kind` is `"emergency"` or `"rollback"`. The view's `callback_id` is `confirm_emergency` or
`confirm_rollback`; `private_metadata` is compact JSON `{"project", "stage", "sha"?}` (no
`sha`: roll back to the last good deployment). The reason is a required input: block_id
`reason`, action_id `reason_input`; read it from
`view["state"]["values"]["reason"]["reason_input"]["value"]`. The modal says which blockers
it will go past and that nothing cascades to later stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from bot.core.model import Blocker, BlockerKind, Deployment
from bot.slack.escape import escape
from bot.slack.render.blocks import Block, context, encode_value, modal, section, text_input
from bot.slack.render.text import blocker_line, deployment_label, sha7

CONFIRM_EMERGENCY = "confirm_emergency"
CONFIRM_ROLLBACK = "confirm_rollback"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"

ConfirmKind = Literal["emergency", "rollback"]


def _bypassed(kind: ConfirmKind, blockers: Sequence[Blocker], now: datetime, zone: str) -> str:
    if kind == "rollback":
        # Window, freeze and alarm blockers never hold a rollback; manual ones are overridden.
        passed = [b for b in blockers if b.kind is BlockerKind.MANUAL]
        ignored = "Deploy windows, freezes and alarms never hold a rollback."
    else:
        passed = list(blockers)
        ignored = "It also jumps the queue (after a running deployment ends; it never stops one)."
    if not passed:
        return f"No blockers stand in the way. {ignored}"
    lines = "\n".join(f"• {blocker_line(b, now, zone)}" for b in passed)
    return f"*This goes past {len(passed)} blocker(s):*\n{lines}\n{ignored}"


def confirm_modal(
    kind: ConfirmKind,
    project: str,
    stage: str,
    sha: str | None,
    blockers: Sequence[Blocker],
    zone: str,
    now: datetime,
    reason: str = "",
    current: Deployment | None = None,
) -> dict[str, Any]:
    name = f"{escape(project)}/{escape(stage)}"
    if kind == "emergency":
        what = f":ambulance: *Emergency deployment* of `{sha7(sha or '')}` to *{name}*, now."
        title, submit, callback = "Emergency deploy", "Deploy now", CONFIRM_EMERGENCY
    else:
        target = f"`{sha7(sha)}`" if sha else "the last good deployment"
        what = f":rewind: *Roll back* *{name}* to {target}."
        title, submit, callback = "Roll back", "Roll back", CONFIRM_ROLLBACK
    blocks: list[Block] = [section(what)]
    if current is not None:
        blocks.append(section(f"Now on {name}: {deployment_label(current)}"))
    blocks += [
        section(_bypassed(kind, blockers, now, zone)),
        section(
            f"*Nothing cascades:* the change is not queued for the stages after {escape(stage)}."
        ),
        text_input(
            "Why?",
            REASON_BLOCK,
            REASON_ACTION,
            placeholder="What is broken, and why this cannot wait",
            initial=reason,
        ),
        context("Audited: your name, the reason and the time are recorded."),
    ]
    metadata = encode_value({"project": project, "stage": stage, "sha": sha})
    return modal(title, callback, blocks, submit=submit, private_metadata=metadata)
