"""The confirmation modal for emergency deployments and manual rollbacks.

    confirm_modal(kind, project, stage, sha, blockers, zone, now, reason="", current=None)

    read_modal(view) -> Confirmed | None    what a submission asks for (None: not our view)

`kind` is `"emergency"` or `"rollback"`. The view's `callback_id` is `confirm_emergency` or
`confirm_rollback`; `private_metadata` is compact JSON `{"project", "stage", "sha"?, "live"?,
"past"?}`: the commit (an emergency's must be there; a rollback without one goes to the last
good deployment), the deployment live on the stage when the modal opened, and (a rollback)
the ids of the manual blockers it said it would go past, comma-separated. The rules check
those against the stage on submission (DESIGN.md rule 10). The reason is a required input:
block_id `reason`, action_id `reason_input`; read it from
`view["state"]["values"]["reason"]["reason_input"]["value"]`. The modal says which blockers
it will go past and that nothing cascades to later stages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.core.events import Shown
from bot.core.model import Blocker, BlockerKind, Deployment
from bot.slack.escape import escape
from bot.slack.render.blocks import (
    Block,
    context,
    decode_value,
    encode_value,
    modal,
    section,
    text_input,
)
from bot.slack.render.text import blocker_line, deployment_label, sha7

CONFIRM_EMERGENCY = "confirm_emergency"
CONFIRM_ROLLBACK = "confirm_rollback"
CONFIRM_RESET = "confirm_reset"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_input"

ConfirmKind = Literal["emergency", "rollback", "reset"]


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
    shown: Shown | None = None,
    note: str = "",
    each: Sequence[tuple[str, Deployment | None]] = (),
) -> dict[str, Any]:
    """`each`: for a wave, every target and what runs on it (one line each)."""
    name = f"{escape(project)}/{escape(stage)}"
    if kind == "reset":
        return _reset_modal(project, stage, current, shown, note)
    if kind == "emergency":
        what = f":ambulance: *Emergency deployment* of `{sha7(sha or '')}` to *{name}*, now."
        title, submit, callback = "Emergency deploy", "Deploy now", CONFIRM_EMERGENCY
    else:
        resolved = shown.to_sha if shown and shown.to_sha else None
        target = f"`{sha7(sha)}`" if sha else "the last good deployment"
        if sha is None and resolved:
            target += f", `{sha7(resolved)}`"
        what = f":rewind: *Roll back* *{name}* to {target}."
        title, submit, callback = "Roll back", "Roll back", CONFIRM_ROLLBACK
    blocks: list[Block] = [section(what)]
    if current is not None:
        blocks.append(section(f"Now on {name}: {deployment_label(current)}"))
    if each:
        lines = [
            f"• {escape(target)}: {deployment_label(now) if now else 'nothing yet'}"
            for target, now in each
        ]
        blocks.append(section(f"*{len(each)} targets, each on its own:*\n" + "\n".join(lines)))
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
    past = None if shown is None or shown.past is None else ",".join(shown.past)
    metadata = encode_value(
        {
            "project": project,
            "stage": stage,
            "sha": shown.to_sha if shown and shown.to_sha else sha,
            "live": shown.deployment_id if shown else None,
            "past": past,
        }
    )
    return modal(title, callback, blocks, submit=submit, private_metadata=metadata)


def _reset_modal(
    project: str, stage: str, current: Deployment | None, shown: Shown | None, note: str
) -> dict[str, Any]:
    """`/deploy reset`: what deploybot believes runs, and what Semaphore says of it."""
    name = f"{escape(project)}/{escape(stage)}"
    running = deployment_label(current) if current is not None else "nothing"
    blocks: list[Block] = [
        section(
            f":warning: *Reset {name}*: forget {running}, which deploybot believes is running."
        ),
        section(f"*Semaphore:* {escape(note)}." if note else "*Semaphore:* not asked."),
        section(
            "deploybot stops nothing in Semaphore: a pipeline that still runs runs on. The "
            f"deployment ends as cancelled and {escape(stage)}'s queue goes on with the next change."
        ),
        text_input(
            "Why?",
            REASON_BLOCK,
            REASON_ACTION,
            placeholder="What you checked in Semaphore, and why deploybot is wrong",
        ),
        context("Audited: your name, the reason and the time are recorded."),
    ]
    metadata = encode_value(
        {"project": project, "stage": stage, "live": shown.deployment_id if shown else None}
    )
    return modal(
        "Reset stage", CONFIRM_RESET, blocks, submit="Forget it", private_metadata=metadata
    )


_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_ID_LIMIT = 200


@dataclass(frozen=True)
class Confirmed:
    """What a submitted confirmation modal asks for, and what it showed."""

    kind: ConfirmKind
    project: str
    stage: str
    sha: str | None
    shown: Shown


def read_modal(callback_id: str, private_metadata: str) -> Confirmed | None:
    """The request of a submitted confirmation modal; None for a view deploybot never made
    (an unknown callback, malformed metadata, an emergency without its commit)."""
    kind: ConfirmKind
    if callback_id == CONFIRM_EMERGENCY:
        kind = "emergency"
    elif callback_id == CONFIRM_ROLLBACK:
        kind = "rollback"
    elif callback_id == CONFIRM_RESET:
        kind = "reset"
    else:
        return None
    meta = decode_value(private_metadata)
    if meta is None or any(len(v) > 20 * _ID_LIMIT for v in meta.values()):
        return None
    project, stage, sha = meta.get("project", ""), meta.get("stage", ""), meta.get("sha")
    if not project or not stage or len(project) > _ID_LIMIT or len(stage) > _ID_LIMIT:
        return None
    if (sha is None and kind == "emergency") or (sha is not None and not _SHA.match(sha)):
        return None
    past = meta.get("past")
    if kind == "rollback" and (not meta.get("live") or past is None):
        return None  # a rollback goes past blockers: only as far as its modal showed
    if kind == "reset" and not meta.get("live"):
        return None  # a reset forgets only the deployment its modal showed
    shown = Shown(
        deployment_id=meta.get("live", ""),
        past=None if past is None else tuple(p for p in past.split(",") if p),
    )
    return Confirmed(kind, project, stage, sha, shown)
