"""The four delivery metrics of a stage over a window, from its history (issue 17).

    delivery(history, changes, since, until) -> Delivery

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

`history` is the stage's finished deployments (any order); `changes` every remembered change
of the project (any order). Pure: no clock, no store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.model import GOOD, Change, Deployment, DeploymentKind, DeploymentState, Frozen


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


def _ended(deployment: Deployment) -> datetime:
    return deployment.finished_at or deployment.started_at or deployment.created_at


def delivery(
    history: list[Deployment], changes: list[Change], since: datetime, until: datetime
) -> Delivery:
    ordered = sorted(history, key=_ended)
    forwards = [d for d in ordered if d.kind is DeploymentKind.ROLLFORWARD]
    good = [d for d in ordered if d.state in GOOD]
    good_forwards = [d for d in forwards if d.state in GOOD]
    inside = [d for d in good_forwards if since <= _ended(d) < until]
    days = max((until - since).total_seconds() / 86400, 1e-9)

    # Lead time: each change, to the first good roll-forward of it or of a newer change.
    leads: list[timedelta] = []
    slowest: tuple[str, timedelta] | None = None
    by_time = sorted({c.sha: c for c in changes}.values(), key=lambda c: c.created_at)
    for change in by_time:
        carrier = next((d for d in good_forwards if d.change.created_at >= change.created_at), None)
        if carrier is not None and since <= _ended(carrier) < until:
            leads.append(lead := _ended(carrier) - change.created_at)
            if slowest is None or lead > slowest[1]:
                slowest = (change.sha, lead)

    # Failures: failed roll-forwards, and good ones a rollback undid afterwards.
    failed_at: list[tuple[str, datetime]] = []
    attempts = 0
    for deployment in forwards:
        ended = _ended(deployment)
        if deployment.state not in (*GOOD, DeploymentState.FAILED):
            continue  # superseded or cancelled: it never ran to an end
        if not since <= ended < until:
            continue
        attempts += 1
        if deployment.state is DeploymentState.FAILED:
            failed_at.append((deployment.change.sha, ended))
            continue
        undone = _rolled_back_after(deployment, ordered)
        if undone is not None:
            failed_at.append((deployment.change.sha, undone))

    restores: list[timedelta] = []
    failures: list[Failure] = []
    for sha, moment in failed_at:
        back = next((d for d in good if _ended(d) > moment), None)
        if back is None:
            failures.append(Failure(sha=sha))
        else:
            restores.append(took := _ended(back) - moment)
            failures.append(Failure(sha=sha, restored_by=back.triggered_by, took=took))
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


def _rolled_back_after(deployment: Deployment, ordered: list[Deployment]) -> datetime | None:
    """When a rollback to an older change was asked for while `deployment` was the stage's
    latest roll-forward (it was undone); None when it never was."""
    ended = _ended(deployment)
    for later in ordered:
        if _ended(later) <= ended:
            continue
        if later.kind is DeploymentKind.ROLLFORWARD and later.state in (
            *GOOD,
            DeploymentState.FAILED,
        ):
            return None  # a newer change went out (or failed) first
        if (
            later.kind is DeploymentKind.ROLLBACK
            and later.change.created_at < deployment.change.created_at
        ):
            return later.created_at
    return None
