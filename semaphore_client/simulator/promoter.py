"""The simulated Gofer: promotions (manual, API and automatic) and deployment targets.

* A manual/API trigger is checked as Gofer checks it, in its order: the promotion exists, the
  source pipeline passed unless ``override``, the deployment target admits it (a cordoned one
  refuses with 400 and records nothing), the parameters, and only then the ``request_token``
  (a repeat answers OK without a second trigger).
* An accepted trigger is scheduled later, or given up (see ``triggers.py``): the API's 200
  only means Gofer recorded it.
* ``auto_promote`` is evaluated once, when a pipeline is done; its triggers take the same
  path (a cordoned target shows as a FAILED history entry, ``cordoned_target``). Promoted
  pipelines evaluate their own auto-promotions when done, so promotions cascade.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

from semaphore_client.simulator.records import (
    AUTO_TRIGGERER,
    SIM_USER_ID,
    SimDeployment,
    SimError,
    SimPipeline,
    SimPromotion,
    SimTarget,
)
from semaphore_client.simulator.triggers import DEADLINE_REACHED, QUEUE_LIMIT, Fate, Trigger
from semaphore_client.simulator.world import PromotionDef, resolve_pipeline_file

if TYPE_CHECKING:
    from semaphore_client.simulator.engine import Engine

NEEDS_OVERRIDE = "Triggering target when pipeline is not passed requires override confirmation."
TARGET_FAILED = "Triggering promotion with deployment target failed: {reason} (error ID: {id})"
QUEUE_FULL = "Limit of queuing pipelines reached"


class Promoter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tokens: dict[str, Trigger] = {}

    def trigger(
        self,
        source: SimPipeline,
        name: str,
        *,
        override: bool,
        parameters: dict[str, str],
        request_token: str,
        user: str = SIM_USER_ID,
    ) -> None:
        """``POST /promotions``: record the trigger or raise :class:`SimError` (400/500)."""
        definition = _find(source, name)
        if definition is None:
            raise SimError(
                400, f"Target for switch: {source.switch_id} with name: {name} not found"
            )
        if not (source.done and source.result == "passed") and not override:
            raise SimError(400, NEEDS_OVERRIDE)
        target = self._target(source, definition)
        if target is not None and target.cordoned:
            message = TARGET_FAILED.format(reason="deployment target is cordoned", id=uuid.uuid4())
            raise SimError(400, message)
        values = _parameter_values(definition, parameters, automatic=False)
        if request_token and request_token in self.tokens:
            return
        self._accept(source, definition, target, user, override, values, request_token)
        self.engine.settle()

    def after_done(self, source: SimPipeline) -> None:
        """Evaluate the source's automatic promotions, in the order they are declared."""
        context = source.context()
        for definition in source.spec.promotions:
            if not _auto_promotes(definition, context):
                continue
            values = _parameter_values(definition, {}, automatic=True)
            target = self._target(source, definition)
            self._accept(source, definition, target, AUTO_TRIGGERER, False, values, "")

    def list_for(self, source: SimPipeline, name: str | None) -> list[SimPromotion]:
        found = [p for p in self.engine.promotions if p.source_ppl_id == source.ppl_id]
        if name:
            found = [p for p in found if p.name == name]
        return sorted(found, key=lambda p: p.triggered_at, reverse=True)

    # A trigger's life (triggers.py)

    def _accept(
        self,
        source: SimPipeline,
        definition: PromotionDef,
        target: SimTarget | None,
        triggered_by: str,
        override: bool,
        values: dict[str, str],
        request_token: str,
    ) -> None:
        engine, times = self.engine, self.engine.gofer
        trigger = Trigger(
            source=source,
            definition=definition,
            target=target,
            triggered_by=triggered_by,
            override=override,
            values=values,
            request_token=request_token or str(uuid.uuid4()),
            triggered_at=engine.now,
            fate=self._fate(source, definition.name),
        )
        self.tokens[trigger.request_token] = trigger
        if target is None:
            self._add_row(trigger)
            if trigger.fate == "deadline":
                engine.later(times.deadline, lambda: self._give_up(trigger, DEADLINE_REACHED))
            else:
                engine.later(times.delay, lambda: self._schedule(trigger))
            return
        trigger.entry = self._record(target, source, "PENDING", "", triggered_by, values)
        if trigger.fate == "deadline":
            give_up = "deadline_reached"
            engine.later(times.target_deadline, lambda: self._give_up(trigger, give_up))
        else:
            engine.later(times.delay / 2, lambda: self._check_target(trigger))

    def _check_target(self, trigger: Trigger) -> None:
        """The deployment-trigger worker checks the target again before it triggers."""
        assert trigger.target is not None
        if trigger.target.cordoned:
            self._give_up(trigger, "cordoned_target")
            return
        self._add_row(trigger)
        self.engine.later(self.engine.gofer.delay / 2, lambda: self._schedule(trigger))

    def _schedule(self, trigger: Trigger) -> None:
        engine, times = self.engine, self.engine.gofer
        if trigger.done:
            return
        if engine.now >= trigger.triggered_at + times.deadline:
            self._give_up(trigger, DEADLINE_REACHED)
            return
        path = resolve_pipeline_file(trigger.source.path, trigger.definition.pipeline_file)
        workflow = trigger.source.workflow
        if trigger.fate == "queue_limit" or engine.queued_in(workflow, path) >= QUEUE_LIMIT:
            if not trigger.refused:  # said once; Gofer tries again until its deadline
                trigger.refused = True
                engine.emit(
                    "promotion",
                    workflow_id=workflow.wf_id,
                    pipeline_file=path,
                    commit_sha=workflow.commit_sha,
                    state="processing",
                    result_reason=QUEUE_FULL,
                    promotion_of=trigger.source.ppl_id,
                    triggered_by=trigger.triggered_by,
                    promotion=trigger.definition.name,
                )
            wait = min(times.retry, trigger.triggered_at + times.deadline - engine.now)
            engine.later(max(wait, 0.0), lambda: self._schedule(trigger))
            return
        self._start(trigger, path)

    def _start(self, trigger: Trigger, path: str) -> None:
        engine, source = self.engine, trigger.source
        automatic = trigger.triggered_by == AUTO_TRIGGERER
        pipeline = engine.create_pipeline(
            source.workflow,
            path,
            trigger="auto_promotion" if automatic else "promotion",
            promotion_of=source.ppl_id,
            triggerer_id=source.ppl_id,
            env_vars=trigger.values,
        )
        trigger.done = True
        row = trigger.row
        assert row is not None
        row.status, row.scheduled_at = "passed", engine.now
        row.scheduled_pipeline_id = pipeline.ppl_id
        engine.emit(
            "promotion",
            pipeline_id=pipeline.ppl_id,
            workflow_id=source.workflow.wf_id,
            pipeline_file=path,
            commit_sha=source.workflow.commit_sha,
            state="passed",
            promotion_of=source.ppl_id,
            triggered_by=trigger.triggered_by,
            promotion=trigger.definition.name,
            deployment_target=trigger.target.spec.name if trigger.target else None,
        )
        if trigger.entry is not None:
            self._update(trigger, "STARTED", "", pipeline.ppl_id)

    def _give_up(self, trigger: Trigger, reason: str) -> None:
        """Gofer's deadline (or the target's check) ends the trigger without a pipeline."""
        if trigger.done:
            return
        trigger.done = True
        engine, source = self.engine, trigger.source
        row = trigger.row
        if row is not None:
            row.status, row.scheduled_at = "failed", engine.now
        # With a row or without one (a target Gofer checked again): the event says so.
        engine.emit(
            "promotion",
            workflow_id=source.workflow.wf_id,
            pipeline_file=resolve_pipeline_file(source.path, trigger.definition.pipeline_file),
            commit_sha=source.workflow.commit_sha,
            state="failed",
            result_reason=reason,
            promotion_of=source.ppl_id,
            triggered_by=trigger.triggered_by,
            promotion=trigger.definition.name,
            deployment_target=trigger.target.spec.name if trigger.target else None,
        )
        if trigger.entry is not None:
            self._update(trigger, "FAILED", reason, "")

    def _add_row(self, trigger: Trigger) -> None:
        row = SimPromotion(
            name=trigger.definition.name,
            source_ppl_id=trigger.source.ppl_id,
            triggered_by=trigger.triggered_by,
            triggered_at=trigger.triggered_at,
            override=trigger.override,
            status="processing",
            scheduled_at=None,
            scheduled_pipeline_id="",
            request_token=trigger.request_token,
        )
        trigger.row = row
        self.engine.promotions.append(row)

    def _fate(self, source: SimPipeline, name: str) -> Fate | None:
        """The scripted fate of this promotion's triggers on `source`'s commit: the newest
        matching script, one naming the commit before one that does not."""
        best = None
        for item in self.engine.scripts.items:
            if item.promotion != name or item.commit_sha not in (None, source.workflow.commit_sha):
                continue
            if best is None or item.commit_sha is not None or best.commit_sha is None:
                best = item
        return best.never_scheduled if best is not None else None

    # History

    def _record(
        self,
        target: SimTarget,
        source: SimPipeline,
        state: str,
        message: str,
        triggered_by: str,
        values: dict[str, str],
    ) -> SimDeployment:
        engine = self.engine
        entry = SimDeployment(
            id=str(uuid.uuid4()),
            target=target,
            switch_id=source.switch_id,
            prev_pipeline_id=source.ppl_id,
            pipeline_id="",
            triggered_by=triggered_by,
            triggered_at_us=target.next_triggered_at_us(engine.now),
            state=state,
            state_message=message,
            env_vars=values,
            git_ref_type=source.workflow.git_ref_type,
            git_ref_label=source.workflow.label,
        )
        target.history.append(entry)
        self._emit_entry(entry, source)
        return entry

    def _update(self, trigger: Trigger, state: str, message: str, pipeline_id: str) -> None:
        entry = trigger.entry
        assert entry is not None
        entry.state, entry.state_message, entry.pipeline_id = state, message, pipeline_id
        self._emit_entry(entry, trigger.source)

    def _emit_entry(self, entry: SimDeployment, source: SimPipeline) -> None:
        self.engine.emit(
            "deployment",
            pipeline_id=entry.pipeline_id or None,
            workflow_id=source.workflow.wf_id,
            commit_sha=source.workflow.commit_sha,
            state=entry.state.lower(),
            result_reason=entry.state_message or None,
            promotion_of=source.ppl_id,
            triggered_by=entry.triggered_by,
            deployment_target=entry.target.spec.name,
        )

    def _target(self, source: SimPipeline, definition: PromotionDef) -> SimTarget | None:
        if not definition.deployment_target:
            return None
        project = source.workflow.project
        for target in self.engine.targets.values():
            if target.project is project and target.spec.name == definition.deployment_target:
                return target
        message = TARGET_FAILED.format(reason="deployment target not found", id=uuid.uuid4())
        raise SimError(400, message)


