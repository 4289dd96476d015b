"""The reply to `/deploy freeze list [project] [stage]`, and the words for a freeze scheduled.

    freeze_list_message(config, states, now, project=None, stage=None)
    freeze_scheduled(project, stage, freeze, zone)

Lists, per stage, the freezes that have not ended: those from configuration (they cannot be
cancelled from Slack) and those scheduled with `/deploy freeze` (cancel them by id).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.config.models import DeploybotConfig
from bot.core.model import Blocker, BlockerKind, StageState
from bot.slack.escape import escape
from bot.slack.render.blocks import context, message, section, sections
from bot.slack.render.text import local, person

Message = dict[str, Any]


def freeze_scheduled(project: str, stage: str, freeze: Blocker, zone: str) -> Message:
    """`❄️ Freeze on demo/prod scheduled: Sun 20 Dec 09:00 UTC → Mon 04 Jan 09:00 UTC, Year
    end (by @alice), id …` (issue 15 item 1): nothing is blocked yet, so it says when."""
    start = local(freeze.starts_at or freeze.created_at, zone)
    end = local(freeze.until, zone) if freeze.until is not None else "until lifted"
    what = (
        f"Freeze on {escape(project)}/{escape(stage)} scheduled: {start} → {end}, "
        f"{escape(freeze.reason)}"
    )
    text = f":snowflake: {what} (by {person(freeze.author)}), id `{escape(freeze.id)}`"
    return message(f"{what}, id {freeze.id}", [section(text, block_id=f"freeze:{stage}")])


def freeze_list_message(
    config: DeploybotConfig,
    states: Mapping[str, Mapping[str, StageState]],
    now: datetime,
    project: str | None = None,
    stage: str | None = None,
) -> Message:
    lines: list[str] = []
    for found in config.projects:
        if project is not None and found.name != project:
            continue
        for conf in found.stages:
            if stage is not None and conf.name != stage:
                continue
            zone = conf.timezone or found.timezone
            state = states.get(found.name, {}).get(conf.name, StageState())
            name = f"*{escape(found.name)}/{escape(conf.name)}*"
            for freeze in conf.calendar(found).freezes:
                if freeze.end > now:
                    lines.append(
                        f"{name} `{escape(freeze.id)}` {local(freeze.start, zone)} → "
                        f"{local(freeze.end, zone)}: {escape(freeze.reason)} _(configured)_"
                    )
            for b in state.blockers:
                if b.kind is BlockerKind.FREEZE and (b.until is None or b.until > now):
                    start = local(b.starts_at or b.created_at, zone)
                    end = local(b.until, zone) if b.until else "until lifted"
                    lines.append(
                        f"{name} `{escape(b.id)}` {start} → {end}: {escape(b.reason)}"
                        f" (by {person(b.author)})"
                    )
    if not lines:
        return message("No freezes scheduled", [context("No freezes scheduled.")])
    blocks = [
        *sections(lines, block_id="freezes"),
        context("Cancel one: `/deploy freeze cancel [project] stage ID`"),
    ]
    return message(f"{len(lines)} freezes scheduled", blocks)
