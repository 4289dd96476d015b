"""The delivery figures of a scripted day, written through the store the way decisions write
them (apply) and read back the way `/deploy stats` reads them, on every backend: the in-memory
store, fakeredis and a real redis-server (issue 17)."""

from __future__ import annotations

from datetime import timedelta

from builders import T0, change, deployment

from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StageState
from bot.service.delivery import stage_delivery
from bot.store import Applied, Commit, Store

S, K = DeploymentState, DeploymentKind
H, M = timedelta(hours=1), timedelta(minutes=1)


def ran(n: int, made: Change, state: DeploymentState, ended: timedelta,
        kind: K = K.ROLLFORWARD, asked: timedelta | None = None) -> Deployment:  # fmt: skip
    return deployment(n, state, change=made, kind=kind, id=f"shop/prod/d{n}",
                      created_at=T0 + (asked if asked is not None else ended - 10 * M),
                      finished_at=T0 + ended, triggered_by="U0BOB" if kind is K.ROLLBACK
                      else "deploybot")  # fmt: skip


async def test_a_scripted_day_through_the_store_gives_the_known_figures(store: Store) -> None:
    a, b, c, d, e, f = (change(n, created_at=T0 + at) for n, at in
                        ((1, 0 * H), (2, H), (3, 2 * H), (4, 2.5 * H), (5, 3 * H), (6, 23 * H)))  # fmt: skip
    for made in (a, b, c, d, e, f):
        await store.record_change("shop", made)
    history = [
        ran(1, a, S.DONE, H),
        ran(2, b, S.FAILED, 2 * H),
        ran(11, a, S.SUCCEEDED, 2 * H + 20 * M, K.ROLLBACK),  # restored 20 min after B failed
        ran(4, d, S.SUPERSEDED, 3 * H),  # superseded by E: never ran
        ran(3, c, S.DONE, 4 * H),
        ran(5, e, S.DONE, 5 * H),  # an alarm after its bake: rolled back
        ran(13, c, S.SUCCEEDED, 5 * H + 40 * M, K.ROLLBACK, asked=5 * H + 30 * M),
    ]  # F is still on its way at the window's edge
    for version, done in enumerate(history):
        commit = Commit(project="shop", stage="prod", event_id=f"e{version}",
                        expected_version=version, state=StageState(version=version + 1),
                        finished=(done,))  # fmt: skip
        assert await store.apply(commit) is Applied.APPLIED
    now = T0 + 24 * H
    day, before = await stage_delivery(store, "shop", "prod", 24 * H, now)
    assert (day.deployments, day.changes) == (3, 5)
    assert (day.lead_p50, day.lead_p90) == (2 * H, 3 * H)
    assert (day.failures, day.attempts, day.failure_rate) == (2, 4, 0.5)
    assert sorted(day.restores) == [10 * M, 20 * M] and day.unrestored == 0
    assert [(x.sha, x.restored_by, x.took) for x in day.failed] == [
        (b.sha, "U0BOB", 20 * M),
        (e.sha, "U0BOB", 10 * M),
    ]
    assert before is not None and before.deployments == before.attempts == 0
    # A week later the day is still there; past the retention (90 days) it is gone.
    week, _ = await stage_delivery(store, "shop", "prod", 7 * 24 * H, now + 6 * 24 * H)
    assert week.deployments == 3
    late = ran(20, f, S.DONE, 100 * 24 * H)
    await store.apply(Commit(project="shop", stage="prod", event_id="late", expected_version=7,
                             state=StageState(version=8), finished=(late,)))  # fmt: skip
    assert [r.sha for r in await store.deliveries("shop", "prod")] == [f.sha]
