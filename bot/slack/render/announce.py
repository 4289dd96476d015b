"""Channel announcements: change freezes (ahead, started, ended) and a window opening.

    freeze_announcement(project, stages, freeze, label, zone, now)
        `label` as `Calendar.announcements()` gives it: `in 1d`, `started` or `ended`.
    window_opened(project, stage, deploying, waiting, zone, now)
        the deploy window opened and the queue drains: `deploying` goes first.

Block ids: `freeze:<id>:<label>`, `window:<project>:<stage>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.calendar import Freeze
from bot.core.model import Deployment
from bot.slack.escape import escape
from bot.slack.render.blocks import message, section
from bot.slack.render.text import deployment_label, local, when

Message = dict[str, Any]


def freeze_announcement(
    project: str,
    stages: Sequence[str],
    freeze: Freeze,
    label: str,
    zone: str,
    now: datetime,
    *,
    late_since: datetime | None = None,
) -> Message:
    """`late_since`: the announcement was due then, and missed (the bot was down)."""
    where = f"*{escape(project)}*" + (f" ({escape(', '.join(stages))})" if stages else "")
    reason = escape(freeze.reason)
    span = f"{local(freeze.start, zone)} until {local(freeze.end, zone)}"
    if label == "started":
        text = f":snowflake: Change freeze *started* on {where}: {reason}. Deployments wait until {when(freeze.end, now, zone)}."
    elif label == "ended":
        text = f":sunny: Change freeze *ended* on {where}: {reason}. Queued deployments go ahead."
    else:
        ahead = label.removeprefix("in ").strip() or "soon"
        text = f":snowflake: Change freeze on {where} starts in *{escape(ahead)}*: {span}. {reason}"
    if late_since is not None:
        text = f"{text} _(Late: this was due {local(late_since, zone)}, while deploybot was down.)_"
    return message(text, [section(text, block_id=f"freeze:{freeze.id}:{label}")])


def window_opened(
    project: str, stage: str, deploying: Deployment, waiting: int, zone: str, now: datetime
) -> Message:
    name = f"{escape(project)}/{escape(stage)}"
    more = f" ({waiting} more waiting)" if waiting else ""
    text = f":large_green_circle: Deploy window opened on *{name}* at {local(now, zone)}: deploying {deployment_label(deploying)}{more}."
    return message(text, [section(text, block_id=f"window:{project}:{stage}")])


def with_drift(status: Message, texts: list[str]) -> Message:
    """A status message with the configuration's drift (bot.service.drift) added at its end."""
    lines = "\n".join(f":warning: {escape(text)}." for text in texts)
    blocks = [*status.get("blocks", []), section(lines, block_id="config-drift")]
    return message(str(status.get("text", "")), blocks)


def drift_message(text: str) -> Message:
    """Stages that hold work the configuration no longer names (bot.service.drift)."""
    shown = f":warning: {escape(text)}."
    return message(shown, [section(shown, block_id="config-drift")])
