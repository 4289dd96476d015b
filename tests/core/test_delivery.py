"""The four delivery metrics from a scripted history with known answers (issue 17)."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, change, deployment

from bot.core.delivery import Delivery, delivery, percentile, record_of
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState

S, K = DeploymentState, DeploymentKind
H = timedelta(hours=1)
M = timedelta(minutes=1)


def at(n: int, created: timedelta) -> Change:
    return change(n, created_at=T0 + created)


def figures(
    history: list[Deployment], changes: list[Change], since: timedelta, until: timedelta
) -> Delivery:
    """The figures of `history` (as the store keeps it: records) from T0 + since to T0 + until."""
    made = {c.sha: c.created_at for c in changes}
    return delivery([record_of(d) for d in history], made, T0 + since, T0 + until)


def ran(
    n: int,
    changed: Change,
    state: DeploymentState,
    ended: timedelta,
    kind: K = K.ROLLFORWARD,
    asked: timedelta | None = None,
) -> Deployment:
    return deployment(n, state, change=changed, kind=kind, id=f"shop/prod/d{n}-{ended}",
                      created_at=T0 + (asked if asked is not None else ended - 10 * M),
                      finished_at=T0 + ended)  # fmt: skip


def test_a_day_with_a_failure_a_superseded_change_and_a_late_alarm() -> None:
    a, b, c, d, e, f = (
        at(1, 0 * H),
        at(2, H),
        at(3, 2 * H),
        at(4, 2.5 * H),
        at(5, 3 * H),
        at(6, 23 * H),
    )
    history = [
        ran(1, a, S.DONE, H),
        ran(2, b, S.FAILED, 2 * H),
        ran(11, a, S.SUCCEEDED, 2 * H + 20 * M, K.ROLLBACK),  # restored 20 min after B failed
        ran(4, d, S.SUPERSEDED, 3 * H),  # never ran: not an attempt
        ran(3, c, S.DONE, 4 * H),
        ran(5, e, S.DONE, 5 * H),
        ran(13, c, S.SUCCEEDED, 5 * H + 40 * M, K.ROLLBACK, asked=5 * H + 30 * M),  # E undone
    ]
    day = figures(history, [a, b, c, d, e, f], 0 * H, 24 * H)
    assert (day.deployments, day.per_day) == (3, 3.0)  # A, C and E ended good
    assert day.changes == 5  # F is still on its way at the window's edge
    # A 1h; B 3h (C carried it); C 2h; D 2h30 (E carried it); E 2h.
    assert (day.lead_p50, day.lead_p90) == (2 * H, 3 * H)
    assert (day.failures, day.attempts, day.failure_rate) == (2, 4, 0.5)
    assert sorted(day.restores) == [10 * M, 20 * M]
    assert (day.restore_p50, day.restore_max, day.unrestored) == (10 * M, 20 * M, 0)
    assert day.slowest == (b.sha, 3 * H)
    assert [(f.sha, f.took) for f in day.failed] == [(b.sha, 20 * M), (e.sha, 10 * M)]


def test_an_unrestored_failure_and_an_empty_window() -> None:
    a = at(1, 0 * H)
    history = [ran(1, a, S.FAILED, H)]
    broken = figures(history, [a], 0 * H, 7 * 24 * H)
    assert (broken.deployments, broken.failures, broken.unrestored) == (0, 1, 1)
    assert broken.restore_p50 is None and broken.lead_p50 is None
    assert broken.per_day == 0.0
    empty = delivery([], {}, T0, T0 + H)
    assert empty.failure_rate is None and empty.attempts == 0


def test_the_window_counts_only_what_ended_inside_it() -> None:
    a, b = at(1, 0 * H), at(2, 30 * H)
    history = [ran(1, a, S.DONE, H), ran(2, b, S.DONE, 31 * H)]
    first, second = (
        figures(history, [a, b], 0 * H, 24 * H),
        figures(history, [a, b], 24 * H, 48 * H),
    )
    assert (first.deployments, second.deployments) == (1, 1)
    assert (first.lead_p50, second.lead_p50) == (H, H)


def test_percentiles_are_nearest_rank() -> None:
    values = [timedelta(minutes=n) for n in range(1, 11)]
    assert percentile(values, 50) == 5 * M and percentile(values, 90) == 9 * M
    assert percentile(values[:1], 90) == M and percentile([], 50) is None
