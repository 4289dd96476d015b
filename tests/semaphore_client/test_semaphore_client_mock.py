"""SemaphoreClient through httpx.MockTransport: requests, pagination, retries, the error tree."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from semaphore_client import (
    ApiError,
    DecodeError,
    Forbidden,
    HistoryFilter,
    NotFound,
    PipelineState,
    PromotionRefused,
    RateLimited,
    RetryPolicy,
    SemaphoreClient,
    SemaphoreError,
    ServerError,
    TransportError,
    Unauthorized,
)

Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://acme.semaphoreci.com/api/v1alpha"


class Router:
    """Routes (method, path) to handlers and records every request it sees."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Handler] = {}
        self.requests: list[httpx.Request] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        self.routes[(method, "/api/v1alpha" + path)] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, text="oops")
        return handler(request)

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/api/v1alpha" + path]


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda _request: httpx.Response(status, json=body, headers=headers)


def sequence(*responses: httpx.Response | Exception) -> Handler:
    remaining = list(responses)

    def handle(request: httpx.Request) -> httpx.Response:
        item = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handle


@pytest.fixture
def router() -> Router:
    return Router()


@pytest.fixture
async def client(router: Router, fast_retry: RetryPolicy) -> AsyncIterator[SemaphoreClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(router))
    async with SemaphoreClient(org="acme", token="s3cret", http=http, retry=fast_retry) as c:
        yield c
    await http.aclose()


PIPELINE = {"ppl_id": "p1", "state": "running", "wf_id": "w1", "created_at": "1686129844"}


