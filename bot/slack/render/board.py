"""What a stage looks like at `now`: the view both status and App Home render.

`stage_board()` combines the stored `StageState` with the stage's calendar (windows,
holidays and configured freezes, evaluated for `now`) into a `StageBoard`, and
`stage_lines()` writes it as mrkdwn lines. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config.models import ProjectConfig, StageConfig
from bot.core.calendar import Calendar
from bot.core.model import (
    GOOD,
    Blocker,
    BlockerKind,
    Deployment,
    DeploymentKind,
    DeploymentState,
    StageState,
)
from bot.slack.escape import escape
from bot.slack.render.text import (
    blocker_line,
    deployment_label,
    local,
    relative,
    sha7,
    span,
    started_by,
    version,
    when,
    workflow_link,
)

#: Queued deployments named one by one before "+N more".
QUEUE_SHOWN = 3
#: Calendars kept by `stage_calendar` (all are dropped when it is full).
CALENDARS_KEPT = 4096

_calendars: dict[tuple[int, int], tuple[ProjectConfig, StageConfig, Calendar]] = {}


def stage_calendar(project: ProjectConfig, stage: StageConfig) -> Calendar:
    """`stage.calendar(project)`, built once per configuration object rather than on every
    render, so its day-by-day window timeline (`Calendar._day`) is computed once a day too.
    The configuration is frozen; the entry keeps its objects alive, so their ids stay theirs."""
    key = (id(project), id(stage))
    kept = _calendars.get(key)
    if kept is not None and kept[0] is project and kept[1] is stage:
        return kept[2]
    if len(_calendars) >= CALENDARS_KEPT:
        _calendars.clear()
    calendar = stage.calendar(project)
    _calendars[key] = (project, stage, calendar)
    return calendar


@dataclass(frozen=True)
class Upcoming:
    """The next calendar event worth knowing: a window opening or a freeze starting."""

    at: datetime
    what: str


@dataclass(frozen=True)
class StageBoard:
    project: str
    stage: str
    zone: str
    state: StageState
    #: Active blockers: stored ones first (these can be lifted), then the calendar's.
    blockers: tuple[Blocker, ...]
    #: Stored, active blockers a person may lift with an Unblock button.
    liftable: tuple[Blocker, ...]
    upcoming: Upcoming | None
    #: Approvals a roll-forward needs here (0: the stage has no approval gate).
    approvals_required: int = 0

    @property
    def deployed(self) -> Deployment | None:
        """What runs on the stage: a baking deployment, else the last good one."""
        current = self.state.current
        if current is not None and current.state is DeploymentState.BAKING:
            return current
        return next((d for d in self.state.good if d.state in GOOD), None)


def stage_board(
    project: ProjectConfig, stage: StageConfig, state: StageState, now: datetime
) -> StageBoard:
    calendar = stage_calendar(project, stage)
    stored = tuple(b for b in state.blockers if b.active(now))
    computed = tuple(calendar.blockers(now))
    upcoming: Upcoming | None = None
    window = next((b for b in computed if b.kind is BlockerKind.WINDOW), None)
    if window is not None and window.until is not None:
        upcoming = Upcoming(window.until, "window opens")
    else:
        freezes = [
            Upcoming(f.start, f"freeze: {escape(f.reason)}")
            for f in calendar.freezes
            if f.start > now
        ]
        freezes += [
            Upcoming(b.starts_at, f"freeze: {escape(b.reason)}")
            for b in state.blockers
            if b.kind is BlockerKind.FREEZE and b.starts_at is not None and b.starts_at > now
        ]
        upcoming = min(freezes, key=lambda u: u.at, default=None)
    zone = stage.timezone or project.timezone
    liftable = tuple(b for b in stored if b.kind is not BlockerKind.WINDOW)
    required = stage.approval.required if stage.approval is not None else 0
    return StageBoard(project.name, stage.name, zone, state, stored + computed, liftable, upcoming,
                      required)  # fmt: skip


def activity_line(board: StageBoard, now: datetime, org: str | None) -> str | None:
    current = board.state.current
    if current is None:
        return None
    if current.state is DeploymentState.RUNNING:
        since = current.started_at or current.created_at
        return (
            f":arrows_counterclockwise: deploying {deployment_label(current)}"
            f" since {when(since, now, board.zone)} {started_by(current.triggered_by)}"
            f"{workflow_link(org, current.change)}"
        )
    if current.bake_until is not None and current.bake_until > now:
        until = current.bake_until
        return (
            f":hourglass_flowing_sand: baking until {local(until, board.zone)}"
            f" ({span(until - now)} left)"
        )
    return ":hourglass_flowing_sand: baking, ending now"


def queue_line(board: StageBoard) -> str | None:
    queue = board.state.queue
    if not queue:
        return None
    named = ", ".join(
        f"`{sha7(d.change.sha)}`"
        + ("" if d.kind == "rollforward" else f" ({d.kind})")
        + (f" (:raised_hand: {waits})" if (waits := awaits_approval(d, board)) else "")
        for d in queue[:QUEUE_SHOWN]
    )
    more = f" +{len(queue) - QUEUE_SHOWN} more" if len(queue) > QUEUE_SHOWN else ""
    return f":inbox_tray: queued: {named}{more}"


def awaits_approval(deployment: Deployment, board: StageBoard) -> str:
    """`awaiting approval (1 of 2)` for a roll-forward waiting for approval, else ""."""
    required = board.approvals_required
    if deployment.approval_until is None or len(deployment.approvals) >= required:
        return ""
    return f"awaiting approval ({len(deployment.approvals)} of {required})"


def stage_lines(board: StageBoard, now: datetime, org: str | None) -> list[str]:
    """The stage as mrkdwn lines: version, activity, queue, blockers, next calendar event."""
    deployed = board.deployed
    since = (
        None
        if deployed is None
        else deployed.finished_at or deployed.started_at or deployed.created_at
    )
    lines = [
        f"*{escape(board.stage)}*  "
        + (
            f"{version(deployed.change)} since {when(since, now, board.zone)}"
            if deployed and since
            else "_nothing deployed yet_"
        )
    ]
    lines += [line for line in (activity_line(board, now, org), queue_line(board)) if line]
    if board.state.pending_rollback is not None:
        lines.append(
            f":warning: rollback of `{sha7(board.state.pending_rollback.bad_sha)}` waits for approval"
        )
    lines += [blocker_line(b, now, board.zone) for b in board.blockers]
    if board.upcoming is not None:
        lines.append(
            f":calendar: {board.upcoming.what} {local(board.upcoming.at, board.zone)} ({relative(board.upcoming.at, now)})"
        )
    return lines


def wave_line(wave: str, targets: list[StageBoard]) -> str:
    """A wave in one line (issue 18): the change it works on, how many targets have it done,
    and what the others are at: `*prod-wave-2* `abc1234`: 2 of 3 done · eu-west-1 deploying`."""
    changes = []
    for board in targets:
        current, deployed = board.state.current, board.deployed
        changes += [current.change] if current is not None else []
        changes += [d.change for d in board.state.queue if d.kind is DeploymentKind.ROLLFORWARD]
        changes += [deployed.change] if deployed is not None else []
    if not changes:
        return f"*{escape(wave)}*: nothing deployed yet ({len(targets)} targets)"
    newest = max(changes, key=lambda c: c.created_at)
    done, others = 0, []
    for board in targets:
        word = _target_progress(board, newest.sha)
        if word is None:
            done += 1
        else:
            others.append(f"{escape(board.stage.partition('/')[2])} {word}")
    parts = [f"*{escape(wave)}* `{sha7(newest.sha)}`: {done} of {len(targets)} done", *others]
    return " · ".join(parts)


def _target_progress(board: StageBoard, sha: str) -> str | None:
    """Where change `sha` is on one target of a wave; None when it is deployed and baked."""
    current, deployed = board.state.current, board.deployed
    if current is not None and current.change.sha == sha:
        return "deploying" if current.state is DeploymentState.RUNNING else "baking"
    if deployed is not None and deployed.change.sha == sha:
        return None if sha not in board.state.bad else "runs it, failed elsewhere in the wave"
    if sha in board.state.bad:
        return "failed"
    if any(d.change.sha == sha for d in board.state.queue):
        return "waiting (blocked)" if board.blockers else "queued"
    if current is not None:
        return f"busy with `{sha7(current.change.sha)}`"
    return "not reached"
