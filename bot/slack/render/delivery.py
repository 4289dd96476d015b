"""`/deploy stats`: a stage's four delivery metrics over a window, each with its trend against
the window before (issue 17)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.delivery import Delivery
from bot.slack.escape import escape
from bot.slack.render.blocks import context, message, section
from bot.slack.render.text import span


def _trend(now: float | None, before: float | None) -> str:
    if now is None or before is None or now == before:
        return ""
    return " ↑" if now > before else " ↓"


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _span(value: timedelta | None) -> str:
    return span(value) if value is not None else "n/a"


def stats_lines(current: Delivery, previous: Delivery) -> list[str]:
    rate, before = current.failure_rate, previous.failure_rate
    failure = (
        f"{rate:.0%} ({current.failures} of {current.attempts})" if rate is not None else "n/a"
    )
    lead = (
        f"p50 {_span(current.lead_p50)}, p90 {_span(current.lead_p90)} ({current.changes} changes)"
    )
    restore = f"p50 {_span(current.restore_p50)}, max {_span(current.restore_max)}"
    if not current.restores and not current.unrestored:
        restore = "no failure to restore from"
    if current.unrestored:
        restore += f"; {current.unrestored} not restored yet"
    return [
        f"*Deployment frequency:* {current.per_day:.2f}/day ({current.deployments} deployments)"
        + _trend(current.per_day, previous.per_day),
        f"*Lead time for changes:* {lead}"
        + _trend(_seconds(current.lead_p50), _seconds(previous.lead_p50)),
        f"*Change failure rate:* {failure}" + _trend(rate, before),
        f"*Time to restore:* {restore}"
        + _trend(_seconds(current.restore_p50), _seconds(previous.restore_p50)),
    ]


def stats_message(
    project: str, stage: str, days: int, current: Delivery, previous: Delivery
) -> dict[str, Any]:
    where = f"{escape(project)}/{escape(stage)}"
    head = f"*{where}*, the last {days} days (↑/↓: against the {days} days before)"
    body = "\n".join([head, *stats_lines(current, previous)])
    return message(
        f"Delivery metrics of {where}, last {days} days",
        [section(body, block_id="stats"), context("Definitions: `/deploy help stats`.")],
    )
