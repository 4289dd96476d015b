"""`/deploy stats`: a stage's four delivery metrics over a window, each with its trend against
the window before (issue 17)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core.delivery import Delivery
from bot.slack.escape import escape
from bot.slack.render.blocks import context, message, section, sections
from bot.slack.render.text import local, span, started_by


def _trend(now: float | None, before: float | None) -> str:
    if now is None or before is None or now == before:
        return ""
    return " ↑" if now > before else " ↓"


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _span(value: timedelta | None) -> str:
    return span(value) if value is not None else "n/a"


def _restore(d: Delivery, measured: str, nothing: str, sep: str = ", ") -> str:
    """Time to restore in words: `measured` when a stage was restored, how many failures are
    not restored yet, or `nothing` when there was no failure."""
    parts = [measured] if d.restores else []
    if d.unrestored:
        parts.append(f"{d.unrestored} not restored yet")
    return sep.join(parts) or nothing


def stats_lines(current: Delivery, previous: Delivery | None) -> list[str]:
    """The four figures, each with its trend against `previous` (none when None)."""
    before_window = previous if previous is not None else current  # no trend
    rate, before = current.failure_rate, before_window.failure_rate
    failure = (
        f"{rate:.0%} ({current.failures} of {current.attempts})" if rate is not None else "n/a"
    )
    lead = f"p50 {_span(current.lead_p50)}, p90 {_span(current.lead_p90)} ({_count(current.changes, 'change')})"
    measured = f"p50 {_span(current.restore_p50)}, max {_span(current.restore_max)}"
    restore = _restore(current, measured, "no failure to restore from", "; ")
    return [
        f"*Deployment frequency:* {current.per_day:.2f}/day ({_count(current.deployments, 'deployment')})"
        + _trend(current.per_day, before_window.per_day),
        f"*Lead time for changes:* {lead}"
        + _trend(_seconds(current.lead_p50), _seconds(before_window.lead_p50)),
        f"*Change failure rate:* {failure}" + _trend(rate, before),
        f"*Time to restore:* {restore}"
        + _trend(_seconds(current.restore_p50), _seconds(before_window.restore_p50)),
    ]


def board_line(d: Delivery) -> str:
    """One line for the App Home: the four figures of the last 30 days, without trends."""
    if not d.attempts and not d.deployments and not d.failures:
        return ":bar_chart: _last 30 days: no deployment ended_"
    rate = f"{d.failure_rate:.0%}" if d.failure_rate is not None else "n/a"
    restore = _restore(d, f"restore p50 {_span(d.restore_p50)}", "nothing to restore")
    return (
        f":bar_chart: _last 30 days:_ {d.per_day:.2f}/day · lead time p50 {_span(d.lead_p50)}"
        f" · failure rate {rate} · {restore}"
    )


def stats_message(
    project: str, stage: str, days: int, current: Delivery, previous: Delivery | None
) -> dict[str, Any]:
    where = f"{escape(project)}/{escape(stage)}"
    trend = f"↑/↓: against the {days} days before"
    if previous is None:
        trend = f"no trend: the {days} days before are older than the history kept"
    head = f"*{where}*, the last {days} days ({trend})"
    body = "\n".join([head, *stats_lines(current, previous)])
    return message(
        f"Delivery metrics of {where}, last {days} days",
        [section(body, block_id="stats"), context("Definitions: `/deploy help stats`.")],
    )


def digest_message(
    project: str, stage: str, current: Delivery, previous: Delivery | None, zone: str
) -> dict[str, Any]:
    """The weekly digest: last week's figures with their trend, the slowest change, and the
    failures with who restored the stage and how fast."""
    where = f"{escape(project)}/{escape(stage)}"
    lines = [f":bar_chart: *{where}*: the week to {local(current.until, zone)}"]
    lines += stats_lines(current, previous)
    if current.slowest is not None:
        sha, lead = current.slowest
        lines.append(
            f"*Slowest change:* `{sha[:7]}`, {span(lead)} from its CI pipeline to {escape(stage)}"
        )
    for failure in current.failed:
        if failure.took is None:
            lines.append(f":x: `{failure.sha[:7]}` failed; not restored yet")
        else:
            who = started_by(failure.restored_by or "deploybot")
            lines.append(f":x: `{failure.sha[:7]}` failed; restored {who} in {span(failure.took)}")
    return message(f"Weekly delivery digest of {where}", sections(lines, block_id="digest"))
