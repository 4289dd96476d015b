"""The simulated Gofer: promotions (manual, API and automatic) and deployment targets.

* A manual/API trigger needs the source pipeline passed unless ``override``; a repeated
  ``request_token`` answers OK without a second pipeline; a cordoned target refuses with 400
  and records nothing.
* ``auto_promote`` is evaluated once, when a pipeline is done. A cordoned target then records
  a FAILED history entry (``cordoned_target``) and starts nothing. Promoted pipelines evaluate
  their own auto-promotions when done, so promotions cascade.
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
from semaphore_client.simulator.world import PromotionDef, resolve_pipeline_file

if TYPE_CHECKING:
    from semaphore_client.simulator.engine import Engine

NEEDS_OVERRIDE = "Triggering target when pipeline is not passed requires override confirmation."
TARGET_FAILED = "Triggering promotion with deployment target failed: {reason} (error ID: {id})"


class Promoter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.tokens: dict[str, SimPromotion] = {}

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
        """``POST /promotions``: start the promotion or raise :class:`SimError` (400/500)."""
        if request_token and request_token in self.tokens:
            return
        definition = _find(source, name)
        if definition is None:
            raise SimError(
                400, f"Target for switch: {source.switch_id} with name: {name} not found"
            )
        if not (source.done and source.result == "passed") and not override:
            raise SimError(400, NEEDS_OVERRIDE)
        values = _parameter_values(definition, parameters, automatic=False)
        target = self._target(source, definition)
        if target is not None and target.cordoned:
            message = TARGET_FAILED.format(reason="deployment target is cordoned", id=uuid.uuid4())
            raise SimError(400, message)
        self._start(source, definition, target, user, override, values, request_token)
        self.engine.settle()

    def after_done(self, source: SimPipeline) -> None:
        """Evaluate the source's automatic promotions, in the order they are declared."""
        context = source.context()
        for definition in source.spec.promotions:
            if not _auto_promotes(definition, context):
                continue
            values = _parameter_values(definition, {}, automatic=True)
            target = self._target(source, definition)
            if target is not None and target.cordoned:
                self._record(
                    target, source, "", "FAILED", "cordoned_target", AUTO_TRIGGERER, values
                )
                continue
            self._start(source, definition, target, AUTO_TRIGGERER, False, values, "")

    def list_for(self, source: SimPipeline, name: str | None) -> list[SimPromotion]:
        found = [p for p in self.engine.promotions if p.source_ppl_id == source.ppl_id]
        if name:
            found = [p for p in found if p.name == name]
        return sorted(found, key=lambda p: p.triggered_at, reverse=True)

    def _start(
        self,
        source: SimPipeline,
        definition: PromotionDef,
        target: SimTarget | None,
        triggered_by: str,
        override: bool,
        values: dict[str, str],
        request_token: str,
    ) -> None:
        engine = self.engine
        automatic = triggered_by == AUTO_TRIGGERER
        path = resolve_pipeline_file(source.path, definition.pipeline_file)
        pipeline = engine.create_pipeline(
            source.workflow,
            path,
            trigger="auto_promotion" if automatic else "promotion",
            promotion_of=source.ppl_id,
            triggerer_id=source.ppl_id,
            env_vars=values,
        )
        promotion = SimPromotion(
            name=definition.name,
            source_ppl_id=source.ppl_id,
            triggered_by=triggered_by,
            triggered_at=engine.now,
            override=override,
            status="passed",
            scheduled_at=engine.now,
            scheduled_pipeline_id=pipeline.ppl_id,
            request_token=request_token or str(uuid.uuid4()),
        )
        engine.promotions.append(promotion)
        self.tokens[promotion.request_token] = promotion
        engine.emit(
            "promotion",
            pipeline_id=pipeline.ppl_id,
            workflow_id=source.workflow.wf_id,
            pipeline_file=path,
            commit_sha=source.workflow.commit_sha,
            state="passed",
            promotion_of=source.ppl_id,
            triggered_by=triggered_by,
            promotion=definition.name,
            deployment_target=target.spec.name if target else None,
        )
        if target is not None:
            self._record(target, source, pipeline.ppl_id, "STARTED", "", triggered_by, values)

    def _record(
        self,
        target: SimTarget,
        source: SimPipeline,
        pipeline_id: str,
        state: str,
        message: str,
        triggered_by: str,
        values: dict[str, str],
    ) -> None:
        engine = self.engine
        entry = SimDeployment(
            id=str(uuid.uuid4()),
            target=target,
            switch_id=source.switch_id,
            prev_pipeline_id=source.ppl_id,
            pipeline_id=pipeline_id,
            triggered_by=triggered_by,
            triggered_at_us=target.next_triggered_at_us(engine.now),
            state=state,
            state_message=message,
            env_vars=values,
            git_ref_type=source.workflow.git_ref_type,
            git_ref_label=source.workflow.label,
        )
        target.history.append(entry)
        engine.emit(
            "deployment",
            pipeline_id=pipeline_id or None,
            workflow_id=source.workflow.wf_id,
            commit_sha=source.workflow.commit_sha,
            state=state.lower(),
            result_reason=message or None,
            promotion_of=source.ppl_id,
            triggered_by=triggered_by,
            deployment_target=target.spec.name,
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
