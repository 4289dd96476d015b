"""Rule 9: a promotion Semaphore accepted and never started (it gave up, refused it, or showed
no pipeline within `start_timeout`) holds the change, visibly, instead of wedging the stage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import T0, change, deployment, policy, snapshot

from bot.core import events as ev
from bot.core.decision import BROADCAST, Decision, NoticeKind, StageSnapshot
from bot.core.model import BlockerKind, DeploymentKind, DeploymentState, StageState
from bot.core.rules import decide
from bot.core.starts import MAX_START_ATTEMPTS
from bot.core.wake import next_wake

S = DeploymentState
GAVE_UP = "Semaphore gave up on the promotion: Deadline reached"


class NoBoundaries:
    def next_boundary(self, after: datetime) -> datetime | None:
        return None


class Stage:
    def __init__(self, snap: StageSnapshot | None = None) -> None:
        self.snap = snap or snapshot(policy=policy(bake=timedelta(0), is_last=True))
        self.now = T0
        self.n = 0

    def __call__(self, event: ev.Event, after: timedelta = timedelta(0)) -> Decision:
        self.now += after
        decision = decide(self.snap, event, self.now)
        self.snap = self.snap.model_copy(update={"state": decision.state})
        return decision

    def eid(self) -> str:
        self.n += 1
        return f"e{self.n}"

    @property
    def state(self) -> StageState:
        return self.snap.state

    def ready(self, n: int) -> Decision:
        return self(ev.ChangeReady(id=self.eid(), change=change(n)))

    def gave_up(self, reason: str = GAVE_UP, at: datetime | None = None) -> Decision:
        current = self.state.current
        assert current is not None
        event = ev.DeploymentNotStarted(
            id=self.eid(), deployment_id=current.id, reason=reason, triggered_at=at
        )
        return self(event)

    def tick(self, after: timedelta) -> Decision:
        return self(ev.Tick(id=self.eid()), after)


def test_a_promotion_semaphore_gave_up_on_is_tried_again_as_a_new_deployment() -> None:
    stage = Stage()
    first = stage.ready(1).start
    assert first is not None
    decision = stage.gave_up()
    [ended] = decision.finished
    assert (ended.id, ended.state) == (first.id, S.CANCELLED)
    assert ended.outcome == f"not started: {GAVE_UP}"
    again = decision.start
    assert again is not None and again.change == change(1) and again.attempt == 2
    assert again.id != first.id  # a new request token: Semaphore would ignore a repeat
    [told] = [n for n in decision.notices if n.kind is NoticeKind.NOT_STARTED]
    assert "Deadline reached" in told.text and "attempt 2 of 3" in told.text
    assert NoticeKind.NOT_STARTED in BROADCAST  # said in the channel, not only the thread


def test_after_three_attempts_the_stage_is_blocked_naming_the_reason() -> None:
    stage = Stage()
    stage.ready(1)
    stage.gave_up()
    stage.gave_up()
    decision = stage.gave_up("Semaphore gave up on the promotion: cordoned_target")
    assert decision.start is None and stage.state.current is None
    [held] = stage.state.blockers
    assert held.kind is BlockerKind.MANUAL and "cordoned_target" in held.reason
    assert f"{MAX_START_ATTEMPTS} times" in held.reason and "unblock" in held.reason
    [told] = [n for n in decision.notices if n.kind is NoticeKind.BLOCKER_ADDED]
    assert told.blockers == (held,)  # the one message to the channel, with its Unblock button
    [waiting] = stage.state.queue
    assert waiting.change == change(1) and waiting.attempt == 1  # nothing dropped
    lifted = stage(ev.BlockerLifted(id=stage.eid(), blocker_id=held.id, by="U1"))
    assert lifted.start is not None and lifted.start.change == change(1)


def test_no_deployment_runs_without_a_pipeline_past_its_start_timeout() -> None:
    stage = Stage()
    stage.ready(1)
    assert stage.tick(after=timedelta(minutes=5) - timedelta(seconds=1)).finished == ()
    decision = stage.tick(after=timedelta(seconds=1))
    [ended] = decision.finished
    assert ended.outcome == "not started: Semaphore started no pipeline within 5m"
    assert decision.start is not None and decision.start.attempt == 2


def test_the_start_timeout_is_the_stages() -> None:
    stage = Stage(snapshot(policy=policy(start_timeout=timedelta(seconds=90))))
    stage.ready(1)
    decision = stage.tick(after=timedelta(seconds=90))
    assert [d.state for d in decision.finished] == [S.CANCELLED]


def test_news_of_the_pipeline_wins_over_the_timeout() -> None:
    stage = Stage()
    started = stage.ready(1).start
    assert started is not None
    late = ev.DeploymentStarted(id="s", deployment_id=started.id, pipeline_id="p1")
    decision = stage(late, after=timedelta(minutes=10))
    assert decision.finished == ()
    assert stage.state.current is not None and stage.state.current.deploy_pipeline_id == "p1"
    assert stage.gave_up().finished == ()  # and a late "not started" changes nothing


def test_a_newer_change_queued_meanwhile_goes_instead() -> None:
    stage = Stage()
    stage.ready(1)
    stage.ready(2)
    decision = stage.gave_up()
    assert [(d.change, d.state) for d in decision.finished] == [
        (change(1), S.CANCELLED),
        (change(1), S.SUPERSEDED),
    ]
    assert decision.start is not None and decision.start.change == change(2)
    [told] = [n for n in decision.notices if n.kind is NoticeKind.NOT_STARTED]
    assert "goes instead" in told.text


def test_without_supersede_the_change_keeps_its_place_at_the_head() -> None:
    stage = Stage(snapshot(policy=policy(supersede=False)))
    stage.ready(1)
    stage.ready(2)
    decision = stage.gave_up()
    assert decision.start is not None and decision.start.change == change(1)
    assert [d.change for d in stage.state.queue] == [change(2)]


def test_the_next_attempt_looks_for_a_promotion_triggered_after_the_last_one() -> None:
    stage = Stage()
    stage.ready(1)
    seen = datetime(2026, 11, 24, 10, 0, 3, tzinfo=UTC)
    again = stage.gave_up(at=seen).start
    assert again is not None and again.previous_trigger_at == seen
    assert stage.gave_up().start.previous_trigger_at == seen  # type: ignore[union-attr]


def test_a_rollback_that_did_not_start_stays_first_and_a_forced_one_waits_for_a_person() -> None:
    rollback = deployment(1, S.RUNNING, kind=DeploymentKind.ROLLBACK, force=True, started_at=T0)
    stage = Stage(snapshot(StageState(current=rollback, queue=(deployment(2),))))
    for _ in range(MAX_START_ATTEMPTS - 1):
        decision = stage.gave_up()
        assert decision.start is not None and decision.start.kind is DeploymentKind.ROLLBACK
    decision = stage.gave_up()
    assert decision.start is None  # the blocker holds it: force was the approver's, once
    assert [d.kind for d in stage.state.queue] == [
        DeploymentKind.ROLLBACK,
        DeploymentKind.ROLLFORWARD,
    ]


def test_an_emergency_that_never_starts_ends_and_says_so() -> None:
    emergency = deployment(1, S.RUNNING, kind=DeploymentKind.EMERGENCY, started_at=T0)
    stage = Stage(snapshot(StageState(current=emergency)))
    for _ in range(MAX_START_ATTEMPTS - 1):
        assert stage.gave_up().start is not None
    decision = stage.gave_up()
    assert decision.start is None and stage.state.queue == () and stage.state.blockers == ()
    [told] = [n for n in decision.notices if n.kind is NoticeKind.NOT_STARTED]
    assert "ask for it again" in told.text


def test_a_stage_waiting_for_a_pipeline_looks_again_soon_and_at_its_timeout() -> None:
    running = deployment(1, S.RUNNING, started_at=T0)
    state = StageState(current=running)
    assert next_wake(state, NoBoundaries(), T0) == T0 + timedelta(seconds=0.5)
    later = T0 + timedelta(minutes=4, seconds=55)
    assert next_wake(state, NoBoundaries(), later) == T0 + timedelta(minutes=5)
    confirmed = StageState(current=running.model_copy(update={"deploy_pipeline_id": "p"}))
    assert next_wake(confirmed, NoBoundaries(), T0) is None
