"""The orchestrator: what deploybot does with news from outside and requests from people.

    inbox item (webhook, alert) -> events -> StageService.handle -> decisions -> effects
    reconcile(): poll Semaphore for what webhooks may have missed, tick every stage, and
                 carry out any effects a crash left in an outbox; a stage that fails is
                 logged and the others are reconciled all the same
    reconcile_within(): the periodic pass, asking Semaphore only about the projects the
                 API budget and their activity call for
    tick():      a stage's wake-up: look for the pipeline of a deployment Semaphore has not
                 confirmed yet, then let the rules look at the stage

People's requests (the Slack issue calls these) become events with ids of their own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta

from pydantic import ValidationError
from redis.exceptions import RedisError

from bot.adapters.semaphore import Semaphore, SemaphoreEffects
from bot.adapters.semaphore_events import (
    OUTCOMES,
    change_ready,
    deployment_finished,
    is_ci,
    is_project_ci,
    project_for,
    webhook_author,
)
from bot.adapters.semaphore_promotions import PERMANENT
from bot.config.models import DeploybotConfig, ProjectConfig
from bot.core import events as ev
from bot.core.decision import Decision
from bot.core.model import Blocker, BlockerKind, Change, Deployment, DeploymentState, StageState
from bot.core.reconciling import Look, cost, first_look, in_flight, plan
from bot.core.starts import TARGET_INACTIVE
from bot.errors import DeploybotError
from bot.metrics import Metrics
from bot.service.alerts import AlertmanagerPayload, UnmatchedAlert, alarm_events
from bot.service.requests import Refused, emergency_source_of
from bot.service.stages import StageService
from bot.store.inbox import InboxItem
from semaphore_client import (
    Pipeline,
    PipelineDoneEvent,
    PipelineResult,
    RateLimited,
    SemaphoreError,
    ServerError,
    TransportError,
)

log = logging.getLogger(__name__)

#: How far back reconciliation looks for CI pipelines that finished.
RECONCILE_LOOKBACK = timedelta(hours=6)
#: Semaphore's clock and ours may differ: the listing reads this much further back than the
#: start of the oldest running deployment it looks for.
LISTING_SLACK = timedelta(minutes=10)
#: At most this many alert names are logged as unmatched (a flood of names cannot fill memory).
UNMATCHED_LOG_LIMIT = 1000


class Orchestrator:
    def __init__(
        self,
        config: DeploybotConfig,
        stages: StageService,
        semaphore: Semaphore,
        effects: SemaphoreEffects,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.stages = stages
        self.semaphore = semaphore
        self.effects = effects
        self.metrics = metrics
        #: Alert names already logged as matching no stage (logged once each per process).
        self._unmatched_logged: set[str] = set()

    # -- news from outside ------------------------------------------------------------------

    async def process(self, item: InboxItem) -> None:
        """The inbox worker's `process`: an item that cannot be read is logged and dropped."""
        try:
            if item.kind == "semaphore":
                await self.on_pipeline_done(PipelineDoneEvent.from_body(item.payload))
            elif item.kind == "alertmanager":
                await self.on_alerts(AlertmanagerPayload.model_validate_json(item.payload))
            else:
                log.warning("inbox item %s has an unknown kind %r; dropped", item.id, item.kind)
        except (TransportError, ServerError, RateLimited):
            raise  # Semaphore is unreachable or busy for now: the item is retried later
        except (SemaphoreError, ValidationError) as exc:
            log.warning("inbox item %s (%s) unreadable, dropped: %s", item.id, item.kind, exc)

    async def on_pipeline_done(self, done: PipelineDoneEvent) -> None:
        project = project_for(self.config, done.project.name)
        if project is None:
            log.info(
                "pipeline %s of unconfigured project %r ignored",
                done.pipeline.ppl_id,
                done.project.name,
            )
            return
        pipeline = done.pipeline
        if done.workflow.initial_pipeline_id in ("", pipeline.ppl_id):
            # The workflow's initial (CI) pipeline: the webhook names its commit in `revision`
            # (and its tag or pull request: `revision.branch` is null for those).
            pipeline = pipeline.model_copy(
                update={
                    "commit_sha": pipeline.commit_sha or done.revision.commit_sha,
                    "commit_message": pipeline.commit_message or done.revision.commit_message,
                    "branch_name": pipeline.branch_name or done.revision.branch_name,
                    "wf_id": pipeline.wf_id or done.workflow.id,
                }
            )
            ready = change_ready(project, pipeline, webhook_author(done), done.repository.url)
            if ready is not None:
                await self._change_ready(project, ready)
            return
        # A promoted pipeline: the webhook does not say what it was promoted from.
        pipeline = await self.semaphore.client.get_pipeline(pipeline.ppl_id)
        await self._pipeline(project, pipeline)

    async def _change_ready(self, project: ProjectConfig, ready: ev.ChangeReady) -> None:
        """A change from a webhook. Its time orders it among the others, and a webhook gives
        whole seconds: two pushes in one second would tie, and a change reconciliation found
        (timed to the microsecond) would look newer than a later push. So the time is the one
        Semaphore describes. Semaphore unreachable: the item is tried again later; a pipeline
        Semaphore will not describe (404, 403) keeps the webhook's time rather than be lost."""
        try:
            described = await self.semaphore.client.get_pipeline(ready.change.ci_pipeline_id)
        except PERMANENT as exc:
            log.warning("CI pipeline %s: no exact time (%s); the webhook's whole second is used",
                        ready.change.ci_pipeline_id, exc)  # fmt: skip
            await self._ready(project, ready)
            return
        if described.created_at is not None:
            change = ready.change.model_copy(update={"created_at": described.created_at})
            ready = ready.model_copy(update={"change": change})
        await self._ready(project, ready)

    async def _ready(self, project: ProjectConfig, ready: ev.ChangeReady) -> None:
        """Its first stage decides (every target, when the first stage is a wave), and the
        change is remembered among the project's changes with the first one's decision (what
        later deployments ship is listed from them)."""
        for index, stage in enumerate(project.steps[0]):
            remember = ready.change if index == 0 else None
            await self.stages.handle(project.name, stage.name, ready, remember=remember)

    async def _pipeline(self, project: ProjectConfig, pipeline: Pipeline) -> None:
        ready = change_ready(project, pipeline)
        if ready is not None:
            await self._ready(project, ready)
            return
        if is_ci(pipeline) or not pipeline.is_done or pipeline.result is None:
            return
        states = await self.stages.store.load_many(project.name, project.stage_names)
        if await self._confirm_waiting(pipeline, states):
            states = await self.stages.store.load_many(project.name, project.stage_names)
        found = deployment_finished(pipeline, states)
        if found is not None:
            await self.stages.handle(project.name, *found)
            return
        if not any(_unconfirmed(s) for s in states.values()):  # else: not sure yet whose
            await self._outside(project, pipeline, states)

    async def _confirm_waiting(self, pipeline: Pipeline, states: dict[str, StageState]) -> bool:
        """A promoted pipeline finished while deployments promoted from its source wait for
        Semaphore to name their pipeline: ask Semaphore which promotion (by name) started
        which pipeline first, so the pipeline finishes its own deployment only, never
        another promotion's (issue 13 item 15). True when a deployment was looked at."""
        waiting = [
            deployment
            for deployment in map(_unconfirmed, states.values())
            if deployment is not None and deployment.source_pipeline_id == pipeline.promotion_of
        ]
        for deployment in waiting:
            try:
                await self.effects.confirm_started(deployment)
            except SemaphoreError as exc:  # reconciliation looks again
                log.warning("no news of %s's promotion: %s", deployment.id, exc)
        return bool(waiting)

    async def _outside(
        self, project: ProjectConfig, pipeline: Pipeline, states: dict[str, StageState]
    ) -> None:
        """A promoted pipeline no deployment of deploybot's claims: if a stage's promotion
        started it (a person in Semaphore's UI), the stage records it (issue 13 item 16)."""
        try:
            rows = await self.semaphore.client.list_promotions(pipeline.promotion_of)
        except SemaphoreError as exc:
            log.warning("which promotion started pipeline %s? %s", pipeline.ppl_id, exc)
            return
        row = next((r for r in rows if r.scheduled_pipeline_id == pipeline.ppl_id), None)
        stage = _stage_of_promotion(project, row.name) if row is not None else None
        if row is None or stage is None:
            log.debug("pipeline %s is no stage's deployment; ignored", pipeline.ppl_id)
            return
        state = states[stage]
        mine = [*([state.current] if state.current else []), *state.queue]
        mine += await self.stages.store.history(project.name, stage)
        if any(d.deploy_pipeline_id == pipeline.ppl_id for d in mine):
            return  # deploybot's own, done before (a repeated or late webhook)
        result = pipeline.result or PipelineResult.FAILED
        # The change's time is its workflow's (its push), as for every change: it orders
        # changes, and the deploy pipeline's own time would make it look newer than it is.
        try:
            created = (await self.semaphore.client.describe_workflow(pipeline.wf_id)).created_at
        except SemaphoreError:
            created = None
        change = Change(
            sha=pipeline.commit_sha,
            message=pipeline.commit_message,
            workflow_id=pipeline.wf_id,
            created_at=created or pipeline.created_at or self.stages.clock(),
        )
        event = ev.OutsideDeployment(
            id=f"outside:{pipeline.ppl_id}",
            change=change,
            source_pipeline_id=pipeline.promotion_of,
            pipeline_id=pipeline.ppl_id,
            promotion=row.name,
            by=row.triggered_by or "someone",
            outcome=OUTCOMES.get(result, "failed"),
        )
        log.info("%s/%s: pipeline %s was promoted outside deploybot (%s by %s)",
                 project.name, stage, pipeline.ppl_id, row.name, event.by)  # fmt: skip
        await self.stages.handle(project.name, stage, event)

    async def on_alerts(self, payload: AlertmanagerPayload) -> None:
        routing = alarm_events(payload, self.config)
        for unmatched in routing.unmatched:
            self._unmatched(unmatched)
        for project, stage, event in routing.events:
            await self.stages.handle(project, stage, event)

    def _unmatched(self, unmatched: UnmatchedAlert) -> None:
        """Count an alert that matches no stage; log it once per alert name, with its labels,
        so a typo in a label or a matcher shows up instead of an alarm that blocks nothing."""
        if self.metrics is not None:
            self.metrics.alert_unmatched()
        name = unmatched.alert.name
        if name in self._unmatched_logged or len(self._unmatched_logged) >= UNMATCHED_LOG_LIMIT:
            return
        self._unmatched_logged.add(name)
        log.warning(
            "alert %r matches no stage (%s); labels: %s; it blocks nothing (logged once per "
            "alert name, counted in deploybot_alerts_unmatched_total)",
            name, unmatched.why, dict(sorted(unmatched.alert.labels.items())),
        )  # fmt: skip

    # -- reconciliation -----------------------------------------------------------------------

    async def reconcile(
        self, now: datetime | None = None, ask: Collection[str] | None = None
    ) -> None:
        """Everything a lost webhook, a crash or a missed timer may have left undone. What
        goes wrong with one stage is logged, and the other stages are reconciled all the same
        (only an unavailable store ends the pass: nothing can be done without it). Semaphore
        is asked about the projects in `ask` (every project when None); every stage's outbox
        is drained and every stage ticked either way."""
        now = now or self.stages.clock()
        for project in self.config.projects:
            asking = ask is None or project.name in ask
            listed: dict[str, Pipeline | None] | None = None
            if asking:
                try:
                    listed = await self._reconcile_ci(project, now)
                except SemaphoreError as exc:
                    log.warning("reconciling %s: Semaphore answered %s", project.name, exc)
            for stage in project.stages:
                await self._reconcile_one(project, stage.name, now, asking, listed)

    async def reconcile_within(
        self, budget: int, idle_every: timedelta, now: datetime | None = None
    ) -> list[str]:
        """The periodic pass: Semaphore is asked about the projects `bot.core.reconciling`
        picks (in flight: every pass, at least every other one when the budget is tight;
        idle: once per `idle_every`, spread) as far as `budget` calls go; every stage is
        drained and ticked. Returns the projects asked about."""
        now = now or self.stages.clock()
        store = self.stages.store
        unknown = sum(not self.semaphore.knows_project(p.name) for p in self.config.projects)
        if unknown > 1:  # one listing of the organisation's projects, not a describe each
            try:
                await self.semaphore.learn_projects()
            except SemaphoreError as exc:
                log.warning("listing Semaphore's projects: %s; described one by one", exc)
        last = await store.reconciled()
        looks, first_seen = [], {}
        for project in self.config.projects:
            states = (await store.load_many(project.name, project.stage_names)).values()
            seen = last.get(project.name)
            if seen is None:
                seen = first_seen[project.name] = first_look(project.name, now, idle_every)
            calls = cost(states) + (0 if self.semaphore.knows_project(project.name) else 1)
            looks.append(Look(project.name, in_flight(states), calls, seen))
        ask = plan(looks, now, idle_every, budget, self.config.reconcile_interval)
        await self.reconcile(now, ask=set(ask))
        await store.mark_reconciled({**first_seen, **dict.fromkeys(ask, now)})
        return ask

    async def _reconcile_one(
        self,
        project: ProjectConfig,
        stage: str,
        now: datetime,
        asking: bool = True,
        listed: dict[str, Pipeline | None] | None = None,
    ) -> None:
        try:
            if asking:
                await self._reconcile_stage(project, stage, listed)
        except SemaphoreError as exc:
            log.warning("reconciling %s/%s: Semaphore answered %s", project.name, stage, exc)
        except (RedisError, OSError):
            raise
        except Exception:
            log.exception("reconciling %s/%s failed; the other stages go on", project.name, stage)
        try:
            await self.stages.drain(project.name, stage)
            await self._tick(project.name, stage, now)
        except (RedisError, OSError):
            raise
        except Exception:
            log.exception("ticking %s/%s failed; the other stages go on", project.name, stage)

    async def _reconcile_ci(
        self, project: ProjectConfig, now: datetime
    ) -> dict[str, Pipeline | None]:
        """The newest CI pipeline that passed on the deploy branch (older ones it supersedes;
        with `supersede: false` on the first stage, every one in the lookback). Another
        pipeline file run on that branch (a scheduled nightly build) is passed over.

        The same listing (pipelines done lately, newest first) also shows which deploy
        pipelines of the project's running deployments are done: each is returned by id with
        the pipeline, or None when it is not done, so a running deployment costs no call of its
        own (issue 19). It reads on until it has seen them all or pipelines made before the
        oldest of them started."""
        project_id = await self.semaphore.project_id(project.name)
        every = not project.stages[0].supersede
        waiting = await self._waiting(project, now)
        oldest = min(waiting.values(), default=None)
        pipelines = self.semaphore.client.iter_pipelines(
            project_id, branch_name=project.branch, done_after=now - RECONCILE_LOOKBACK
        )
        passed: list[Pipeline] = []
        listed: dict[str, Pipeline | None] = dict.fromkeys(waiting)
        found, ci_found = 0, False
        async for pipeline in pipelines:
            if pipeline.ppl_id in waiting:
                listed[pipeline.ppl_id] = pipeline
                found += 1
            elif (
                not ci_found
                and not pipeline.promotion_of
                and pipeline.passed
                and is_project_ci(project, pipeline)
            ):
                passed.append(pipeline)
                ci_found = not every
            made = pipeline.created_at
            older = oldest is None or (made is not None and made < oldest - LISTING_SLACK)
            if ci_found and (found == len(waiting) or older):
                break
        if passed:
            first = await self.stages.store.load(project.name, project.stages[0].name)
            for pipeline in passed:
                if pipeline.commit_sha not in first.seen:  # its webhook was lost
                    self._recovered("ci", pipeline, now)
        for pipeline in reversed(passed):
            await self._pipeline(project, pipeline)
        return listed

    async def _waiting(self, project: ProjectConfig, now: datetime) -> dict[str, datetime]:
        """The deploy pipelines running deployments wait for, with when each started; those
        that started before the listing's reach are described one by one instead."""
        states = await self.stages.store.load_many(project.name, project.stage_names)
        reach = now - RECONCILE_LOOKBACK + LISTING_SLACK
        return {
            d.deploy_pipeline_id: started
            for d in (s.current for s in states.values())
            if d is not None and d.state is DeploymentState.RUNNING and d.deploy_pipeline_id
            and (started := d.started_at or d.created_at) > reach
        }  # fmt: skip

    async def _reconcile_stage(
        self, project: ProjectConfig, stage: str, listed: dict[str, Pipeline | None] | None = None
    ) -> None:
        """`listed`: the deploy pipelines `_reconcile_ci` looked for, by id, done or None (None
        for all: it could not look). A running deployment's pipeline not among them is
        described."""
        state = await self.stages.store.load(project.name, stage)
        await self._lift_if_target_active(project, stage, state)
        for stopped in state.stopping:  # a lost webhook of a pipeline deploybot stopped
            await self._pipeline(
                project, await self.semaphore.client.get_pipeline(stopped.deploy_pipeline_id)
            )
        current = state.current
        if current is None or current.state is not DeploymentState.RUNNING:
            return
        if not current.deploy_pipeline_id:
            # Its pipeline is looked up among the promotions; whether that pipeline is done,
            # the next pass's listing says (a pipeline that just started rarely is).
            await self.effects.confirm_started(current)
            return
        pipeline_id = current.deploy_pipeline_id
        listed_as = listed.get(pipeline_id) if listed is not None else None
        if listed is not None and pipeline_id in listed and listed_as is None:
            return  # the listing would show it done: it still runs
        pipeline = listed_as or await self.semaphore.client.get_pipeline(pipeline_id)
        if pipeline.is_done:  # and the stage still had it running: its webhook was lost
            self._recovered("deploy", pipeline, self.stages.clock())
        await self._pipeline(project, pipeline)

    def _recovered(self, kind: str, pipeline: Pipeline, now: datetime) -> None:
        if self.metrics is not None and pipeline.done_at is not None:
            self.metrics.webhook_recovered(kind, (now - pipeline.done_at).total_seconds())

    async def _lift_if_target_active(
        self, project: ProjectConfig, stage: str, state: StageState
    ) -> None:
        """The blocker of a deactivated deployment target lifts once Semaphore shows the
        target active again (issue 13 item 6)."""
        held = next((b for b in state.blockers if b.id == TARGET_INACTIVE), None)
        if held is None:
            return
        name = project.stage(stage).target
        found = await self.semaphore.client.find_deployment_target(
            await self.semaphore.project_id(project.name), name
        )
        if found is None or found.cordoned:
            return
        since = held.created_at.isoformat()
        event = ev.BlockerLifted(
            id=f"target-active:{since}", blocker_id=TARGET_INACTIVE, by="semaphore"
        )
        log.info("%s/%s: deployment target %s is active again", project.name, stage, name)
        await self.stages.handle(project.name, stage, event)

    async def tick(self, project: str, stage: str, at: datetime) -> Decision | None:
        """A stage's wake-up: first, for a deployment Semaphore has not confirmed, a look at
        what became of its promotion; then the rules look at the stage at `at` (which ends a
        deployment still without a pipeline at its `start_timeout`)."""
        waiting = _unconfirmed(await self.stages.store.load(project, stage))
        if waiting is not None:
            try:
                await self.effects.confirm_started(waiting)
            except SemaphoreError as exc:
                log.warning("%s/%s: no news of %s: %s", project, stage, waiting.id, exc)
        return await self._tick(project, stage, at)

    async def _tick(self, project: str, stage: str, at: datetime) -> Decision | None:
        return await self.stages.handle(
            project, stage, ev.Tick(id=f"tick:{project}:{stage}:{at.isoformat()}")
        )

    # -- requests from people (the Slack issue calls these) -----------------------------------

    async def block(
        self, project: str, stage: str, by: str, reason: str, until: datetime | None = None
    ) -> Decision | None:
        return await self._add_blocker(project, stage, BlockerKind.MANUAL, by, reason, None, until)

    async def freeze(
        self, project: str, stage: str, by: str, reason: str, start: datetime, end: datetime
    ) -> Decision | None:
        return await self._add_blocker(project, stage, BlockerKind.FREEZE, by, reason, start, end)

    async def _add_blocker(
        self,
        project: str,
        stage: str,
        kind: BlockerKind,
        by: str,
        reason: str,
        starts_at: datetime | None,
        until: datetime | None,
    ) -> Decision | None:
        now = self.stages.clock()
        blocker = Blocker(id=_short_id(), kind=kind, reason=reason, author=by, created_at=now,
                          starts_at=starts_at, until=until)  # fmt: skip
        event = ev.BlockerAdded(id=f"{kind}:{blocker.id}", blocker=blocker)
        return await self.stages.handle(project, stage, event)

    async def unblock(
        self,
        project: str,
        stage: str,
        by: str,
        blocker_id: str,
        request_id: str | None = None,
        shown: ev.Shown | None = None,
    ) -> Decision | None:
        """`request_id` names the click or command, so repeating it acts once; `shown`, what
        the clicked message showed (it lifts only that blocker, not a later one of that id)."""
        since = shown.blocker_since.isoformat() if shown and shown.blocker_since else ""
        event = ev.BlockerLifted(
            id=f"unblock:{blocker_id}:{since}:{request_id or _short_id()}",
            blocker_id=blocker_id,
            by=by,
            shown=shown,
        )
        return await self.stages.handle(project, stage, event)

    async def approve_rollback(
        self, project: str, stage: str, by: str, request_id: str, shown: ev.Shown | None = None
    ) -> Decision | None:
        """`request_id` names the click (the alert's message), so a double click acts once;
        `shown`, what the alert showed (a stale one approves nothing)."""
        event = ev.RollbackApproved(id=f"approve:{request_id}", by=by, shown=shown)
        return await self.stages.handle(project, stage, event)

    async def approve(
        self, project: str, stage: str, by: str, deployment_id: str, request_id: str
    ) -> Decision | None:
        """An approval of the roll-forward waiting on `stage` (issue 16); `request_id` names
        the click or command: each is a request of its own, so a repeated click is refused
        by the rules (the same person), not lost."""
        event = ev.ApprovalGiven(id=f"approval:{request_id}", deployment_id=deployment_id, by=by)
        return await self.stages.handle(project, stage, event)

    async def reject(
        self, project: str, stage: str, by: str, deployment_id: str, reason: str, request_id: str
    ) -> Decision | None:
        event = ev.ApprovalRejected(
            id=f"reject:{request_id}", deployment_id=deployment_id, by=by, reason=reason
        )
        return await self.stages.handle(project, stage, event)

    async def dismiss_rollback(
        self, project: str, stage: str, by: str, request_id: str, shown: ev.Shown | None = None
    ) -> Decision | None:
        event = ev.RollbackDismissed(id=f"dismiss:{request_id}", by=by, shown=shown)
        return await self.stages.handle(project, stage, event)

    async def rollback(
        self,
        project: str,
        stage: str,
        by: str,
        reason: str,
        to_sha: str | None = None,
        force: bool = False,
        request_id: str | None = None,
        shown: ev.Shown | None = None,
    ) -> Decision | None:
        """`shown`: what the confirming modal showed (the stage moved on since: nothing)."""
        event = ev.RollbackRequested(
            id=f"rollback:{request_id or _short_id()}",
            by=by,
            reason=reason,
            to_sha=to_sha,
            force=force,
            shown=shown,
        )
        return await self.stages.handle(project, stage, event)

    async def reset(
        self, project: str, stage: str, by: str, reason: str, request_id: str, shown: ev.Shown
    ) -> Decision | None:
        """Forget the running deployment `shown` names (`/deploy reset`); None when
        `request_id` (the modal) was handled before."""
        event = ev.ResetRequested(id=f"reset:{request_id}", by=by, reason=reason, shown=shown)
        return await self.stages.handle(project, stage, event)

    async def pipeline_news(self, pipeline_id: str) -> str:
        """What Semaphore says of a pipeline, in words, for a person deciding on a reset."""
        if not pipeline_id:
            return "Semaphore shows no pipeline for it"
        try:
            pipeline = await self.semaphore.client.get_pipeline(pipeline_id)
        except SemaphoreError as exc:
            return f"Semaphore did not answer about pipeline {pipeline_id} ({exc})"
        if pipeline.is_done:
            result = pipeline.result.value if pipeline.result else "ended"
            return f"Semaphore says its pipeline is done: {result}"
        return f"Semaphore says its pipeline is still {pipeline.state.value}"

    async def emergency(
        self,
        project: str,
        stage: str,
        sha: str,
        by: str,
        reason: str,
        request_id: str | None = None,
    ) -> Decision | None:
        """Deploy `sha` to `stage` now, past every blocker; its CI pipeline is looked up.
        None when no CI pipeline of it passed, or when `request_id` was handled before."""
        change = await self.ci_change(project, sha)
        if change is None:
            return None
        return await self.emergency_of(project, stage, change, by, reason, request_id)

    async def ci_change(self, project: str, sha: str) -> Change | None:
        """The change of commit `sha` (a prefix will do) whose CI pipeline passed on the
        deploy branch, from Semaphore; None when there is none."""
        config = self.config.project(project)
        project_id = await self.semaphore.project_id(project)
        async for pipeline in self.semaphore.client.iter_pipelines(
            project_id, branch_name=config.branch
        ):
            if pipeline.promotion_of or not pipeline.commit_sha.startswith(sha.lower()):
                continue
            if not pipeline.passed or not is_project_ci(config, pipeline):  # e.g. a nightly
                continue
            return Change(
                sha=pipeline.commit_sha,
                message=pipeline.commit_message,
                workflow_id=pipeline.wf_id,
                ci_pipeline_id=pipeline.ppl_id,
                created_at=pipeline.created_at or self.stages.clock(),
            )
        return None

    async def ci_state(self, project: str, sha: str) -> str:
        """What Semaphore says of commit `sha`'s CI (a prefix will do) on the deploy branch,
        in words: passed, failed, still running, or none ran."""
        config = self.config.project(project)
        project_id = await self.semaphore.project_id(project)
        async for pipeline in self.semaphore.client.iter_pipelines(
            project_id, branch_name=config.branch
        ):
            if pipeline.promotion_of or not pipeline.commit_sha.startswith(sha.lower()):
                continue
            if not is_project_ci(config, pipeline):
                continue
            if pipeline.passed:
                return "its CI pipeline passed"
            if not pipeline.is_done:
                return f"its CI pipeline is still {pipeline.state.value}"
            result = pipeline.result.value if pipeline.result else "ended"
            return f"its CI pipeline {result}"
        return f"no CI pipeline of it ran on {config.branch}"

    async def emergency_of(
        self,
        project: str,
        stage: str,
        change: Change,
        by: str,
        reason: str,
        request_id: str | None = None,
    ) -> Decision | None:
        """Deploy `change` (see `ci_change`) to `stage` now; None when `request_id` was
        handled before. Raises EmergencyRefused when Semaphore has nothing to promote it from
        (bot.core.emergency)."""
        source = await emergency_source_of(self.stages, self.config.project(project), stage, change)
        if isinstance(source, Refused):
            raise EmergencyRefused(source.text)
        event = ev.EmergencyRequested(
            id=f"emergency:{request_id or _short_id()}",
            change=change,
            source_pipeline_id=source,
            by=by,
            reason=reason,
        )
        return await self.stages.handle(project, stage, event)

    async def states(self, project: str) -> dict[str, StageState]:
        return await self.stages.store.load_many(project, self.config.project(project).stage_names)


class EmergencyRefused(DeploybotError):
    """An emergency deployment that Semaphore could not start: the sentence says why."""


def _short_id() -> str:
    return uuid.uuid4().hex[:8]


def _stage_of_promotion(project: ProjectConfig, promotion: str) -> str | None:
    """The stage whose deployments (or rollbacks) Semaphore runs for `promotion`."""
    for stage in project.stages:
        emergency = stage.emergency.promotion if stage.emergency else None
        if promotion in (stage.promotion, stage.rollback.promotion, emergency):
            return stage.name
    return None


def _unconfirmed(state: StageState) -> Deployment | None:
    """The stage's running deployment, while Semaphore has not shown its pipeline."""
    current = state.current
    running = current is not None and current.state is DeploymentState.RUNNING
    return current if running and current is not None and not current.deploy_pipeline_id else None
