"""The four delivery metrics of a stage over a window, from its history (issue 17).

    delivery(records, changes, since, until) -> Delivery
    record_of(deployment) -> DeliveryRecord

Definitions (docs/design.md, "Delivery metrics"):
- deployment frequency: roll-forwards to the stage that ended good (done, or succeeded) in the
  window, per day;
- lead time for changes: from a change's CI pipeline being created (`Change.created_at`) to
  the end of the first good roll-forward to the stage that carried it (its own, or for a
  change superseded on its way, the newer one that went out after it); p50 and p90, over the
  changes whose deployment ended in the window;
- change failure rate: roll-forwards to the stage that failed (a failed pipeline, or failed by
  an alarm), or ended good and were rolled back afterwards, divided by every roll-forward that
  ran to an end there (superseded and cancelled ones never ran), in the window;
- time to restore: from such a failure (the failed deployment's end, or the rollback's request)
  to the end of the next good deployment of any kind on the stage; p50 and max.

`records` is the stage's finished deployments as `DeliveryRecord`s (any order): the few
facts the figures need, so that 90 days of them stay small in the store; `changes` maps every
remembered change of the project to when its CI pipeline was created. Pure: no clock, no store.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.core.model import GOOD, Deployment, DeploymentKind, DeploymentState, Frozen

#: How long delivery records (and the changes lead times are measured from) are kept, unless
#: configured (`history_retention`): the longest window the figures are asked for.
HISTORY_RETENTION = timedelta(days=90)


class DeliveryRecord(NamedTuple):
    """What the figures need of one finished deployment (kept for `history_retention`)."""

    kind: DeploymentKind
    state: DeploymentState
    sha: str
    #: When the change's CI pipeline was created.
    change_at: datetime
    #: When the deployment was asked for (a rollback's request is a failure's moment).
    asked_at: datetime
    ended_at: datetime
    #: Who started it: a Slack user id, or `deploybot` when automatic.
    by: str


def record_of(deployment: Deployment) -> DeliveryRecord:
    return DeliveryRecord(
        kind=deployment.kind,
        state=deployment.state,
        sha=deployment.change.sha,
        change_at=deployment.change.created_at,
        asked_at=deployment.created_at,
        ended_at=deployment.finished_at or deployment.started_at or deployment.created_at,
        by=deployment.triggered_by,
    )


class Failure(Frozen):
    """A failure in the window: the change, and who restored the stage (the next good
    deployment's starter: `deploybot` when automatic) and how long it took; None: not yet."""

    sha: str
    restored_by: str | None = None
    took: timedelta | None = None


class Delivery(Frozen):
    since: datetime
    until: datetime
    #: Good roll-forwards that ended in the window.
    deployments: int
    per_day: float
    lead_p50: timedelta | None = None
    lead_p90: timedelta | None = None
    #: Changes the lead times were measured for.
    changes: int = 0
    #: Roll-forwards that failed or were rolled back / roll-forwards that ran to an end.
    failures: int = 0
    attempts: int = 0
    restores: tuple[timedelta, ...] = ()
    #: A failure in the window with no good deployment after it yet.
    unrestored: int = 0
    #: The change with the longest lead time in the window, and that lead time.
    slowest: tuple[str, timedelta] | None = None
    failed: tuple[Failure, ...] = ()

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.attempts if self.attempts else None

    @property
    def restore_p50(self) -> timedelta | None:
        return percentile(list(self.restores), 50)

    @property
    def restore_max(self) -> timedelta | None:
        return max(self.restores, default=None)


def percentile(values: list[timedelta], p: int) -> timedelta | None:
    """The nearest-rank percentile (`p` of 100) of `values`; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least 1
    return ordered[rank - 1]


def delivery(
    records: Sequence[DeliveryRecord],
    changes: Mapping[str, datetime],
    since: datetime,
    until: datetime,
) -> Delivery:
    ordered = sorted(records, key=lambda r: r.ended_at)
    forwards = [r for r in ordered if r.kind is DeploymentKind.ROLLFORWARD]
    good = [r for r in ordered if r.state in GOOD]
    good_forwards = [r for r in forwards if r.state in GOOD]
    inside = [r for r in good_forwards if since <= r.ended_at < until]
    days = max((until - since).total_seconds() / 86400, 1e-9)

    leads: list[timedelta] = []
    slowest: tuple[str, timedelta] | None = None
    for sha, made, carrier in _carriers(changes, good_forwards):
        if since <= carrier.ended_at < until:
            leads.append(lead := carrier.ended_at - made)
            if slowest is None or lead > slowest[1]:
                slowest = (sha, lead)

    # Failures: failed roll-forwards, and good ones a rollback undid afterwards.
    failed_at: list[tuple[str, datetime]] = []
    attempts = 0
    undone = _undone(ordered)
    for index, record in enumerate(ordered):
        if record.kind is not DeploymentKind.ROLLFORWARD:
            continue
        if record.state not in (*GOOD, DeploymentState.FAILED):
            continue  # superseded or cancelled: it never ran to an end
        if not since <= record.ended_at < until:
            continue
        attempts += 1
        if record.state is DeploymentState.FAILED:
            failed_at.append((record.sha, record.ended_at))
        elif index in undone:
            failed_at.append((record.sha, undone[index]))

    restores: list[timedelta] = []
    failures: list[Failure] = []
    ends = [r.ended_at for r in good]
    for sha, moment in failed_at:
        after = bisect_right(ends, moment)
        if after == len(good):
            failures.append(Failure(sha=sha))
        else:
            back = good[after]
            restores.append(took := back.ended_at - moment)
            failures.append(Failure(sha=sha, restored_by=back.by, took=took))
    return Delivery(
        since=since,
        until=until,
        deployments=len(inside),
        per_day=len(inside) / days,
        lead_p50=percentile(leads, 50),
        lead_p90=percentile(leads, 90),
        changes=len(leads),
        failures=len(failed_at),
        attempts=attempts,
        restores=tuple(restores),
        unrestored=sum(1 for f in failures if f.took is None),
        slowest=slowest,
        failed=tuple(failures),
    )


def _carriers(
    changes: Mapping[str, datetime], good_forwards: list[DeliveryRecord]
) -> list[tuple[str, datetime, DeliveryRecord]]:
    """Each change with the first good roll-forward (in the order they ended) of it or of a
    newer change: the one that carried it. Changes nothing carried yet are left out."""
    pending = sorted(changes.items(), key=lambda item: item[1])
    carried: list[tuple[str, datetime, DeliveryRecord]] = []
    next_change = 0
    for record in good_forwards:
        while next_change < len(pending) and pending[next_change][1] <= record.change_at:
            sha, made = pending[next_change]
            carried.append((sha, made, record))
            next_change += 1
    return carried


def _undone(ordered: list[DeliveryRecord]) -> dict[int, datetime]:
    """Good roll-forwards (by index in `ordered`) that a rollback to an older change undid
    while they were the stage's latest roll-forward, with when the rollback was asked for."""
    undone: dict[int, datetime] = {}
    latest: int | None = None  # the latest roll-forward that ran to an end, if good
    for index, record in enumerate(ordered):
        if record.kind is DeploymentKind.ROLLFORWARD and record.state in (
            *GOOD,
            DeploymentState.FAILED,
        ):
            latest = index if record.state in GOOD else None
        elif (
            record.kind is DeploymentKind.ROLLBACK
            and latest is not None
            and record.change_at < ordered[latest].change_at
        ):
            undone.setdefault(latest, record.asked_at)
            latest = None
    return undone
