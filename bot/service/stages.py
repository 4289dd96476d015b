"""The stage service: the one place where events become applied decisions.

    handle(project, stage, event)
      load the stage -> snapshot (+ calendar blockers at now) -> decide -> apply atomically
      -> on a version conflict, load and decide again -> carry out the outbox

Effects other than `onward`, `recall`, `wave` and `tell` go to the `Effects` port (Semaphore);
notices (`tell`) go to the `Notices` port, all the notices of a pass in one call; `onward`,
`recall` and `wave` are handled here: the next step's stages get a ChangeReady (every later
stage a ChangeRecalled, every other target of a wave a SiblingFailed) whose id derives from the
effect's, so a replay is a duplicate there too. A target of a wave sends a change on only once
every target of the wave baked it (`bot.core.waves`): the last one to finish does.

Round trips: the service decides on the state it last wrote or read for a stage (optimistic:
the store refuses a decision made on a stale version, and the service then loads and decides
again), and when it drained a stage's outbox empty at the version it decides on, the outbox
after the write is exactly the new effects. An event therefore costs one write and one
acknowledgement of its effects, with no reads. Ticks, which are not written when nothing
changes, always decide on a freshly loaded state: another replica may have changed the stage.
Within `batch()` (the inbox worker's batch of events), carried-out effects are acknowledged
together when the batch ends: one round trip for all of its stages.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.core import events as ev
from bot.core import waves
from bot.core.decision import Decision, StageSnapshot
from bot.core.delivery import HISTORY_RETENTION
from bot.core.model import AuditEntry, Blocker, Change, Deployment, StagePolicy, StageState
from bot.core.rules import decide
from bot.errors import DeploybotError, EffectFailed
from bot.service.effects import (
    Effect,
    SendOnward,
    SendRecall,
    SendWave,
    Tell,
    decode,
    effects_of,
    encode,
)
from bot.store.base import Applied, Commit, Store

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 50
#: Events for which a stage without history of its own asks Semaphore for its last good (a
#: ready change only on a stage that never saw one: is it live there already?).
NEEDS_LAST_GOOD = (ev.DeploymentFinished, ev.AlarmFiring, ev.RollbackRequested, ev.ChangeReady)

CalendarBlockers = Callable[[str, str, datetime], Sequence[Blocker]]
#: Called after every applied decision (the timers re-arm the stage's wake-up from it).
Listener = Callable[[str, str, Decision], Awaitable[None]]
LastGoodLookup = Callable[[str, str], Awaitable[Deployment | None]]


class UnknownStage(DeploybotError, LookupError):
    def __init__(self, project: str, stage: str) -> None:
        super().__init__(f"no stage {stage!r} in project {project!r}")
        self.project, self.stage = project, stage


class StoreContention(DeploybotError):
    """The stage kept changing under us: the decision could not be applied."""


class Effects(Protocol):
    async def __call__(self, effect: Effect) -> None: ...


#: Hands notices over (to be told in Slack), all those of a drain pass at once.
Notices = Callable[[Sequence[Tell]], Awaitable[None]]


async def no_effects(effect: Effect) -> None:
    log.debug("effect without a handler: %s", effect.type)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _no_calendar(project: str, stage: str, now: datetime) -> Sequence[Blocker]:
    return ()


class StageService:
    def __init__(
        self,
        store: Store,
        pipelines: dict[str, list[StagePolicy]],
        *,
        calendar: CalendarBlockers = _no_calendar,
        last_good: LastGoodLookup | None = None,
        effects: Effects = no_effects,
        notices: Notices | None = None,
        clock: Callable[[], datetime] = utcnow,
        retention: timedelta = HISTORY_RETENTION,
    ) -> None:
        self.store = store
        self.pipelines = pipelines
        #: How long delivery records and changes are kept (`history_retention`).
        self.retention = retention
        self._calendar = calendar
        self.last_good = last_good
        self.effects = effects
        #: Without a port of their own, notices go to `effects` one by one.
        self.notices: Notices = notices or self._each_to_effects
        self.clock = clock
        #: The state this service last wrote or read per stage (see the module's docstring).
        self._known: dict[tuple[str, str], StageState] = {}
        #: Per stage, the version at which this service drained its outbox empty (apart from
        #: effects carried out but not yet acknowledged).
        self._empty_at: dict[tuple[str, str], int] = {}
        #: Effects carried out and not yet acknowledged (within a batch), per stage.
        self._unacked: dict[tuple[str, str], list[str]] = {}
        self._batches = 0
        self._draining: set[tuple[str, str]] = set()
        #: Stages whose outbox grew while they were being drained.
        self._more: set[tuple[str, str]] = set()
        self.listeners: list[Listener] = []

    def policy(self, project: str, stage: str) -> StagePolicy:
        for policy in self.pipelines.get(project, []):
            if policy.stage == stage:
                return policy
        raise UnknownStage(project, stage)

    def following(self, project: str, stage: str) -> list[StagePolicy]:
        """The stages a change goes on to from `stage` (the next step's: one, or a wave)."""
        return waves.following(self.pipelines[project], stage)

    async def snapshot(
        self,
        project: str,
        stage: str,
        event: ev.Event | None = None,
        state: StageState | None = None,
    ) -> StageSnapshot:
        """What `decide` sees: the stage's `state` (loaded when not given), its calendar now."""
        policy = self.policy(project, stage)
        if state is None:
            state = await self.store.load(project, stage)
        external = None
        if self.last_good and not state.good and isinstance(event, NEEDS_LAST_GOOD):
            if not isinstance(event, ev.ChangeReady):
                external = await self.last_good(project, stage)
            elif not state.seen:  # a stage that never saw a change (a new or wiped store)
                external = await self._live_if_known(project, stage)
        calendar = tuple(self._calendar(project, stage, self.clock()))
        return StageSnapshot(
            policy=policy, state=state, calendar=calendar, external_last_good=external
        )

    async def _live_if_known(self, project: str, stage: str) -> Deployment | None:
        """What Semaphore's history says is live on the stage, for a ready change; a change
        is never held up because Semaphore cannot say (it is then deployed as usual)."""
        assert self.last_good is not None
        try:
            return await self.last_good(project, stage)
        except Exception as exc:
            log.info("%s/%s: Semaphore's history unavailable (%s)", project, stage, exc)
            return None

    async def handle(
        self, project: str, stage: str, event: ev.Event, remember: Change | None = None
    ) -> Decision | None:
        """Apply `event` to the stage; None when it was applied before (a duplicate). With
        `remember`, that change is recorded among the project's changes with the decision
        (`Commit.change`)."""
        key = (project, stage)
        known = None if isinstance(event, ev.Tick) else self._known.get(key)
        for _ in range(MAX_ATTEMPTS):
            snapshot = await self.snapshot(project, stage, event, known)
            known = None  # after a conflict: load
            now = self.clock()
            decision = decide(snapshot, event, now)
            if isinstance(event, ev.Tick) and not decision.changed and not decision.notices:
                self._known[key] = snapshot.state  # freshly loaded
                return decision  # a quiet tick: nothing to write, nothing a replay could do
            commit = Commit(
                project=project,
                stage=stage,
                event_id=event.id,
                expected_version=snapshot.state.version,
                state=decision.state,
                finished=decision.finished,
                audit=_audit(project, stage, event, decision, now),
                effects=tuple(encode(e) for e in effects_of(decision, event.id, project, stage)),
                keep=self.retention,
                change=remember,
            )
            result = await self.store.apply(commit)
            if result is Applied.DUPLICATE:
                self._known.pop(key, None)  # applied elsewhere: what is known may be stale
                return None
            if result is Applied.CONFLICT:
                continue
            self._known[key] = decision.state
            # Nothing was written to the stage between the version decided on and this write,
            # so if its outbox was empty then, it now holds exactly the new effects.
            outbox = None
            if self._empty_at.get(key) == snapshot.state.version:
                outbox = list(commit.effects)
            for listener in self.listeners:
                await listener(project, stage, decision)
            if await self._drain(key, outbox) and self._known.get(key) is decision.state:
                self._empty_at[key] = decision.state.version
            return decision
        raise StoreContention(f"{project}/{stage}: gave up after {MAX_ATTEMPTS} conflicting writes")

    async def drain(self, project: str, stage: str) -> bool:
        """Carry out the stage's outbox in order; True when it is empty afterwards.

        Effects are acknowledged together once carried out (one round trip per pass), so a
        crash repeats the ones of the pass it interrupted; and two replicas draining one
        outbox may both carry an effect out. Every effect is safe to repeat: a
        promotion carries the deployment's request_token, onward and started events carry
        ids of their own, a notice is recorded once per effect id, and stopping a pipeline or
        (de)activating a target twice changes nothing. An effect that fails stays, with
        everything after it, for a later drain (the next event or reconciliation).
        An effect that applies an event to the same stage does not drain it again: the loop
        below picks up what that event added.
        """
        return await self._drain((project, stage)) is not False

    async def _drain(self, key: tuple[str, str], outbox: list[str] | None = None) -> bool | None:
        """`drain`, starting from `outbox` when it is known; None when a drain of the stage is
        already running (it picks up what was added), else whether the outbox is empty now."""
        if key in self._draining:
            self._more.add(key)  # the drain running below picks it up
            return None
        self._draining.add(key)
        try:
            self._more.discard(key)
            if outbox is None:
                outbox = await self._outbox(key)
            while True:
                if outbox:
                    done = await self._pass(outbox)
                    if done:
                        self._unacked.setdefault(key, []).extend(done)
                        if not self._batches:
                            await self.flush()
                    if len(done) < len(outbox):
                        return False
                if key not in self._more:
                    return True  # nothing was added since the outbox was read
                self._more.discard(key)
                outbox = await self._outbox(key)
        finally:
            self._draining.discard(key)

    async def _outbox(self, key: tuple[str, str]) -> list[str]:
        """The stage's outbox, less what this batch carried out already."""
        done = self._unacked.get(key, ())
        return [raw for raw in await self.store.outbox(*key) if raw not in done]

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Acknowledge the effects carried out within together, when the outermost batch ends.
        A crash before then repeats them, which every effect allows (see `drain`)."""
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if not self._batches:
                await self.flush()

    async def flush(self) -> None:
        """Acknowledge the effects carried out so far (one round trip)."""
        done, self._unacked = self._unacked, {}
        if done:
            await self.store.ack(done)

    async def _pass(self, outbox: list[str]) -> list[str]:
        """Carry out `outbox` in order until an effect fails; return the ones carried out.
        Notices in a row are handed over together."""
        done: list[str] = []
        told: list[tuple[str, Tell]] = []

        async def tell() -> bool:
            if told:
                try:
                    await self.notices([t for _, t in told])
                except Exception as exc:
                    _failed(told[0][1], exc)
                    return False
                done.extend(raw for raw, _ in told)
                told.clear()
            return True

        for raw in outbox:
            effect = decode(raw)
            if isinstance(effect, Tell):
                told.append((raw, effect))
                continue
            if not await tell() or not await self._carry_out(effect):
                return done
            done.append(raw)
        await tell()
        return done

    async def _each_to_effects(self, notices: Sequence[Tell]) -> None:
        for notice in notices:
            await self.effects(notice)

    async def _carry_out(self, effect: Effect) -> bool:
        try:
            if isinstance(effect, SendOnward):
                await self._send_onward(effect)
            elif isinstance(effect, SendRecall | SendWave):
                await self._send_failure(effect)
            else:
                await self.effects(effect)
        except Exception as exc:
            _failed(effect, exc)
            return False
        return True

    async def _send_onward(self, effect: SendOnward) -> None:
        """The next step's stages get the change, each promoted from the deploy pipeline of
        the stage it hangs off. From a target of a wave, only once every target baked it: the
        targets load each other's states, so the last one to finish its bake sends it (two
        finishing at once may both send it: the event ids are the same, one applies)."""
        project, stage, change = effect.project, effect.stage, effect.onward.change
        policies = self.pipelines[project]
        following = self.following(project, stage)
        if not following:
            return
        pipelines = {stage: effect.onward.previous_pipeline_id}
        event_id = effect.id
        wave = self.policy(project, stage).wave
        if wave:
            step = waves.steps(policies)[waves.step_of(policies, stage)]
            states = await self.store.load_many(project, [p.stage for p in step])
            if not waves.gate_open(step, states, change):
                log.debug("%s/%s: %s waits for its wave", project, stage, change.sha[:7])
                return
            pipelines = {p.stage: waves.baked(states[p.stage], change.sha) or "" for p in step}
            event_id = f"wave:{wave}:{change.sha}"  # the same from every target of the wave
        for policy in following:
            source = waves.source_stage(policies, policy)
            ready = ev.ChangeReady(
                id=event_id if len(following) == 1 and not wave else f"{event_id}>{policy.stage}",
                change=change,
                previous_pipeline_id=pipelines.get(source or "", ""),
            )
            await self.handle(project, policy.stage, ready)

    async def _send_failure(self, effect: SendRecall | SendWave) -> None:
        """The change failed here: every later stage hears of it (a recall: it failed after
        it went onward), or every other target of this stage's wave (it failed on this one)."""
        policies = self.pipelines[effect.project]
        told: type[ev.ChangeRecalled] | type[ev.SiblingFailed]
        if isinstance(effect, SendRecall):
            to, failure, told = (
                waves.later(policies, effect.stage),
                effect.recall,
                ev.ChangeRecalled,
            )
        else:
            to, failure, told = (
                waves.siblings(policies, effect.stage),
                effect.failure,
                ev.SiblingFailed,
            )
        for policy in to:
            event = told(
                id=f"{effect.id}>{policy.stage}",
                change=failure.change,
                from_stage=effect.stage,
                reason=failure.reason,
            )
            await self.handle(effect.project, policy.stage, event)


def _failed(effect: Effect, exc: Exception) -> None:
    if isinstance(exc, EffectFailed):  # expected: the outside world is down for now
        log.warning(
            "effect %s (%s) failed, it stays in the outbox: %s", effect.id, effect.type, exc
        )
    else:
        log.error(
            "effect %s (%s) failed; it stays in the outbox", effect.id, effect.type, exc_info=exc
        )


def _audit(
    project: str, stage: str, event: ev.Event, decision: Decision, now: datetime
) -> tuple[AuditEntry, ...]:
    actor = getattr(event, "by", None) or "deploybot"
    entries = [
        AuditEntry(
            at=now, project=project, stage=stage, actor=actor, action=event.type, detail=event.id
        )
    ]
    entries += [
        AuditEntry(
            at=now, project=project, stage=stage, actor=n.actor, action=n.kind, detail=n.text
        )
        for n in decision.notices
    ]
    return tuple(entries)
