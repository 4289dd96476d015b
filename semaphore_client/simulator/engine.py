"""The simulated Plumber: pipeline lifecycles, serialized queues and auto-cancel.

A discrete-event simulation. Each pipeline goes ``initializing -> pending -> queuing ->
running -> (stopping) -> done``; time-outs (and Gofer's steps, see ``triggers.py``) are
timers on a heap, fired in time order, each change stamped with the time it was due (not the
time it was noticed). Every public call first catches up with the clock, so answers are the
same whether a background task or a manual clock moves time.
"""

from __future__ import annotations

import heapq
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from semaphore_client.simulator.clock import Clock
from semaphore_client.simulator.promoter import Promoter
from semaphore_client.simulator.records import (
    QUEUED_STATES,
    SIM_USER_ID,
    QueueInfo,
    Scripts,
    SimPipeline,
    SimPromotion,
    SimTarget,
    SimWorkflow,
    event_record,
    when_context,
)
from semaphore_client.simulator.triggers import GoferTimes
from semaphore_client.simulator.world import PipelineDef, QueueDef, World, stable_id

DoneListener = Callable[[SimPipeline], None]
#: The states Plumber counts against a queue's limit (plumber schedule_limit).
LIMITED_STATES = frozenset({"pending", "queuing", "running"})
#: Seconds between two polls of a `waits_for` job.
WAIT_POLL = 0.2


