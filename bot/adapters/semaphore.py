"""Semaphore behind deploybot's ports: effects (promotions, stops, target activation) and the
lookups the service needs (project and target ids, last good from deployment history).

Every promotion carries a request_token derived from the deployment's id, so repeating the
effect (a retry, a crash before the outbox was acknowledged, a second replica) never deploys
twice. Semaphore errors are translated here; a refusal becomes a cancelled deployment with
Semaphore's reason, any other error leaves the effect in the outbox to be tried again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.config.models import DeploybotConfig
from bot.core import events as ev
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StagePolicy
from bot.errors import EffectFailed
from bot.service.effects import Effect, SetTargetActive, StartDeployment, StopDeployment
from bot.service.stages import StageService
from semaphore_client import Deployment as HistoryEntry
from semaphore_client import PromotionRefused, SemaphoreClient, SemaphoreError

log = logging.getLogger(__name__)

TOKEN_NAMESPACE = uuid.UUID("8d0e3f0a-5b1c-4f43-9d7e-2f1f6c1b7a10")
#: How far before our own start time a promotion may look triggered (clock skew).
SKEW = timedelta(seconds=30)
HISTORY_LOOKBACK = 20


def request_token(deployment_id: str, attempt: str = "") -> str:
    """The same token for the same deployment, on every replica and after every restart."""
    return str(uuid.uuid5(TOKEN_NAMESPACE, f"{deployment_id}{attempt}"))


class Semaphore:
    """What deploybot asks of Semaphore, in deploybot's words."""

    def __init__(self, client: SemaphoreClient, config: DeploybotConfig) -> None:
        self.client = client
        self.config = config
        self._project_ids: dict[str, str] = {}
        self._target_ids: dict[tuple[str, str], str] = {}

    async def project_id(self, project: str) -> str:
        if project not in self._project_ids:
            name = self.config.project(project).semaphore_project
            described = await self.client.describe_project(name)
            self._project_ids[project] = described.metadata.id
        return self._project_ids[project]

    async def target_id(self, project: str, target: str) -> str | None:
        key = (project, target)
        if key not in self._target_ids:
            found = await self.client.find_deployment_target(await self.project_id(project), target)
            if found is None:
                return None
            self._target_ids[key] = found.id
        return self._target_ids[key]

    async def promoted_pipeline(self, deployment: Deployment, promotion: str) -> str | None:
        """The pipeline Semaphore started for `deployment`, once it has one."""
        since = (deployment.started_at or deployment.created_at) - SKEW
        for promotion_run in await self.client.list_promotions(
            deployment.source_pipeline_id, name=promotion
        ):
            triggered = promotion_run.triggered_at
            if promotion_run.scheduled_pipeline_id and (triggered is None or triggered >= since):
                return promotion_run.scheduled_pipeline_id
        return None

    async def last_good(self, policy: StagePolicy) -> Deployment | None:
        """The newest deployment in the target's history whose pipeline passed."""
        target_id = await self.target_id(policy.project, policy.target or policy.stage)
        if target_id is None:
            return None
        seen = 0
        async for entry in self.client.iter_deployment_history(target_id):
            seen += 1
            if seen > HISTORY_LOOKBACK:
                return None
            good = await self._passed(policy, entry)
            if good is not None:
                return good
        return None

    async def _passed(self, policy: StagePolicy, entry: HistoryEntry) -> Deployment | None:
        if not entry.pipeline_id or not entry.prev_pipeline_id:
            return None
        pipeline = await self.client.get_pipeline(entry.pipeline_id)
        if not (pipeline.is_done and pipeline.passed):
            return None
        at = pipeline.done_at or entry.triggered_at or pipeline.created_at
        assert at is not None
        change = Change(
            sha=pipeline.commit_sha,
            message=pipeline.commit_message,
            workflow_id=pipeline.wf_id,
            created_at=pipeline.created_at or at,
        )
        return Deployment(
            id=f"semaphore:{entry.id}",
            project=policy.project,
            stage=policy.stage,
            kind=DeploymentKind.ROLLFORWARD,
            change=change,
            state=DeploymentState.DONE,
            source_pipeline_id=entry.prev_pipeline_id,
            deploy_pipeline_id=entry.pipeline_id,
            triggered_by="semaphore history",
            created_at=at,
            finished_at=at,
        )