def _find(source: SimPipeline, name: str) -> PromotionDef | None:
    return next((p for p in source.spec.promotions if p.name == name), None)


def _auto_promotes(definition: PromotionDef, context: dict[str, str]) -> bool:
    if definition.auto_promote is not None and definition.auto_promote.when.holds(context):
        return True
    for item in definition.auto_promote_on:
        if item.result != context["result"]:
            continue
        if item.result_reason and item.result_reason != context["result_reason"]:
            continue
        if item.branch and not any(_matches(b, context["branch"]) for b in item.branch):
            continue
        return True
    return False


def _matches(pattern: str, value: str) -> bool:
    return re.search(pattern, value) is not None


def _parameter_values(
    definition: PromotionDef, given: dict[str, str], *, automatic: bool
) -> dict[str, str]:
    """Promotion parameters as Gofer checks them; a bad value is a 500 ``Internal error``."""
    declared = definition.parameters.env_vars if definition.parameters else []
    names = {p.name for p in declared}
    if set(given) - names:
        raise SimError(500, "Internal error")
    values: dict[str, str] = {}
    for parameter in declared:
        value = given.get(parameter.name) or parameter.default_value
        if not value:
            if parameter.required and not automatic:
                raise SimError(500, "Internal error")
            continue
        if (
            parameter.options
            and value not in parameter.options
            and value != parameter.default_value
        ):
            raise SimError(500, "Internal error")
        values[parameter.name] = value
    return values
