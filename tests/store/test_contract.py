"""One contract, three backends: the in-memory store, fakeredis, and a real redis-server."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from builders import T0, deployment

from bot.core.delivery import HISTORY_RETENTION
from bot.core.model import AuditEntry, Change, DeploymentState, StageState
from bot.store import Applied, Commit, Store


def commit(version: int, event_id: str = "e1", **kw: object) -> Commit:
    fields: dict[str, object] = {
        "project": "shop",
        "stage": "prod",
        "event_id": event_id,
        "expected_version": version,
        "state": StageState(version=version + 1),
    }
    fields.update(kw)
    return Commit.model_validate(fields)


Recorder = Callable[..., Awaitable[None]]
_changed = itertools.count(1)


async def _with_a_decision(
    store: Store, change: Change, keep: timedelta = HISTORY_RETENTION
) -> None:
    """The change recorded as a passed CI pipeline records it: with its first stage's
    decision (`Commit.change`), on Redis in the decision's own script."""
    state = await store.load("shop", "beta")
    version = state.version
    decision = Commit(
        project="shop",
        stage="beta",
        event_id=f"ready-{next(_changed)}",
        expected_version=version,
        state=state.model_copy(update={"version": version + 1}),
        keep=keep,
        change=change,
    )
    applied = await store.apply(decision)
    assert applied is Applied.APPLIED


async def _alone(store: Store, change: Change, keep: timedelta = HISTORY_RETENTION) -> None:
    await store.record_change("shop", change, keep)


@pytest.fixture(params=["alone", "with-a-decision"])
def record(request: pytest.FixtureRequest) -> Recorder:
    """Both ways a change is recorded, which must keep the same changes."""
    return _alone if request.param == "alone" else _with_a_decision


async def test_an_unknown_stage_loads_as_empty(store: Store) -> None:
    fresh = await store.load("shop", "prod")
    assert fresh.model_copy(update={"epoch": ""}) == StageState()
    assert len(fresh.epoch) == 8  # a random epoch: ids never repeat after the store is wiped


async def test_applied_state_round_trips_exactly(store: Store) -> None:
    running = deployment(1, DeploymentState.RUNNING)
    state = StageState(version=1, current=running, queue=(deployment(2),), bad=frozenset({"abc"}))
    assert await store.apply(commit(0, state=state)) is Applied.APPLIED
    assert await store.load("shop", "prod") == state


async def test_several_stages_load_at_once(store: Store) -> None:
    state = StageState(version=1, bad=frozenset({"abc"}))
    await store.apply(commit(0, state=state))
    loaded = await store.load_many("shop", ["prod", "beta"])
    assert loaded["prod"] == state
    assert loaded["beta"].model_copy(update={"epoch": ""}) == StageState()


async def test_the_same_event_is_applied_once(store: Store) -> None:
    assert await store.apply(commit(0, "e1")) is Applied.APPLIED
    assert await store.apply(commit(1, "e1")) is Applied.DUPLICATE
    assert (await store.load("shop", "prod")).version == 1


async def test_a_decision_made_on_a_stale_version_is_refused(store: Store) -> None:
    assert await store.apply(commit(0, "e1")) is Applied.APPLIED
    stale = commit(0, "e2", finished=(deployment(9, DeploymentState.FAILED),))
    assert await store.apply(stale) is Applied.CONFLICT
    assert await store.history("shop", "prod") == []


async def test_concurrent_writers_on_one_version_one_wins(store: Store) -> None:
    results = await asyncio.gather(*(store.apply(commit(0, f"e{i}")) for i in range(10)))
    assert results.count(Applied.APPLIED) == 1
    assert results.count(Applied.CONFLICT) == 9


async def test_history_is_newest_first(store: Store) -> None:
    first = deployment(1, DeploymentState.DONE)
    second = deployment(2, DeploymentState.FAILED)
    await store.apply(commit(0, "e1", finished=(first,)))
    await store.apply(commit(1, "e2", finished=(second,)))
    assert [d.id for d in await store.history("shop", "prod")] == [second.id, first.id]
    assert [d.id for d in await store.history("shop", "prod", limit=1)] == [second.id]