class SemaphoreEffects:
    """The effects port for promotions, stops and deployment-target activation."""

    def __init__(
        self,
        semaphore: Semaphore,
        stages: StageService,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.semaphore = semaphore
        self.stages = stages
        self._clock = clock or stages.clock

    async def __call__(self, effect: Effect) -> None:
        try:
            await self._carry_out(effect)
        except SemaphoreError as exc:
            raise EffectFailed(f"Semaphore: {exc}") from exc

    async def _carry_out(self, effect: Effect) -> None:
        if isinstance(effect, StartDeployment):
            await self.start(effect.deployment)
        elif isinstance(effect, StopDeployment):
            await self.stop(effect.deployment)
        elif isinstance(effect, SetTargetActive):
            await self.set_target(effect.project, effect.stage, effect.active)
        else:
            log.debug("effect %s (%s) is not Semaphore's", effect.id, effect.type)

    def promotion_for(self, deployment: Deployment) -> str:
        policy = self.stages.policy(deployment.project, deployment.stage)
        if deployment.kind is DeploymentKind.ROLLBACK and policy.rollback_promotion:
            return policy.rollback_promotion
        return policy.promotion

    async def start(self, deployment: Deployment) -> None:
        promotion = self.promotion_for(deployment)
        source = deployment.source_pipeline_id
        try:
            await self.semaphore.client.trigger_promotion(
                source, promotion, request_token=request_token(deployment.id)
            )
        except PromotionRefused as refused:
            if not refused.needs_override:
                await self._refused(deployment, refused)
                return
            await self.semaphore.client.trigger_promotion(
                source, promotion, override=True, request_token=request_token(deployment.id, "+o")
            )
        log.info("promoted %s: %r on pipeline %s", deployment.id, promotion, source)
        await self.confirm_started(deployment)

    async def confirm_started(self, deployment: Deployment) -> None:
        """Record the promoted pipeline's id; reconciliation tries again if it is not known yet."""
        pipeline_id = await self.semaphore.promoted_pipeline(
            deployment, self.promotion_for(deployment)
        )
        if pipeline_id is None:
            return
        started = ev.DeploymentStarted(
            id=f"started:{deployment.id}", deployment_id=deployment.id, pipeline_id=pipeline_id
        )
        await self.stages.handle(deployment.project, deployment.stage, started)

    async def _refused(self, deployment: Deployment, refused: PromotionRefused) -> None:
        log.warning("Semaphore refused the promotion of %s: %s", deployment.id, refused.message)
        finished = ev.DeploymentFinished(
            id=f"refused:{deployment.id}",
            deployment_id=deployment.id,
            outcome="cancelled",
            detail=f"Semaphore refused the promotion: {refused.message}",
        )
        await self.stages.handle(deployment.project, deployment.stage, finished)

    async def stop(self, deployment: Deployment) -> None:
        pipeline_id = deployment.deploy_pipeline_id or await self.semaphore.promoted_pipeline(
            deployment, self.promotion_for(deployment)
        )
        if pipeline_id:
            await self.semaphore.client.terminate_pipeline(pipeline_id)
            log.info("stopped pipeline %s of %s", pipeline_id, deployment.id)

    async def set_target(self, project: str, stage: str, active: bool) -> None:
        policy = self.stages.policy(project, stage)
        target_id = await self.semaphore.target_id(project, policy.target or stage)
        if target_id is None:
            log.warning("%s/%s: no Semaphore deployment target %r", project, stage, policy.target)
            return
        if active:
            await self.semaphore.client.activate_deployment_target(target_id)
        else:
            await self.semaphore.client.deactivate_deployment_target(target_id)
