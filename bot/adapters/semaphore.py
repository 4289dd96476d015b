"""Semaphore behind deploybot's ports: effects (promotions, stops, target activation) and the
lookups the service needs (project and target ids, last good from deployment history).

Every promotion carries a request_token derived from the deployment's id, so repeating the
effect (a retry, a crash before the outbox was acknowledged, a second replica) never deploys
twice. Semaphore errors are translated here. A started deployment is watched until Semaphore
shows its pipeline (`confirm_started`, from the start, the stage's wake-ups and
reconciliation); a promotion Semaphore gave up on, refused, or answered with a permanent
404/403 is "not started" with Semaphore's reason (unless the promotion turns out to exist
already: then its pipeline is adopted). Any other error leaves the effect in the outbox to be
tried again.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from datetime import datetime

from bot.adapters.semaphore_promotions import PERMANENT, PromotionLookup, PromotionNews
from bot.config.models import DeploybotConfig
from bot.core import events as ev
from bot.core.emergency import emergency_promotion
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StagePolicy
from bot.errors import EffectFailed
from bot.service.effects import Effect, SetTargetActive, StartDeployment, StopDeployment
from bot.service.stages import StageService
from semaphore_client import Deployment as HistoryEntry
from semaphore_client import PromotionRefused, SemaphoreClient, SemaphoreError

log = logging.getLogger(__name__)

#: Gofer's reason for a trigger it gave up on because the deployment target was deactivated.
CORDONED = "cordoned"
TOKEN_NAMESPACE = uuid.UUID("8d0e3f0a-5b1c-4f43-9d7e-2f1f6c1b7a10")
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

    def knows_project(self, project: str) -> bool:
        """Whether the project's Semaphore id is known (asking for it costs no call)."""
        return project in self._project_ids

    async def learn_projects(self) -> None:
        """Every configured project's Semaphore id from one listing of the organisation's
        projects (a call per page), instead of a describe per project: what a first
        reconciliation of a thousand projects would otherwise spend its budget on."""
        ids = {
            found.metadata.name: found.metadata.id for found in await self.client.list_projects()
        }
        for project in self.config.projects:
            if project.semaphore_project in ids:
                self._project_ids[project.name] = ids[project.semaphore_project]

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

    async def promotion(
        self, deployment: Deployment, promotion: str, taken: Collection[str] = ()
    ) -> PromotionNews:
        """What became of `deployment`'s promotion (see semaphore_promotions); `taken`: the
        pipelines of the stage's other deployments."""
        policy = self.config.project(deployment.project).stage(deployment.stage)
        try:
            target_id = await self.target_id(deployment.project, policy.target)
        except PERMANENT:  # deployment targets are not enabled for the organization
            target_id = None
        return await PromotionLookup(self.client).news(deployment, promotion, target_id, taken)

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
        return emergency_promotion(policy, deployment) or policy.promotion

    async def start(self, deployment: Deployment) -> None:
        promotion = self.promotion_for(deployment)
        source = deployment.source_pipeline_id
        try:
            try:
                await self.semaphore.client.trigger_promotion(
                    source, promotion, request_token=request_token(deployment.id)
                )
            except PromotionRefused as refused:
                if not refused.needs_override:
                    raise
                await self.semaphore.client.trigger_promotion(
                    source,
                    promotion,
                    override=True,
                    request_token=request_token(deployment.id, "+o"),
                )
        except PromotionRefused as refused:
            reason = f"Semaphore refused the promotion: {refused.message}"
            await self._refused(deployment, reason, inactive=refused.target_cordoned,
                                missing=refused.promotion_missing)  # fmt: skip
            return
        except PERMANENT as permanent:
            await self._refused(deployment, f"Semaphore answered the promotion with {permanent}")
            return
        log.info("promoted %s: %r on pipeline %s", deployment.id, promotion, source)
        await self.confirm_started(deployment)

    async def confirm_started(self, deployment: Deployment) -> None:
        """Record the promoted pipeline's id, or that Semaphore gave up on the promotion; while
        it is on its way, nothing (the stage's wake-ups look again until `start_timeout`)."""
        try:
            news = await self._news(deployment)
        except PERMANENT as permanent:
            await self._not_started(deployment, f"Semaphore answered {permanent}", None)
            return
        if news.pipeline_id:
            await self._started(deployment, news.pipeline_id)
        elif news.failed:
            reason = f"Semaphore gave up on the promotion: {news.failed}"
            inactive = CORDONED in news.failed  # the target was deactivated meanwhile
            await self._not_started(deployment, reason, news.triggered_at, inactive=inactive)

    async def _refused(
        self, deployment: Deployment, reason: str, inactive: bool = False, missing: bool = False
    ) -> None:
        """A refusal ends the attempt, unless Semaphore has the promotion already (a repeat
        after a crash, refused because the target was deactivated since): then it goes on."""
        log.warning("%s: %s", deployment.id, reason)
        try:
            news = await self._news(deployment)
        except PERMANENT:
            news = PromotionNews()
        if news.pipeline_id:
            await self._started(deployment, news.pipeline_id)
        elif news.failed:
            reason = f"Semaphore gave up on the promotion: {news.failed}"
            await self._not_started(deployment, reason, news.triggered_at)
        elif not news.seen:
            await self._not_started(deployment, reason, None, inactive=inactive, missing=missing)

    async def _news(self, deployment: Deployment) -> PromotionNews:
        # Every pipeline another deployment of the stage holds or held (found by the system
        # test: an emergency promoted from the same CI pipeline as the roll-forward it followed
        # took that roll-forward's stopped pipeline as its own, and the stage waited on it for
        # ever; the roll-forward, stopped before its pipeline was known, is in the history
        # without it, so the stage remembers what its deployments claimed).
        history = await self.stages.store.history(deployment.project, deployment.stage)
        state = await self.stages.store.load(deployment.project, deployment.stage)
        live = [*state.stopping, *([state.current] if state.current else []), *state.queue]
        taken = {d.deploy_pipeline_id for d in [*history, *live] if d.id != deployment.id}
        taken |= set(state.claimed) - {deployment.deploy_pipeline_id}
        return await self.semaphore.promotion(
            deployment, self.promotion_for(deployment), taken - {""}
        )

    async def _started(self, deployment: Deployment, pipeline_id: str) -> None:
        started = ev.DeploymentStarted(
            id=f"started:{deployment.id}", deployment_id=deployment.id, pipeline_id=pipeline_id
        )
        await self.stages.handle(deployment.project, deployment.stage, started)

    async def _not_started(
        self,
        deployment: Deployment,
        reason: str,
        triggered_at: datetime | None,
        *,
        inactive: bool = False,
        missing: bool = False,
    ) -> None:
        log.warning("%s did not start: %s", deployment.id, reason)
        event = ev.DeploymentNotStarted(
            id=f"not-started:{deployment.id}",
            deployment_id=deployment.id,
            reason=reason,
            triggered_at=triggered_at,
            target_inactive=inactive,
            promotion_missing=missing,
        )
        await self.stages.handle(deployment.project, deployment.stage, event)

    async def stop(self, deployment: Deployment) -> None:
        """Terminate the deployment's pipeline. The stage starts nothing until Semaphore shows
        it done (a stopping pipeline runs its epilogues while its queue moves on): its id is
        recorded if it was not known, and a pipeline already done, or none at all, releases
        the stage at once."""
        project, stage = deployment.project, deployment.stage
        pipeline_id = deployment.deploy_pipeline_id
        if not pipeline_id:
            pipeline_id = (await self._news(deployment)).pipeline_id
            if not pipeline_id:  # Semaphore started none (yet): nothing to wait for
                await self._stop_done(deployment, f"none:{deployment.id}", "no pipeline to stop")
                return
            started = ev.DeploymentStarted(
                id=f"stopping:{deployment.id}", deployment_id=deployment.id, pipeline_id=pipeline_id
            )
            await self.stages.handle(project, stage, started)
        await self.semaphore.client.terminate_pipeline(pipeline_id)
        log.info("stopped pipeline %s of %s", pipeline_id, deployment.id)
        pipeline = await self.semaphore.client.get_pipeline(pipeline_id)
        if pipeline.is_done:
            result = pipeline.result.value if pipeline.result else "done"
            await self._stop_done(deployment, pipeline_id, f"stopped pipeline {result}")

    async def _stop_done(self, deployment: Deployment, key: str, detail: str) -> None:
        done = ev.DeploymentFinished(
            id=f"done:{key}", deployment_id=deployment.id, outcome="cancelled", detail=detail
        )
        await self.stages.handle(deployment.project, deployment.stage, done)

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
