"""Timed work on APScheduler 3 (asyncio): each stage's next wake-up and the reconciliation job.

Nothing timed is stored in the scheduler: wake-ups are derived from the stage states in the
store (a bake's end, a blocker's expiry, the calendar's next boundary), so they survive
restarts by being re-armed at startup and after every decision. Two replicas arm the same
wake-ups; the tick's event id is the stage and the wake time, so the store applies it once.
The reconciliation job runs once per interval across replicas (a claim keyed by its slot), and
asks Semaphore only what the API budget and the projects' activity call for (`bot.core.
reconciling`); at startup it runs at once, unclaimed, the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from bot.config.models import DeploybotConfig
from bot.core.calendar import Calendar
from bot.core.decision import Decision
from bot.core.model import StageState
from bot.core.wake import next_wake
from bot.lifecycle import end_tasks
from bot.orchestrator import Orchestrator
from bot.service.budget import ApiBudget
from bot.slack.announcements import CATCH_UP, Announcer

log = logging.getLogger(__name__)
ANNOUNCE_EVERY = timedelta(seconds=30)


class Timers:
    def __init__(
        self,
        orchestrator: Orchestrator,
        config: DeploybotConfig,
        *,
        clock: Callable[[], datetime],
        scheduler: AsyncIOScheduler | None = None,
        budget: ApiBudget | None = None,
    ) -> None:
        self.orchestrator = orchestrator
        self.config = config
        self.clock = clock
        #: The Semaphore API budget the reconciliation spends what is left of (the runtime's
        #: is told of every call the Semaphore client sends).
        self.budget = budget or ApiBudget(
            orchestrator.stages.store, config.semaphore_api_budget, clock, config.reconcile_interval
        )
        self.scheduler = scheduler or AsyncIOScheduler(
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1}
        )
        self.calendars: dict[tuple[str, str], Calendar] = {
            (p.name, s.name): p.calendar(s.name) for p in config.projects for s in p.stages
        }
        self.start_timeouts: dict[tuple[str, str], timedelta] = {
            (p.name, s.name): s.start_timeout for p in config.projects for s in p.stages
        }
        self.interval = config.reconcile_interval
        self.idle_every = max(config.reconcile_idle, config.reconcile_interval)
        orchestrator.stages.listeners.append(self._rearm)
        #: Set when Slack is on: freeze announcements are checked every ANNOUNCE_EVERY.
        self.announcer: Announcer | None = None
        self._announced_until: datetime | None = None
        #: The jobs running now (a reconciliation, a wake-up, the announcements).
        self._running: set[asyncio.Task[object]] = set()
        self._stopping = False

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def start(self, reconcile: bool = True) -> None:
        self.scheduler.start()
        if reconcile:
            now = datetime.now(UTC)
            # At startup, reconcile at once and unclaimed: a replica that crashed may hold this
            # interval's claim, and its outbox must not wait for the next interval.
            self.scheduler.add_job(self._reconcile, "date", run_date=now, id="reconcile-startup")
            self.scheduler.add_job(
                self.reconcile,
                "interval",
                seconds=self.interval.total_seconds(),
                id="reconcile",
                replace_existing=True,
                next_run_time=now + self.interval,
            )
        if self.announcer is not None:
            self.scheduler.add_job(
                self.announce, "interval", seconds=ANNOUNCE_EVERY.total_seconds(), id="announce",
                replace_existing=True, next_run_time=datetime.now(UTC),
            )  # fmt: skip
        try:
            for project, stage in self.calendars:
                await self.arm(project, stage)
        except (RedisError, OSError) as exc:
            # Redis is down at start: serve anyway (health says 503); every reconciliation
            # decides each stage again, and its decisions re-arm the wake-ups.
            log.warning("wake-ups not armed, Redis is unavailable (%s); the next reconciliation "
                        "arms them", type(exc).__name__)  # fmt: skip

    @property
    def idle(self) -> bool:
        """No job (reconciliation, wake-up, announcements) is running now."""
        return not any(not task.done() for task in self._running)

    async def stop(self, within: float = 2.0) -> None:
        """Stop scheduling, and end the jobs running now before the clients they use close
        (bounded: see bot.lifecycle for why a cancellation is repeated)."""
        self._stopping = True
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await end_tasks(self._running, "timed work", within=within)

    @contextmanager
    def _job(self) -> Iterator[None]:
        """Around each job: known while it runs, and a cancellation by `stop` ends it quietly
        (APScheduler would log it as the job's error)."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self._stopping:
                raise
        finally:
            self._running.discard(task)

    async def arm(
        self, project: str, stage: str, state: StageState | None = None
    ) -> datetime | None:
        """Schedule the stage's next wake-up (replacing the one armed before)."""
        if state is None:
            state = await self.orchestrator.stages.store.load(project, stage)
        now = self.clock()
        key = (project, stage)
        wake = next_wake(state, self.calendars[key], now, self.start_timeouts[key])
        job_id = f"wake:{project}:{stage}"
        if wake is None:
            if self.scheduler.get_job(job_id):
                self.scheduler.remove_job(job_id)
            return None
        run_date = datetime.now(UTC) + (wake - now)  # the clock may be a scenario's
        job = self.scheduler.get_job(job_id)
        if job is not None and job.args[2] == wake and _near(job.next_run_time, run_date):
            return wake  # armed already (most decisions leave the wake-up where it was)
        self.scheduler.add_job(
            self.wake,
            "date",
            run_date=run_date,
            id=job_id,
            replace_existing=True,
            args=[project, stage, wake],
        )
        return wake

    async def wake(self, project: str, stage: str, at: datetime) -> None:
        with self._job():
            try:
                decision = await self.orchestrator.tick(project, stage, at)
            except Exception:
                log.exception("wake-up of %s/%s at %s failed", project, stage, at.isoformat())
                return
            if decision is None or not decision.changed:
                await self.arm(project, stage)

    async def reconcile(self) -> None:
        slot = int(self.clock().timestamp() // max(1, self.interval.total_seconds()))
        try:
            await self.budget.flush()  # every replica's calls count, whoever reconciles
            claimed = await self.orchestrator.stages.store.claim(
                f"job:reconcile:{slot}", self.interval
            )
        except (RedisError, OSError) as exc:
            log.warning("reconciliation skipped, Redis is unavailable (%s); next interval", exc)
            return
        if not claimed:
            return  # another replica reconciles this interval
        await self._reconcile()

    async def _reconcile(self) -> None:
        with self._job():
            try:
                left = await self.budget.left()
                await self.orchestrator.reconcile_within(left, self.idle_every)
                await self.budget.flush()
            except (RedisError, OSError) as exc:
                log.warning("reconciliation skipped, Redis is unavailable (%s); next interval", exc)
            except Exception:
                log.exception("reconciliation failed; the next interval tries again")

    async def announce(self) -> None:
        """Freeze announcements due since the last look. The first look after a start goes
        back CATCH_UP, posting what was missed while down as late (the announcer's claims make
        a repeat harmless)."""
        assert self.announcer is not None
        now = self.clock()
        late_before = None if self._announced_until else now - 2 * ANNOUNCE_EVERY
        since = self._announced_until or now - CATCH_UP
        with self._job():
            try:
                await self.announcer.announce(since, now, late_before=late_before)
                await self.announcer.digests(since, now)
                self._announced_until = now
            except Exception:
                log.exception("freeze announcements failed; the next run tries again")

    async def _rearm(self, project: str, stage: str, decision: Decision) -> None:
        if self.running:
            await self.arm(project, stage, decision.state)


def _near(scheduled: datetime | None, wanted: datetime) -> bool:
    return scheduled is not None and abs(scheduled - wanted) < timedelta(seconds=1)