async def test_requests_carry_the_token_and_no_x_semaphore_headers(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", answer({"pipeline": PIPELINE, "blocks": []}))
    details = await client.describe_pipeline("p1")
    [request] = router.requests
    assert str(request.url) == f"{BASE}/pipelines/p1"
    assert request.headers["authorization"] == "Token s3cret"
    assert request.headers["user-agent"] == "SemaphoreCI v2.0 Client"
    assert not [h for h in request.headers if h.lower().startswith("x-semaphore")]
    assert details.pipeline.state is PipelineState.RUNNING


async def test_every_request_has_explicit_timeouts(client: SemaphoreClient, router: Router) -> None:
    router.add("GET", "/pipelines/p1", answer({"pipeline": PIPELINE, "blocks": []}))
    router.add("POST", "/promotions", answer("Promotion successfully triggered."))
    await client.describe_pipeline("p1")
    await client.trigger_promotion("p1", "prod")
    read_timeouts = [r.extensions["timeout"]["read"] for r in router.requests]
    assert read_timeouts == [30.0, 10.0]


def test_injected_client_with_x_semaphore_headers_is_refused() -> None:
    http = httpx.AsyncClient(headers={"X-Semaphore-User-Id": "u"})
    with pytest.raises(ValueError, match="x-semaphore"):
        SemaphoreClient(org="acme", token="t", http=http)


def test_explicit_base_url_wins() -> None:
    client = SemaphoreClient(token="t", base_url="http://127.0.0.1:9/api/v1alpha/")
    assert client.base_url == "http://127.0.0.1:9/api/v1alpha"


async def test_detailed_describe_asks_for_exactly_true(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", answer({"pipeline": PIPELINE, "blocks": [{"name": "B"}]}))
    details = await client.describe_pipeline("p1", detailed=True)
    assert router.requests[0].url.params["detailed"] == "true"
    assert details.blocks[0].name == "B"


async def test_list_pipelines_follows_next_links_whatever_their_host(
    client: SemaphoreClient, router: Router
) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", "1"))
        link = (
            "<http://internal/api/v1alpha/pipelines?project_id=pr&branch_name=main&page=2>; "
            'rel="next"'
        )
        headers = {"link": link} if page == 1 else {}
        item = {**PIPELINE, "ppl_id": f"p{page}", "state": "DONE", "result": "PASSED"}
        return httpx.Response(200, json=[item], headers=headers)

    router.add("GET", "/pipelines", pages)
    after = datetime(2023, 6, 7, 9, 24, 4, tzinfo=UTC)
    pipelines = await client.list_pipelines("pr", branch_name="main", created_after=after)
    assert [p.ppl_id for p in pipelines] == ["p1", "p2"]
    first, second = router.calls("/pipelines")
    assert first.url.params["created_after"] == "1686129844"
    assert first.url.host == second.url.host == "acme.semaphoreci.com"
    assert second.url.params["page"] == "2"


async def test_list_pipelines_needs_a_project_or_workflow(client: SemaphoreClient) -> None:
    with pytest.raises(ValueError):
        await client.list_pipelines()


async def test_terminate_sends_a_json_boolean(client: SemaphoreClient, router: Router) -> None:
    router.add("PATCH", "/pipelines/p1", answer("Pipeline termination started."))
    assert await client.terminate_pipeline("p1") == "Pipeline termination started."
    assert json.loads(router.requests[0].content) == {"terminate_request": True}


async def test_trigger_promotion_body(client: SemaphoreClient, router: Router) -> None:
    router.add("POST", "/promotions", answer("Promotion successfully triggered."))
    token = await client.trigger_promotion(
        "p1", "prod", override=True, parameters={"ENVIRONMENT": "eu"}, request_token="tok-1"
    )
    assert token == "tok-1"
    assert json.loads(router.requests[0].content) == {
        "pipeline_id": "p1",
        "name": "prod",
        "override": True,
        "request_token": "tok-1",
        "ENVIRONMENT": "eu",
    }


async def test_trigger_promotion_retries_with_the_same_request_token(
    client: SemaphoreClient, router: Router, sleeps: list[float]
) -> None:
    router.add(
        "POST",
        "/promotions",
        sequence(
            httpx.ReadTimeout("slow"),
            httpx.Response(502, text="bad gateway"),
            httpx.Response(200, json="Promotion successfully triggered."),
        ),
    )
    token = await client.trigger_promotion("p1", "prod")
    tokens = {json.loads(r.content)["request_token"] for r in router.requests}
    assert tokens == {token}
    assert len(router.requests) == 3 and len(sleeps) == 2


async def test_promotion_refusals_are_promotion_refused(
    client: SemaphoreClient, router: Router
) -> None:
    message = "Triggering target when pipeline is not passed requires override confirmation."
    router.add("POST", "/promotions", answer(message, status=400))
    with pytest.raises(PromotionRefused) as caught:
        await client.trigger_promotion("p1", "prod")
    assert caught.value.status == 400 and caught.value.message == message
    assert caught.value.needs_override and not caught.value.target_cordoned
    assert len(router.requests) == 1  # a refusal is not retried


async def test_cordoned_target_refusal(client: SemaphoreClient, router: Router) -> None:
    message = (
        "Triggering promotion with deployment target failed: deployment target is cordoned "
        "(error ID: 5b1e…)"
    )
    router.add("POST", "/promotions", answer(message, status=400))
    with pytest.raises(PromotionRefused) as caught:
        await client.trigger_promotion("p1", "prod", override=True)
    assert caught.value.target_cordoned


async def test_reserved_promotion_parameter_names_are_rejected(client: SemaphoreClient) -> None:
    with pytest.raises(ValueError, match="override"):
        await client.trigger_promotion("p1", "prod", parameters={"override": "x"})


async def test_list_promotions(client: SemaphoreClient, router: Router) -> None:
    promotion = {
        "name": "prod",
        "status": "processing",
        "triggered_by": "u",
        "override": False,
        "triggered_at": {"seconds": 1686129844, "nanos": 0},
    }
    router.add("GET", "/promotions", answer([promotion], headers={"per-page": "10"}))
    [listed] = await client.list_promotions("p1", name="prod")
    assert listed.status == "processing"
    assert dict(router.requests[0].url.params) == {"pipeline_id": "p1", "name": "prod"}


WORKFLOW = {"wf_id": "w1", "initial_ppl_id": "p1", "triggered_by": 2, "branch_name": "main"}


async def test_workflow_calls(client: SemaphoreClient, router: Router) -> None:
    router.add("GET", "/plumber-workflows", answer([WORKFLOW]))
    router.add(
        "GET", "/plumber-workflows/w1", answer({"workflow": {**WORKFLOW, "triggered_by": "API"}})
    )
    router.add("POST", "/plumber-workflows", answer({"workflow_id": "w2", "pipeline_id": "p2"}))
    router.add("POST", "/plumber-workflows/w1/reschedule", answer({"wf_id": "w3", "ppl_id": "p3"}))
    stopped = "Termination started for 1 pipelines."
    router.add("POST", "/plumber-workflows/w1/terminate", answer(stopped))
    [listed] = await client.list_workflows("pr", branch_name="main")
    described = await client.describe_workflow("w1")
    assert listed.triggered_by == described.triggered_by == "api"
    scheduled = await client.schedule_workflow("pr", "refs/heads/main", commit_sha="abc")
    assert (scheduled.workflow_id, scheduled.pipeline_id) == ("w2", "p2")
    rescheduled = await client.reschedule_workflow("w1", request_token="again")
    assert rescheduled.pipeline_id == "p3"
    [reschedule] = router.calls("/plumber-workflows/w1/reschedule")
    assert reschedule.url.params["request_token"] == "again"
    assert await client.terminate_workflow("w1") == stopped


async def test_schedule_workflow_is_never_retried(client: SemaphoreClient, router: Router) -> None:
    router.add("POST", "/plumber-workflows", answer("Internal error", status=503))
    with pytest.raises(ServerError):
        await client.schedule_workflow("pr", "main")
    assert len(router.requests) == 1


TARGET = {
    "id": "t1",
    "name": "prod",
    "state": "CORDONED",
    "active": False,
    "created_at": "2023-06-07T09:24:04.000000Z",
    "last_deployment": None,
}


def deployment(n: int) -> dict[str, Any]:
    return {
        "id": f"d{n}",
        "target_id": "t1",
        "state": "STARTED",
        "pipeline_id": f"p{n}",
        "triggered_by": "Pipeline Done request",
        "triggered_at": "2023-05-26T10:34:31.000000Z",
    }


async def test_deployment_target_calls(client: SemaphoreClient, router: Router) -> None:
    def by_name(request: httpx.Request) -> httpx.Response:
        found = request.url.params.get("target_name") in (None, "prod")
        return httpx.Response(200, json=[TARGET] if found else [])

    router.add("GET", "/deployment_targets", by_name)
    router.add("GET", "/deployment_targets/t1", answer(TARGET))
    router.add(
        "PATCH", "/deployment_targets/t1/activate", answer({"target_id": "t1", "cordoned": False})
    )
    router.add(
        "PATCH", "/deployment_targets/t1/deactivate", answer({"target_id": "t1", "cordoned": True})
    )
    [listed] = await client.list_deployment_targets("pr")
    assert listed.cordoned and listed.state == "cordoned"
    assert (await client.describe_deployment_target("t1")).name == "prod"
    assert (await client.find_deployment_target("pr", "prod")) is not None
    assert (await client.find_deployment_target("pr", "nope")) is None
    assert not (await client.activate_deployment_target("t1")).cordoned
    assert (await client.deactivate_deployment_target("t1")).cordoned


async def test_history_follows_cursor_before_and_keeps_filters(
    client: SemaphoreClient, router: Router
) -> None:
    def history(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor_type") == "BEFORE":
            return httpx.Response(
                200, json={"deployments": [deployment(3)], "cursor_before": 0, "cursor_after": 5}
            )
        return httpx.Response(
            200,
            json={
                "deployments": [deployment(1), deployment(2)],
                "cursor_before": 5,
                "cursor_after": 0,
            },
        )

    router.add("GET", "/deployment_targets/t1/history", history)
    filters = HistoryFilter(git_ref_type="branch", git_ref_label="main")
    entries = [d async for d in client.iter_deployment_history("t1", filters=filters)]
    assert [d.id for d in entries] == ["d1", "d2", "d3"]
    first, second = router.requests
    assert dict(first.url.params) == {
        "cursor_type": "FIRST",
        "git_ref_type": "branch",
        "git_ref_label": "main",
    }
    assert second.url.params["cursor_value"] == "5"
    assert second.url.params["git_ref_label"] == "main"


async def test_projects_follow_x_has_more(client: SemaphoreClient, router: Router) -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        page = request.url.params["page"]
        project = {"metadata": {"name": f"proj{page}", "id": page}, "spec": {}}
        more = "true" if page == "1" else "false"
        return httpx.Response(200, json=[project], headers={"x-page": page, "x-has-more": more})

    router.add("GET", "/projects", pages)
    router.add("GET", "/projects/demo", answer({"metadata": {"name": "demo", "id": "x"}}))
    assert [p.name for p in await client.list_projects()] == ["proj1", "proj2"]
    assert (await client.describe_project("demo")).id == "x"


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (401, "Unauthorized", Unauthorized, "Unauthorized"),
        (404, "Not Found", NotFound, "Not Found"),
        (404, {"message": "Not found"}, NotFound, "Not found"),
        (
            403,
            "The deployment targets feature is not enabled",
            Forbidden,
            "The deployment targets feature is not enabled",
        ),
        (400, {"code": "FAILED_PRECONDITION", "message": "nope"}, ApiError, "nope"),
        (422, {"message": "bad state"}, ApiError, "bad state"),
    ],
)
async def test_error_statuses_map_to_the_tree(
    client: SemaphoreClient,
    router: Router,
    status: int,
    body: Any,
    error: type[ApiError],
    message: str,
) -> None:
    def handle(_request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    router.add("GET", "/projects/demo", handle)
    with pytest.raises(error) as caught:
        await client.describe_project("demo")
    assert isinstance(caught.value, SemaphoreError)
    assert (caught.value.status, caught.value.message) == (status, message)
    assert len(router.requests) == 1


async def test_reads_retry_5xx_then_succeed(
    client: SemaphoreClient, router: Router, sleeps: list[float]
) -> None:
    router.add(
        "GET",
        "/pipelines/p1",
        sequence(
            httpx.Response(500, json="Internal error"),
            httpx.Response(503, text="unavailable"),
            httpx.Response(200, json={"pipeline": PIPELINE}),
        ),
    )
    assert (await client.describe_pipeline("p1")).pipeline.ppl_id == "p1"
    assert len(sleeps) == 2 and all(0 < s <= 0.1 for s in sleeps)


async def test_reads_give_up_after_the_last_attempt(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", answer("Internal error", status=500))
    with pytest.raises(ServerError) as caught:
        await client.describe_pipeline("p1")
    assert caught.value.message == "Internal error"
    assert len(router.requests) == 4


async def test_rate_limit_waits_at_least_retry_after(
    client: SemaphoreClient, router: Router, sleeps: list[float]
) -> None:
    router.add(
        "GET",
        "/pipelines/p1",
        sequence(
            httpx.Response(429, text="slow down", headers={"retry-after": "0.05"}),
            httpx.Response(200, json={"pipeline": PIPELINE}),
        ),
    )
    await client.describe_pipeline("p1")
    assert sleeps[0] >= 0.05


async def test_rate_limit_exhausted_is_rate_limited(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", answer("slow down", status=429))
    with pytest.raises(RateLimited):
        await client.describe_pipeline("p1")


async def test_connection_errors_are_retried_then_translated(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", sequence(httpx.ConnectError("refused")))
    with pytest.raises(TransportError) as caught:
        await client.describe_pipeline("p1")
    assert caught.value.status is None
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert len(router.requests) == 4


async def test_a_body_that_does_not_match_is_a_decode_error(
    client: SemaphoreClient, router: Router
) -> None:
    router.add("GET", "/pipelines/p1", answer({"unexpected": True}))
    with pytest.raises(DecodeError) as caught:
        await client.describe_pipeline("p1")
    assert caught.value.status == 200


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 4.0]
    low = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=lambda: 0.0)
    assert low.delay(1) == 1.0  # jitter keeps at least half the ceiling


async def test_every_request_sent_is_observed_by_endpoint_and_result(
    router: Router, fast_retry: RetryPolicy
) -> None:
    """What an API budget and `/metrics` count (issue 19): each attempt, retries included,
    with ids folded into `:id` so the endpoints stay few."""
    from semaphore_client.session import endpoint

    seen: list[tuple[str, str]] = []
    ppl = "0f3c9a2e-5b1d-4c6e-9f0a-123456789abc"
    router.add("GET", f"/pipelines/{ppl}",
               sequence(httpx.Response(502, text="bad gateway"),
                        httpx.Response(200, json={"pipeline": PIPELINE, "blocks": []})))  # fmt: skip
    http = httpx.AsyncClient(transport=httpx.MockTransport(router))
    async with SemaphoreClient(org="acme", token="s3cret", http=http, retry=fast_retry,
                               observe=lambda e, r: seen.append((e, r))) as client:  # fmt: skip
        await client.get_pipeline(ppl)
        with pytest.raises(NotFound):
            await client.describe_deployment_target("t-1234567")
    await http.aclose()
    assert seen == [
        ("GET /pipelines/:id", "502"),
        ("GET /pipelines/:id", "200"),
        ("GET /deployment_targets/:id", "404"),
    ]
    assert endpoint("GET", "/projects/shop") == "GET /projects/shop"  # a name is not an id
    assert endpoint("POST", "/promotions") == "POST /promotions"