async def test_delivery_records_are_kept_for_the_retention_then_dropped(store: Store) -> None:
    """Each finished deployment leaves a compact record; those that ended more than `keep`
    before the newest are dropped, however few there are."""
    from bot.core.delivery import record_of

    day = timedelta(days=1)
    old = deployment(1, DeploymentState.DONE, finished_at=T0, triggered_by="U0ALICE")
    week = deployment(2, DeploymentState.FAILED, finished_at=T0 + 6 * day)
    await store.apply(commit(0, "e1", finished=(old,), keep=7 * day))
    await store.apply(commit(1, "e2", finished=(week,), keep=7 * day))
    kept = await store.deliveries("shop", "prod")
    assert kept == [record_of(week), record_of(old)]
    assert kept[1].by == "U0ALICE" and kept[1].ended_at == T0
    later = deployment(3, DeploymentState.DONE, finished_at=T0 + 8 * day)
    await store.apply(commit(2, "e3", finished=(later,), keep=7 * day))
    assert [r.sha for r in await store.deliveries("shop", "prod")] == [
        later.change.sha,
        week.change.sha,
    ]
    assert len(await store.history("shop", "prod")) == 3  # the history is capped by count


async def test_delivery_records_are_capped(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.store.memory
    import bot.store.redis

    monkeypatch.setattr(bot.store.memory, "DELIVERIES_LIMIT", 2)
    monkeypatch.setattr(bot.store.redis, "DELIVERIES_LIMIT", 2)
    for n in range(3):
        done = deployment(n, DeploymentState.DONE, finished_at=T0 + timedelta(minutes=n))
        await store.apply(commit(n, f"e{n}", finished=(done,)))
    assert [r.ended_at for r in await store.deliveries("shop", "prod")] == [
        T0 + timedelta(minutes=2),
        T0 + timedelta(minutes=1),
    ]


async def test_stages_are_independent(store: Store) -> None:
    await store.apply(commit(0, "e1"))
    assert await store.apply(commit(0, "e1", stage="beta")) is Applied.APPLIED
    assert (await store.load("shop", "gamma")).version == 0


async def test_audit_is_appended_in_order(store: Store) -> None:
    entries = [
        AuditEntry(at=T0, project="shop", stage="prod", actor="U1", action=f"a{i}")
        for i in range(3)
    ]
    await store.apply(commit(0, "e1", audit=tuple(entries[:2])))
    await store.apply(commit(1, "e2", audit=tuple(entries[2:])))
    assert [e.action for e in await store.audit("shop", "prod")] == ["a0", "a1", "a2"]


async def test_a_recorded_entry_joins_the_stage_audit_log_after_decisions(store: Store) -> None:
    decided = AuditEntry(at=T0, project="shop", stage="prod", actor="U1", action="blocker_added")
    refused = AuditEntry(at=T0, project="shop", stage="prod", actor="U9", action="refused")
    await store.apply(commit(0, "e1", audit=(decided,)))
    await store.record(refused)
    assert [e.action for e in await store.audit("shop", "prod")] == ["blocker_added", "refused"]


async def test_audit_entries_older_than_the_retention_are_dropped(store: Store) -> None:
    """By a decision's write and by a recorded entry alike: those made more than `keep` before
    the newest go (Redis measures by its stream ids, the times entries were added; the memory
    store by the entries' times, 1.5 s apart here as the wait is)."""
    second = timedelta(seconds=1)

    def entry(action: str, at: timedelta) -> AuditEntry:
        return AuditEntry(at=T0 + at, project="shop", stage="prod", actor="U1", action=action)

    await store.apply(commit(0, "e1", audit=(entry("first", timedelta(0)),), keep=second))
    await store.record(entry("second", timedelta(0)), keep=second)
    await asyncio.sleep(1.5)
    await store.apply(commit(1, "e2", audit=(entry("third", 1.5 * second),), keep=second))
    assert [e.action for e in await store.audit("shop", "prod")] == ["third"]
    await store.record(entry("fourth", 1.6 * second), keep=timedelta(days=90))
    await asyncio.sleep(1.5)
    await store.record(entry("fifth", 3.1 * second), keep=second)
    assert [e.action for e in await store.audit("shop", "prod")] == ["fifth"]


async def test_outbox_keeps_effects_until_acked(store: Store) -> None:
    await store.apply(commit(0, "e1", effects=("one", "two")))
    assert await store.outbox("shop", "prod") == ["one", "two"]
    await store.ack({("shop", "prod"): ["one"]})
    assert await store.outbox("shop", "prod") == ["two"]


async def test_effects_of_several_stages_are_acked_at_once(store: Store) -> None:
    await store.apply(commit(0, "e1", effects=("one", "two")))
    await store.apply(commit(0, "e1", stage="beta", effects=("three",)))
    await store.ack({("shop", "prod"): ["two"], ("shop", "beta"): ["three"], ("shop", "x"): []})
    assert await store.outbox("shop", "prod") == ["one"]
    assert await store.outbox("shop", "beta") == []
    await store.ack({})


async def test_a_refused_commit_leaves_no_effects(store: Store) -> None:
    await store.apply(commit(0, "e1"))
    await store.apply(commit(0, "e2", effects=("start",)))
    assert await store.outbox("shop", "prod") == []


async def test_the_first_thread_recorded_for_a_change_wins(store: Store) -> None:
    assert await store.thread("shop", "abc") is None
    assert await store.set_thread("shop", "abc", "111.1") == "111.1"
    assert await store.set_thread("shop", "abc", "222.2") == "111.1"
    assert await store.thread("shop", "abc") == "111.1"


async def test_a_change_view_holds_states_latest_history_and_thread(store: Store) -> None:
    running = StageState(version=1, current=deployment(3, DeploymentState.RUNNING))
    await store.apply(commit(0, "e1", state=running))
    for n in (1, 2):
        done = (deployment(n, DeploymentState.DONE),)
        await store.apply(commit(n - 1, f"h{n}", stage="beta", finished=done))
    view = await store.change_view("shop", ["beta", "prod", "gamma"], "abc", history=1)
    states = {name: state.model_copy(update={"epoch": ""}) for name, state in view.states.items()}
    assert states == {"beta": StageState(version=2), "prod": running, "gamma": StageState()}
    assert [d.id for d in view.history["beta"]] == [deployment(2, DeploymentState.DONE).id]
    assert view.history["prod"] == view.history["gamma"] == []
    assert view.thread is None
    await store.set_thread("shop", "abc", "111.1")
    assert (await store.change_view("shop", ["beta"], "abc")).thread == "111.1"


async def test_app_home_viewers_are_kept_until_they_are_too_old(store: Store) -> None:
    await store.saw_home("U1", 100.0)
    await store.saw_home("U2", 200.0)
    await store.saw_home("U1", 300.0)  # opened again
    assert sorted(await store.home_viewers(since=150.0)) == ["U1", "U2"]
    assert await store.home_viewers(since=250.0) == ["U1"]
    assert await store.home_viewers(since=0.0) == ["U1"], "U2 was forgotten"


async def test_a_claim_is_granted_once(store: Store) -> None:
    results = await asyncio.gather(
        *(store.claim("job@10:00", timedelta(minutes=5)) for _ in range(5))
    )
    assert results.count(True) == 1
    assert await store.claim("job@10:05", timedelta(minutes=5))


async def test_a_released_claim_can_be_claimed_again(store: Store) -> None:
    assert await store.claim("effect:e1#0", timedelta(minutes=5))
    await store.release("effect:e1#0")
    assert await store.claim("effect:e1#0", timedelta(minutes=5))


async def test_ping(store: Store) -> None:
    assert await store.ping()


async def test_changes_are_listed_between_two_times_newest_first_with_their_count(
    store: Store, record: Recorder
) -> None:
    """What ships (issue 16): the changes after a stage's last good one, up to the one deployed."""
    from builders import change

    made = [change(n) for n in range(1, 8)]  # one a minute after T0
    for c in reversed(made):
        await record(store, c)
    await record(store, made[3])  # recorded twice: still one change
    shown, total = await store.changes("shop", made[1].created_at, made[5].created_at, limit=3)
    assert [c.sha for c in shown] == [made[5].sha, made[4].sha, made[3].sha]
    assert total == 4  # changes 3, 4, 5 and 6: after 2, up to 6 included
    assert shown[0].message == made[5].message and shown[0].author == made[5].author
    assert abs(shown[0].created_at - made[5].created_at) < timedelta(milliseconds=1)
    everything, count = await store.changes("shop", None, made[-1].created_at, limit=100)
    assert count == 7 and len(everything) == 7
    assert await store.changes("other", None, made[-1].created_at, limit=10) == ([], 0)


async def test_a_change_is_found_by_a_prefix_of_its_sha(store: Store, record: Recorder) -> None:
    from builders import change

    one, two = change(11), change(12)
    await record(store, one)
    await record(store, two)
    found = await store.find_change("shop", one.sha[:7])
    assert found is not None and found.sha == one.sha
    assert await store.find_change("shop", "deadbee") is None
    assert await store.find_change("shop", "*") is None
    assert await store.find_change("shop", "") is None


async def test_a_change_recorded_twice_is_one_change_with_the_richest_details(
    store: Store, record: Recorder
) -> None:
    """Reconciliation records a change without its author; the webhook's record has it.
    Whichever comes first, the change is listed once, with its author."""
    from builders import change

    webhook, reconciled = change(21, author="alice"), change(21, author="")
    other_webhook, other_reconciled = change(22, author="bob"), change(22, author="")
    await record(store, reconciled)
    await record(store, webhook)
    await record(store, other_webhook)
    await record(store, other_reconciled)
    listed, total = await store.changes("shop", None, other_webhook.created_at, limit=10)
    assert total == 2
    assert [(c.sha, c.author) for c in listed] == [
        (other_webhook.sha, "bob"),
        (webhook.sha, "alice"),
    ]
    found = await store.find_change("shop", webhook.sha[:8])
    assert found is not None and found.author == "alice"


async def test_only_the_newest_changes_are_kept(
    store: Store, record: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from builders import change

    import bot.store.memory
    import bot.store.redis

    monkeypatch.setattr(bot.store.memory, "CHANGES_LIMIT", 3)
    monkeypatch.setattr(bot.store.redis, "CHANGES_LIMIT", 3)
    made = [change(n) for n in range(31, 36)]
    for c in made:
        await record(store, c)
    listed, total = await store.changes("shop", None, made[-1].created_at, limit=10)
    assert total == 3 and [c.sha for c in listed] == [c.sha for c in reversed(made[2:])]
    assert await store.find_change("shop", made[0].sha[:8]) is None


async def test_changes_made_before_the_retention_are_forgotten(
    store: Store, record: Recorder
) -> None:
    from builders import change

    old, recent = change(41, created_at=T0), change(42, created_at=T0 + timedelta(days=5))
    await record(store, old, keep=timedelta(days=7))
    await record(store, recent, keep=timedelta(days=7))
    assert await store.change_times("shop") == {old.sha: T0, recent.sha: recent.created_at}
    newest = change(43, created_at=T0 + timedelta(days=8))
    await record(store, newest, keep=timedelta(days=7))
    assert set(await store.change_times("shop")) == {recent.sha, newest.sha}
    assert await store.find_change("shop", old.sha[:8]) is None


async def test_projects_reconciled_are_remembered_with_when(store: Store) -> None:
    assert await store.reconciled() == {}
    await store.mark_reconciled({"shop": T0, "blog": T0 + timedelta(minutes=3)})
    await store.mark_reconciled({"shop": T0 + timedelta(minutes=5)})
    assert await store.reconciled() == {
        "shop": T0 + timedelta(minutes=5),
        "blog": T0 + timedelta(minutes=3),
    }


async def test_a_count_is_shared_and_ends_with_its_ttl(store: Store) -> None:
    assert await store.count("semaphore:1", 3, timedelta(seconds=1)) == 3
    assert await store.count("semaphore:1", 2, timedelta(seconds=1)) == 5
    assert await store.count("semaphore:1", 0, timedelta(seconds=1)) == 5
    assert await store.count("semaphore:2", 0, timedelta(seconds=1)) == 0
    await asyncio.sleep(1.1)
    assert await store.count("semaphore:1", 1, timedelta(seconds=1)) == 1
