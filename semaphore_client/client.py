"""``SemaphoreClient``: the v1alpha calls deploybot needs, returning pydantic models.

Reads, terminate, activate/deactivate and reschedule are retried (backoff with jitter) on
connection errors, time-outs, 429 and 5xx. A promotion trigger is retried too, but always with
the *same* ``request_token``: Semaphore stores the token with the trigger and answers a repeat
with 200 without triggering again, so a retried call can never deploy twice. Scheduling a
workflow has no such token and is never retried.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter

from semaphore_client.models import (
    Pipeline,
    PipelineDetails,
    Project,
    Promotion,
    ScheduledWorkflow,
    Workflow,
    WorkflowEnvelope,
)
from semaphore_client.retry import RetryPolicy
from semaphore_client.session import ApiSession, Observer, decode
from semaphore_client.targets import (
    Deployment,
    DeploymentHistoryPage,
    DeploymentTarget,
    HistoryFilter,
    TargetActivation,
)

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=10.0, pool=5.0)
"""The ingress cuts pipelines/workflows/targets at 30 s, so reads may take that long."""
PROMOTION_TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=10.0, pool=5.0)
"""The ingress cuts /promotions at 5 s; a slower answer is a 5xx and is retried."""
USER_AGENT = "SemaphoreCI v2.0 Client"
RESERVED_PROMOTION_KEYS = frozenset(
    {"switch_id", "name", "user_id", "override", "request_token", "pipeline_id"}
)

_STR = TypeAdapter(str)
_PIPELINES = TypeAdapter(list[Pipeline])
_PROMOTIONS = TypeAdapter(list[Promotion])
_WORKFLOWS = TypeAdapter(list[Workflow])
_TARGETS = TypeAdapter(list[DeploymentTarget])
_PROJECTS = TypeAdapter(list[Project])
_WORKFLOW_ENVELOPE = TypeAdapter(WorkflowEnvelope)

CursorType = Literal["FIRST", "AFTER", "BEFORE"]


def _seconds(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp())


def _compact(**params: str | int | None) -> dict[str, str | int]:
    return {key: value for key, value in params.items() if value is not None and value != ""}


class SemaphoreClient:
    """Async client for ``https://{org}.semaphoreci.com/api/v1alpha`` (or ``base_url``)."""

    def __init__(
        self,
        *,
        token: str,
        org: str | None = None,
        base_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        observe: Observer | None = None,
    ) -> None:
        """`observe` is told of every request sent (its endpoint and result), retries
        included: what an API budget or a metric counts."""
        if not token:
            raise ValueError("a Semaphore API token is required")
        if base_url is None:
            if not org:
                raise ValueError("give either org or base_url")
            base_url = f"https://{org}.semaphoreci.com/api/v1alpha"
        if http is not None and any(k.lower().startswith("x-semaphore-") for k in http.headers):
            raise ValueError("Semaphore rejects requests carrying x-semaphore-* headers")
        self._owns_http = http is None
        headers = {
            "Authorization": f"Token {token}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        self._session = ApiSession(
            http or httpx.AsyncClient(),
            base_url,
            headers,
            timeout,
            retry or RetryPolicy(),
            observe,
        )

    @property
    def base_url(self) -> str:
        return self._session.base_url

    async def __aenter__(self) -> SemaphoreClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object made it (an injected one is left open)."""
        if self._owns_http:
            await self._session.http.aclose()

    # Pipelines

    async def describe_pipeline(self, ppl_id: str, *, detailed: bool = False) -> PipelineDetails:
        params = {"detailed": "true"} if detailed else None
        return await self._session.get(f"/pipelines/{ppl_id}", _DETAILS, params)

    async def get_pipeline(self, ppl_id: str) -> Pipeline:
        return (await self.describe_pipeline(ppl_id)).pipeline

    def iter_pipelines(
        self,
        project_id: str | None = None,
        *,
        wf_id: str | None = None,
        branch_name: str | None = None,
        yml_file_path: str | None = None,
        created_after: datetime | int | None = None,
        created_before: datetime | int | None = None,
        done_after: datetime | int | None = None,
        done_before: datetime | int | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Pipeline]:
        """Every matching pipeline, newest first, across pages. Needs project_id or wf_id."""
        if not project_id and not wf_id:
            raise ValueError("list pipelines by project_id or wf_id")
        params = _compact(
            project_id=project_id,
            wf_id=wf_id,
            branch_name=branch_name,
            yml_file_path=yml_file_path,
            created_after=_seconds(created_after),
            created_before=_seconds(created_before),
            done_after=_seconds(done_after),
            done_before=_seconds(done_before),
            page_size=page_size,
        )
        return self._session.paginate("/pipelines", _PIPELINES, params)

    async def list_pipelines(self, project_id: str | None = None, **filters: Any) -> list[Pipeline]:
        """All pages of :meth:`iter_pipelines` as a list."""
        return [p async for p in self.iter_pipelines(project_id, **filters)]

    async def terminate_pipeline(self, ppl_id: str) -> str:
        """Stop a pipeline (idempotent: a done one answers the same)."""
        response = await self._session.request(
            "PATCH", f"/pipelines/{ppl_id}", json_body={"terminate_request": True}
        )
        return decode(response, _STR)

    # Promotions

    async def list_promotions(
        self, pipeline_id: str, *, name: str | None = None
    ) -> list[Promotion]:
        """The promotions triggered from ``pipeline_id``, newest first, across pages."""
        params = _compact(pipeline_id=pipeline_id, name=name)
        return [p async for p in self._session.paginate("/promotions", _PROMOTIONS, params)]

    async def trigger_promotion(
        self,
        pipeline_id: str,
        name: str,
        *,
        override: bool = False,
        parameters: Mapping[str, str] | None = None,
        request_token: str | None = None,
    ) -> str:
        """Trigger promotion ``name`` of ``pipeline_id``; returns the ``request_token`` used.

        Pass a token you stored before calling to make the call safe across process restarts;
        every retry reuses it, and Semaphore answers a repeated token without a second trigger.
        A refusal (not passed without ``override``, cordoned target, …) raises
        :class:`PromotionRefused`.
        """
        clash = RESERVED_PROMOTION_KEYS.intersection(parameters or {})
        if clash:
            raise ValueError(f"promotion parameters may not be named {sorted(clash)}")
        token = request_token or str(uuid.uuid4())
        body: dict[str, Any] = dict(parameters or {})
        body.update(pipeline_id=pipeline_id, name=name, override=override, request_token=token)
        await self._session.request(
            "POST", "/promotions", json_body=body, refusal=True, timeout=PROMOTION_TIMEOUT
        )
        return token

    # Workflows

    async def list_workflows(
        self,
        project_id: str,
        *,
        branch_name: str | None = None,
        created_after: datetime | int | None = None,
        created_before: datetime | int | None = None,
    ) -> list[Workflow]:
        params = _compact(
            project_id=project_id,
            branch_name=branch_name,
            created_after=_seconds(created_after),
            created_before=_seconds(created_before),
        )
        return [w async for w in self._session.paginate("/plumber-workflows", _WORKFLOWS, params)]

    async def describe_workflow(self, wf_id: str) -> Workflow:
        envelope = await self._session.get(f"/plumber-workflows/{wf_id}", _WORKFLOW_ENVELOPE)
        return envelope.workflow

    async def schedule_workflow(
        self,
        project_id: str,
        reference: str,
        *,
        commit_sha: str | None = None,
        pipeline_file: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> ScheduledWorkflow:
        """Run a workflow. Not idempotent on the server, so never retried."""
        body: dict[str, Any] = _compact(
            project_id=project_id,
            reference=reference,
            commit_sha=commit_sha,
            pipeline_file=pipeline_file,
        )
        if parameters:
            body["parameters"] = dict(parameters)
        response = await self._session.request(
            "POST", "/plumber-workflows", json_body=body, retry=False
        )
        return decode(response, _SCHEDULED)

    async def reschedule_workflow(
        self, wf_id: str, *, request_token: str | None = None
    ) -> ScheduledWorkflow:
        """Rerun a workflow; retried with one ``request_token``."""
        params = {"request_token": request_token or str(uuid.uuid4())}
        response = await self._session.request(
            "POST", f"/plumber-workflows/{wf_id}/reschedule", params=params
        )
        return decode(response, _SCHEDULED)

    async def terminate_workflow(self, wf_id: str) -> str:
        response = await self._session.request("POST", f"/plumber-workflows/{wf_id}/terminate")
        return decode(response, _STR)

    # Deployment targets

    async def list_deployment_targets(self, project_id: str) -> list[DeploymentTarget]:
        return await self._session.get("/deployment_targets", _TARGETS, {"project_id": project_id})

    async def describe_deployment_target(self, target_id: str) -> DeploymentTarget:
        return await self._session.get(f"/deployment_targets/{target_id}", _TARGET)

    async def find_deployment_target(self, project_id: str, name: str) -> DeploymentTarget | None:
        """Describe by name: the project's target called ``name``, or ``None``."""
        params = {"project_id": project_id, "target_name": name}
        targets = await self._session.get("/deployment_targets", _TARGETS, params)
        return targets[0] if targets else None

    async def deployment_history(
        self,
        target_id: str,
        *,
        cursor_type: CursorType = "FIRST",
        cursor_value: int | None = None,
        filters: HistoryFilter | None = None,
    ) -> DeploymentHistoryPage:
        """One page (≤ 10, newest first). Older: ``cursor_type="BEFORE"`` + ``cursor_before``."""
        params = _compact(cursor_type=cursor_type, cursor_value=cursor_value)
        params.update((filters or HistoryFilter()).params())
        return await self._session.get(f"/deployment_targets/{target_id}/history", _HISTORY, params)

    async def iter_deployment_history(
        self, target_id: str, *, filters: HistoryFilter | None = None
    ) -> AsyncIterator[Deployment]:
        """Every history entry, newest first, following ``cursor_before`` to the oldest."""
        page = await self.deployment_history(target_id, filters=filters)
        while True:
            for deployment in page.deployments:
                yield deployment
            if not page.cursor_before or not page.deployments:
                return
            page = await self.deployment_history(
                target_id, cursor_type="BEFORE", cursor_value=page.cursor_before, filters=filters
            )

    async def activate_deployment_target(self, target_id: str) -> TargetActivation:
        path = f"/deployment_targets/{target_id}/activate"
        return decode(await self._session.request("PATCH", path), _ACTIVATION)

    async def deactivate_deployment_target(self, target_id: str) -> TargetActivation:
        """Cordon the target: promotions to it are refused (automatic ones fail)."""
        path = f"/deployment_targets/{target_id}/deactivate"
        return decode(await self._session.request("PATCH", path), _ACTIVATION)

    # Projects

    async def list_projects(self) -> list[Project]:
        """Every visible project, following ``x-has-more`` pages."""
        projects: list[Project] = []
        for page in range(1, 101):
            response = await self._session.request("GET", "/projects", params={"page": page})
            page_projects: list[Project] = decode(response, _PROJECTS)
            projects.extend(page_projects)
            if response.headers.get("x-has-more", "false").lower() != "true":
                break
        return projects

    async def describe_project(self, name: str) -> Project:
        """Describe a project by its *name* (the API's describe is by name, not id)."""
        return await self._session.get(f"/projects/{name}", _PROJECT)


_DETAILS = TypeAdapter(PipelineDetails)
_SCHEDULED = TypeAdapter(ScheduledWorkflow)
_TARGET = TypeAdapter(DeploymentTarget)
_HISTORY = TypeAdapter(DeploymentHistoryPage)
_ACTIVATION = TypeAdapter(TargetActivation)
_PROJECT = TypeAdapter(Project)
