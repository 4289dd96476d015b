"""The v1alpha HTTP API of the simulator: same paths, shapes, statuses and error bodies.

Error bodies follow the service behind each path: the pipelines API answers a JSON-encoded
string (``"Value of 'terminate_request' …"``) and plain-text ``Not Found``; deployment targets
answer plain text; projects answer ``{"message": …}``; a bad token gets 401 ``Unauthorized``
and a request carrying an ``x-semaphore-*`` header gets 404, as on the real service.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from semaphore_client.simulator import encode
from semaphore_client.simulator.engine import Engine
from semaphore_client.simulator.paging import history_matches, history_page, page_numbers
from semaphore_client.simulator.parsing import read_params, self_url, since_filter
from semaphore_client.simulator.records import SimError, SimPipeline, SimTarget, SimWorkflow

PREFIX = "/api/v1alpha"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RESERVED = {"switch_id", "name", "user_id", "override", "request_token", "pipeline_id"}


def error_response(path: str, error: SimError) -> web.Response:
    """An error in the style of the service that owns ``path``."""
    if path.startswith(PREFIX + "/projects"):
        return web.json_response({"message": error.message}, status=error.status)
    if error.status == 404 or path.startswith(PREFIX + "/deployment_targets"):
        return web.Response(status=error.status, text=error.message)
    return web.json_response(error.message, status=error.status)


def _auth_failure(request: web.Request, token: str | None) -> web.Response | None:
    """The auth layer in front of every service answers in plain text."""
    if any(name.lower().startswith("x-semaphore-") for name in request.headers):
        return web.Response(status=404, text="Not Found")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    valid = scheme in ("Token", "Bearer") and given.strip() != ""
    if not valid or (token is not None and given.strip() != token):
        return web.Response(status=401, text="Unauthorized")
    return None


class PublicApi:
    def __init__(self, engine: Engine, token: str | None) -> None:
        self.engine = engine
        self.token = token

    def register(self, app: web.Application) -> None:
        routes = [
            ("GET", "/pipelines", self.list_pipelines),
            ("GET", "/pipelines/{id}", self.describe_pipeline),
            ("PATCH", "/pipelines/{id}", self.terminate_pipeline),
            ("GET", "/promotions", self.list_promotions),
            ("POST", "/promotions", self.trigger_promotion),
            ("GET", "/plumber-workflows", self.list_workflows),
            ("POST", "/plumber-workflows", self.schedule_workflow),
            ("GET", "/plumber-workflows/{id}", self.describe_workflow),
            ("POST", "/plumber-workflows/{id}/reschedule", self.reschedule_workflow),
            ("POST", "/plumber-workflows/{id}/terminate", self.terminate_workflow),
            ("GET", "/deployment_targets", self.list_targets),
            ("GET", "/deployment_targets/{id}", self.describe_target),
            ("GET", "/deployment_targets/{id}/history", self.history),
            ("PATCH", "/deployment_targets/{id}/activate", self.activate),
            ("PATCH", "/deployment_targets/{id}/deactivate", self.deactivate),
            ("GET", "/projects", self.list_projects),
            ("GET", "/projects/{name}", self.describe_project),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, PREFIX + path, self._guard(handler))
        app.router.add_route("*", PREFIX + "/{tail:.*}", self._guard(self._unknown))

    def _guard(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            refusal = _auth_failure(request, self.token)
            if refusal is not None:
                return refusal
            try:
                self.engine.catch_up()
                response = await handler(request)
                self.engine.settle()
                return response
            except SimError as error:
                return error_response(request.path, error)

        return guarded

    async def _unknown(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text="oops")

    # Lookups

    def _pipeline(self, ppl_id: str) -> SimPipeline:
        pipeline = self.engine.pipelines.get(ppl_id)
        if pipeline is None:
            raise SimError(404, "Not Found")
        return pipeline

    def _workflow(self, wf_id: str) -> SimWorkflow:
        workflow = self.engine.workflows.get(wf_id)
        if workflow is None:
            raise SimError(404, "Not Found")
        return workflow

    def _target(self, target_id: str) -> SimTarget:
        try:
            uuid.UUID(target_id)
        except ValueError:
            raise SimError(400, "target_id must be a valid UUID") from None
        target = self.engine.targets.get(target_id)
        if target is None:
            raise SimError(404, "Not found")
        return target

    def _paged(
        self, request: web.Request, items: list[dict[str, Any]], default: int, limit: int
    ) -> web.Response:
        page, headers = page_numbers(items, request.query, self_url(request), default, limit)
        return web.json_response(page, headers=headers)

    # Pipelines

    async def list_pipelines(self, request: web.Request) -> web.Response:
        query = request.query
        if not query.get("project_id") and not query.get("wf_id"):
            raise SimError(404, "Not Found")
        found = [p for p in self.engine.pipelines.values() if _pipeline_matches(p, query)]
        found.sort(key=lambda p: p.seq, reverse=True)
        items = [encode.pipeline_list_item(p, self.engine.world) for p in found]
        return self._paged(request, items, 30, 1001)

    async def describe_pipeline(self, request: web.Request) -> web.Response:
        pipeline = self._pipeline(request.match_info["id"])
        detailed = request.query.get("detailed") == "true"
        return web.json_response(encode.pipeline_describe(pipeline, self.engine.world, detailed))

    async def terminate_pipeline(self, request: web.Request) -> web.Response:
        pipeline = self._pipeline(request.match_info["id"])
        params = await read_params(request)
        if params.get("terminate_request") is not True:
            raise SimError(400, "Value of 'terminate_request' field must be boolean value 'true'.")
        self.engine.terminate(pipeline)
        return web.json_response("Pipeline termination started.")

    # Promotions

    async def list_promotions(self, request: web.Request) -> web.Response:
        source = self._pipeline(request.query.get("pipeline_id", ""))
        found = self.engine.promoter.list_for(source, request.query.get("name"))
        return self._paged(request, [encode.promotion_body(p) for p in found], 10, 100)

    async def trigger_promotion(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        for required in ("pipeline_id", "name"):
            if not params.get(required):
                raise SimError(400, f"Missing required post parameter {required}.")
        source = self._pipeline(str(params["pipeline_id"]))
        self.engine.promoter.trigger(
            source,
            str(params["name"]),
            override=_override(params.get("override", False)),
            parameters={k: str(v) for k, v in params.items() if k not in RESERVED},
            request_token=str(params.get("request_token") or ""),
        )
        return web.json_response("Promotion successfully triggered.")

    # Workflows

    async def list_workflows(self, request: web.Request) -> web.Response:
        query = request.query
        if not query.get("project_id"):
            raise SimError(404, "Not Found")
        found = [
            w
            for w in self.engine.workflows.values()
            if w.project.id == query["project_id"]
            and query.get("branch_name", w.branch_name) == w.branch_name
            and since_filter(w.created_at, query, "created")
        ]
        found.sort(key=lambda w: w.created_at, reverse=True)
        items = [encode.workflow_body(w, self.engine.world, listed=True) for w in found]
        return self._paged(request, items, 30, 1001)

    async def describe_workflow(self, request: web.Request) -> web.Response:
        workflow = self._workflow(request.match_info["id"])
        body = encode.workflow_body(workflow, self.engine.world, listed=False)
        return web.json_response({"workflow": body})

    async def schedule_workflow(self, request: web.Request) -> web.Response:
        params = await read_params(request)
        project = next(
            (p for p in self.engine.world.projects if p.id == params.get("project_id")), None
        )
        if project is None:
            raise SimError(400, "Invalid request - missing parameter 'project_id'.")
        reference = str(params.get("reference") or "")
        if not reference:
            raise SimError(400, "Invalid request - missing parameter 'reference'.")
        tag = reference.removeprefix("refs/tags/") if reference.startswith("refs/tags/") else ""
        branch = "" if tag else reference.removeprefix("refs/heads/")
        try:
            workflow, pipeline = self.engine.start_workflow(
                project.name,
                branch=branch,
                tag=tag,
                commit_sha=str(params.get("commit_sha") or "") or None,
                pipeline_file=str(params.get("pipeline_file") or "") or None,
                triggered_by=2,
            )
        except KeyError as exc:
            raise SimError(400, f"Invalid request - unknown pipeline file {exc}.") from None
        return web.json_response({"workflow_id": workflow.wf_id, "pipeline_id": pipeline.ppl_id})

    async def reschedule_workflow(self, request: web.Request) -> web.Response:
        original = self._workflow(request.match_info["id"])
        token = request.query.get("request_token", "")
        if not token:
            raise SimError(400, "Missing required post parameter request_token.")
        rerun = self.engine.reschedule(original, token)
        return web.json_response({"wf_id": rerun.wf_id, "ppl_id": rerun.initial_ppl_id})

    async def terminate_workflow(self, request: web.Request) -> web.Response:
        count = self.engine.terminate_workflow(self._workflow(request.match_info["id"]).wf_id)
        return web.json_response(f"Termination started for {count} pipelines.")

    # Deployment targets

    async def list_targets(self, request: web.Request) -> web.Response:
        project_id = request.query.get("project_id", "")
        if not project_id:
            raise SimError(400, "project_id must be present")
        name = request.query.get("target_name")
        found = [
            t
            for t in self.engine.targets.values()
            if t.project.id == project_id and name in (None, t.spec.name)
        ]
        return web.json_response([encode.target_body(t, self.engine.world) for t in found])

    async def describe_target(self, request: web.Request) -> web.Response:
        target = self._target(request.match_info["id"])
        return web.json_response(encode.target_body(target, self.engine.world))

    async def history(self, request: web.Request) -> web.Response:
        target = self._target(request.match_info["id"])
        cursor_type = request.query.get("cursor_type", "FIRST").upper()
        if cursor_type not in ("FIRST", "AFTER", "BEFORE"):
            raise SimError(400, "cursor_type must be one of FIRST, AFTER, BEFORE")
        try:
            cursor_value = int(request.query.get("cursor_value") or 0)
        except ValueError:
            raise SimError(400, "cursor_value must be an integer") from None
        entries = [d for d in target.history if history_matches(d, request.query)]
        page, before, after = history_page(entries, cursor_type, cursor_value)
        return web.json_response(
            {
                "deployments": [encode.deployment_body(d) for d in page],
                "cursor_before": before,
                "cursor_after": after,
            }
        )

    async def activate(self, request: web.Request) -> web.Response:
        return self._cordon(self._target(request.match_info["id"]), False)

    async def deactivate(self, request: web.Request) -> web.Response:
        return self._cordon(self._target(request.match_info["id"]), True)

    def _cordon(self, target: SimTarget, cordoned: bool) -> web.Response:
        target.cordoned = cordoned
        target.updated_at = self.engine.now
        self.engine.emit(
            "target", state="cordoned" if cordoned else "usable", deployment_target=target.spec.name
        )
        return web.json_response({"target_id": target.id, "cordoned": cordoned})

    # Projects

    async def list_projects(self, request: web.Request) -> web.Response:
        page = request.query.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 100:
            raise SimError(400, "page must be between 1 and 100")
        names = [p.name for p in self.engine.world.projects][(int(page) - 1) * 500 :][:500]
        more = len(self.engine.world.projects) > int(page) * 500
        body = [encode.project_body(name, self.engine.world) for name in names]
        headers = {"x-page": page, "x-has-more": "true" if more else "false"}
        return web.json_response(body, headers=headers)

    async def describe_project(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.engine.world.project(name) is None:
            raise SimError(404, "Not found")
        return web.json_response(encode.project_body(name, self.engine.world))


def _pipeline_matches(p: SimPipeline, query: Any) -> bool:
    if query.get("project_id") and p.workflow.project.id != query["project_id"]:
        return False
    if query.get("wf_id") and p.workflow.wf_id != query["wf_id"]:
        return False
    if query.get("branch_name") and p.workflow.branch_name != query["branch_name"]:
        return False
    if query.get("yml_file_path") and p.path != query["yml_file_path"].lstrip("/"):
        return False
    if not since_filter(p.created_at, query, "created"):
        return False
    has_done_filter = query.get("done_after") or query.get("done_before")
    if has_done_filter and not p.done:
        return False
    return since_filter(p.times.get("done", 0.0), query, "done")


def _override(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise SimError(400, f"Invalid value of 'override' param: \"{value}\" - needs to be boolean.")