class Engine:
    def __init__(
        self,
        world: World,
        clock: Clock,
        default_duration: float = 1.0,
        gofer: GoferTimes | None = None,
        stop_delay: float = 0.3,
    ) -> None:
        self.world = world
        #: How long a terminated running pipeline stays `stopping` before `done/stopped` (its
        #: jobs' epilogues); a stopping pipeline no longer holds its serialized queue.
        self.stop_delay = stop_delay
        self.clock = clock
        self.default_duration = default_duration
        self.gofer = gofer or GoferTimes()
        self.done_listeners: list[DoneListener] = []
        self.on_timer_added: Callable[[], None] = lambda: None
        self.reset()

    def reset(self) -> None:
        """Back to the world as loaded: no workflows, no events, world outcomes only."""
        self.now = self.clock.now()
        self.workflows: dict[str, SimWorkflow] = {}
        self.pipelines: dict[str, SimPipeline] = {}
        self.promotions: list[SimPromotion] = []
        self.events: list[dict[str, Any]] = []
        self._stop_reasons: dict[str, str] = {}
        self.scripts = Scripts(self.default_duration, list(self.world.outcomes))
        self.targets: dict[str, SimTarget] = {}
        for project in self.world.projects:
            for spec in project.deployment_targets:
                target_id = stable_id("target", project.name, spec.name)
                self.targets[target_id] = SimTarget(
                    target_id, spec, project, self.now, self.now, cordoned=not spec.active
                )
        self._queues: dict[tuple[str, str, str], list[SimPipeline]] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        self._reruns: dict[str, str] = {}
        self._timers: list[tuple[float, int, str, str, int]] = []
        self._calls: dict[int, Callable[[], None]] = {}
        self._counter = itertools.count()
        self.promoter = Promoter(self)

    # Time

    def catch_up(self) -> None:
        """Fire every timer due by the clock's now; API calls then act at that moment."""
        self.run_until(self.clock.now())

    def run_until(self, moment: float) -> None:
        self.settle()
        while self._timers and self._timers[0][0] <= moment:
            due, _, ppl_id, kind, generation = heapq.heappop(self._timers)
            self.now = max(self.now, due)
            if kind == "call":
                self._calls.pop(generation)()
                self.settle()
                continue
            pipeline = self.pipelines[ppl_id]
            if pipeline.generation == generation:
                self._fire(pipeline, kind)
                self.settle()
        self.now = max(self.now, moment)

    def next_due(self) -> float | None:
        return self._timers[0][0] if self._timers else None

    def later(self, delay: float, action: Callable[[], None]) -> None:
        """Call `action` once the clock reaches now + `delay` (in order with every timer)."""
        number = next(self._counter)
        self._calls[number] = action
        heapq.heappush(self._timers, (self.now + delay, number, "", "call", number))
        self.on_timer_added()

    def _after(self, pipeline: SimPipeline, delay: float, kind: str) -> None:
        entry = (self.now + delay, next(self._counter), pipeline.ppl_id, kind, pipeline.generation)
        heapq.heappush(self._timers, entry)
        self.on_timer_added()

    def _fire(self, pipeline: SimPipeline, kind: str) -> None:
        if kind == "queue":
            self._set_state(pipeline, "queuing")
            self._dirty.add(pipeline.queue.key)
        elif kind == "wait":
            self._run(pipeline)
        elif kind == "finish":
            outcome = pipeline.outcome
            if outcome.result == "passed" and self._waiting_on(pipeline):
                self._after(pipeline, WAIT_POLL, "finish")  # it checks again before it ends
                return
            self.finish(pipeline, outcome.result, outcome.result_reason)
        elif kind == "stopped":
            self.finish(pipeline, "stopped", self._stop_reasons.pop(pipeline.ppl_id, "user"))

    # Events

    def emit(self, kind: str, **fields: Any) -> None:
        self.events.append(event_record(len(self.events) + 1, self.now, kind, **fields))

    def _emit_pipeline(self, pipeline: SimPipeline) -> None:
        self.emit(
            "pipeline",
            pipeline_id=pipeline.ppl_id,
            workflow_id=pipeline.workflow.wf_id,
            pipeline_file=pipeline.path,
            commit_sha=pipeline.workflow.commit_sha,
            branch=pipeline.workflow.branch_name,
            state=pipeline.state,
            result=pipeline.result,
            result_reason=pipeline.result_reason,
            promotion_of=pipeline.promotion_of or None,
            triggered_by=pipeline.trigger,
            queue=pipeline.queue.name,
        )

    # Workflows

    def start_workflow(
        self,
        project_name: str,
        *,
        branch: str = "main",
        tag: str = "",
        pull_request: str = "",
        commit_sha: str | None = None,
        commit_message: str = "",
        pipeline_file: str | None = None,
        triggered_by: int = 0,
        rerun_of: str = "",
        files: dict[str, PipelineDef] | None = None,
        author: str = "simulator",
    ) -> tuple[SimWorkflow, SimPipeline]:
        """A new workflow and its initial pipeline (a push, an API run, or a rerun); for a
        `tag`, `branch` is ignored; for a `pull_request` (its number) it is the head branch."""
        project = self.world.project(project_name)
        if project is None:
            raise KeyError(project_name)
        path = pipeline_file or project.pipeline_file
        if path not in project.pipelines and path not in (files or {}):
            raise KeyError(path)
        workflow = SimWorkflow(
            wf_id=str(uuid.uuid4()),
            project=project,
            branch="" if tag else branch,
            tag=tag,
            pull_request="" if tag else pull_request,
            commit_sha=commit_sha or uuid.uuid4().hex + uuid.uuid4().hex[:8],
            commit_message=commit_message,
            created_at=self.now,
            triggered_by=triggered_by,
            rerun_of=rerun_of,
            hook_id=str(uuid.uuid4()),
            files=dict(files or {}),
            author=author,
        )
        self.workflows[workflow.wf_id] = workflow
        pipeline = self.create_pipeline(workflow, path)
        workflow.initial_ppl_id = pipeline.ppl_id
        self.settle()
        return workflow, pipeline

    def reschedule(self, original: SimWorkflow, request_token: str) -> SimWorkflow:
        """Rerun a workflow; the same ``request_token`` answers the same rerun."""
        if request_token in self._reruns:
            return self.workflows[self._reruns[request_token]]
        rerun, _ = self.start_workflow(
            original.project.name,
            branch=original.branch,
            tag=original.tag,
            pull_request=original.pull_request,
            commit_sha=original.commit_sha,
            commit_message=original.commit_message,
            triggered_by=original.triggered_by,
            rerun_of=original.wf_id,
            files=original.files,
            author=original.author,
        )
        self._reruns[request_token] = rerun.wf_id
        return rerun

    def terminate_workflow(self, wf_id: str) -> int:
        running = [p for p in self.pipelines.values() if p.workflow.wf_id == wf_id and not p.done]
        for pipeline in running:
            self.terminate(pipeline)
        self.settle()
        return len(running)

    # Pipelines

    def create_pipeline(
        self,
        workflow: SimWorkflow,
        path: str,
        *,
        trigger: str = "workflow",
        promotion_of: str = "",
        triggerer_id: str = "",
        env_vars: dict[str, str] | None = None,
    ) -> SimPipeline:
        spec = workflow.spec(path)
        context = when_context(workflow, path)
        pipeline = SimPipeline(
            ppl_id=str(uuid.uuid4()),
            workflow=workflow,
            path=path,
            spec=spec,
            queue=self._queue_for(workflow, path, spec, context),
            outcome=self.scripts.outcome_for(path, workflow.commit_sha),
            created_at=self.now,
            seq=next(self._counter),
            trigger=trigger,
            promotion_of=promotion_of,
            triggerer_id=triggerer_id or SIM_USER_ID,
            switch_id=str(uuid.uuid4()) if spec.promotions else "",
            cancel_strategy=_strategy(spec, context),
            fail_fast=_fail_fast(spec, context),
            env_vars=dict(env_vars or {}),
        )
        self.pipelines[pipeline.ppl_id] = pipeline
        self._queues.setdefault(pipeline.queue.key, []).append(pipeline)
        pipeline.times["created"] = self.now
        self._emit_pipeline(pipeline)
        self._set_state(pipeline, "pending")
        self._auto_cancel(pipeline)
        if pipeline.outcome.pending > 0:
            self._after(pipeline, pipeline.outcome.pending, "queue")
        else:
            self._set_state(pipeline, "queuing")
        self._dirty.add(pipeline.queue.key)
        return pipeline

    def terminate(self, pipeline: SimPipeline, reason: str = "user", by: str = "") -> None:
        """Stop a running pipeline (``stopped``) or cancel one not started (``canceled``)."""
        if pipeline.done or pipeline.state == "stopping":
            return
        pipeline.terminate_request = "stop"
        pipeline.terminated_by = by or (SIM_USER_ID if reason == "user" else "")
        if pipeline.state == "running":
            self._set_state(pipeline, "stopping")
            if self.stop_delay <= 0:
                self.finish(pipeline, "stopped", reason)
                return
            self._stop_reasons[pipeline.ppl_id] = reason
            self._after(pipeline, self.stop_delay, "stopped")
            self._dirty.add(pipeline.queue.key)  # as in Plumber: the queue moves on
        else:
            self.finish(pipeline, "canceled", reason)

    def finish(self, pipeline: SimPipeline, result: str, reason: str) -> None:
        pipeline.result, pipeline.result_reason = result, reason
        self._set_state(pipeline, "done")
        self._dirty.add(pipeline.queue.key)
        self.promoter.after_done(pipeline)
        for listener in self.done_listeners:
            listener(pipeline)

    def settle(self) -> None:
        """Start whatever the queues touched since the last call now allow."""
        while self._dirty:
            self._dispatch(self._dirty.pop())

    def _set_state(self, pipeline: SimPipeline, state: str) -> None:
        pipeline.state = state
        pipeline.generation += 1
        pipeline.times[state] = self.now
        self._emit_pipeline(pipeline)

    def _dispatch(self, key: tuple[str, str, str]) -> None:
        members = [p for p in self._queues.get(key, []) if not p.done]
        self._queues[key] = members
        if not members:
            return
        active = [p for p in members if p.state != "stopping"]
        if not active:
            return
        waiting = active if active[0].queue.parallel else active[:1]
        for pipeline in waiting:
            if pipeline.state == "queuing":
                self._set_state(pipeline, "running")
                self._run(pipeline)

    def _run(self, pipeline: SimPipeline) -> None:
        """A running pipeline's work: first its `waits_for` poll, as long as it must wait
        (polling again every WAIT_POLL), then its run time; a job that would pass checks
        again before it ends."""
        if self._waiting_on(pipeline):
            self._after(pipeline, WAIT_POLL, "wait")
        else:
            self._after(pipeline, _run_time(pipeline), "finish")

    def _waiting_on(self, pipeline: SimPipeline) -> bool:
        """A `waits_for` pipeline whose awaited file has a pipeline not done in its project."""
        awaited = pipeline.spec.waits_for
        if not awaited:
            return False
        project = pipeline.workflow.project.id
        return any(
            other is not pipeline
            and not other.done
            and other.path == awaited
            and other.workflow.project.id == project
            for other in self.pipelines.values()
        )

    def queued_in(self, workflow: SimWorkflow, path: str) -> int:
        """How many pipelines Plumber counts against the limit of the queue a new pipeline
        of `path` in `workflow` would join."""
        spec = workflow.spec(path)
        key = self._queue_for(workflow, path, spec, when_context(workflow, path)).key
        members = self._queues.get(key, [])
        return sum(1 for p in members if p.state in LIMITED_STATES)

    def _auto_cancel(self, newer: SimPipeline) -> None:
        """The newer pipeline's strategy stops/cancels older ones of the same queue."""
        if newer.cancel_strategy is None:
            return
        for older in list(self._queues[newer.queue.key]):
            if older is newer or older.done or older.seq > newer.seq:
                continue
            if older.state in QUEUED_STATES or newer.cancel_strategy == "stop":
                self.terminate(older, "strategy")

    def _queue_for(
        self, workflow: SimWorkflow, path: str, spec: PipelineDef, context: dict[str, str]
    ) -> QueueInfo:
        chosen = _choose_queue(spec, context)
        scope = (chosen.scope if chosen else None) or "project"
        name = chosen.name if chosen and chosen.name else f"{workflow.label}-{path}"
        owner = workflow.project.id if scope == "project" else self.world.organization_id
        key = (scope, owner, name)
        return QueueInfo(
            key=key,
            name=name,
            scope=scope,
            user_generated=bool(chosen and chosen.name),
            parallel=bool(chosen and chosen.processing == "parallel"),
            queue_id=stable_id("queue", *key),
        )


def _choose_queue(spec: PipelineDef, context: dict[str, str]) -> QueueDef | None:
    if spec.queue is None or isinstance(spec.queue, QueueDef):
        return spec.queue
    return next((q for q in spec.queue if q.when is None or q.when.holds(context)), None)


def _strategy(spec: PipelineDef, context: dict[str, str]) -> str | None:
    rules = spec.auto_cancel
    if rules and rules.running and rules.running.when.holds(context):
        return "stop"
    if rules and rules.queued and rules.queued.when.holds(context):
        return "cancel"
    return None


def _fail_fast(spec: PipelineDef, context: dict[str, str]) -> str | None:
    rules = spec.fail_fast
    if rules and rules.stop and rules.stop.when.holds(context):
        return "stop"
    if rules and rules.cancel and rules.cancel.when.holds(context):
        return "cancel"
    return None


def _run_time(pipeline: SimPipeline) -> float:
    """Failing with fail-fast ends at ``fail_after`` (when scripted), not the full duration."""
    outcome = pipeline.outcome
    if outcome.result == "failed" and pipeline.fail_fast and outcome.fail_after is not None:
        return min(outcome.fail_after, outcome.duration)
    return outcome.duration
