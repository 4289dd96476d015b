"""SemaphoreClient against the simulator over a real loopback socket, for every call."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from semaphore_client import (
    BadRequest,
    DeploymentState,
    NotFound,
    PipelineResult,
    PipelineState,
    PipelineTrigger,
    Promotion,
    PromotionRefused,
    PromotionStatus,
    ResultReason,
    RetryPolicy,
    SemaphoreClient,
    TargetState,
    Unauthorized,
    WorkflowTrigger,
)
from semaphore_client.simulator import Simulator


async def push(control: httpx.AsyncClient, **body: Any) -> dict[str, str]:
    response = await control.post("/_sim/push", json={"project": "demo", **body})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def script(control: httpx.AsyncClient, **outcome: Any) -> None:
    response = await control.post("/_sim/outcomes", json=outcome)
    assert response.status_code == 200, response.text


async def done(simulator: Simulator, ppl_id: str) -> None:
    await simulator.wait_for(lambda: simulator.engine.pipelines[ppl_id].done)


async def project_id(client: SemaphoreClient) -> str:
    return (await client.describe_project("demo")).id


async def scheduled(simulator: Simulator, client: SemaphoreClient, ppl_id: str) -> Promotion:
    """The newest promotion of `ppl_id`, once Gofer has scheduled it (the trigger's 200 only
    means it was recorded)."""
    await simulator.wait_for(
        lambda: any(p.scheduled_pipeline_id for p in simulator.engine.promotions)
    )
    return (await client.list_promotions(ppl_id))[0]


async def test_projects(sim_client: SemaphoreClient) -> None:
    [listed] = await sim_client.list_projects()
    described = await sim_client.describe_project("demo")
    assert listed.name == described.name == "demo"
    assert described.spec.repository.pipeline_file == ".semaphore/semaphore.yml"
    with pytest.raises(NotFound) as caught:
        await sim_client.describe_project("nope")
    assert caught.value.message == "Not found"


async def test_pipeline_lifecycle_describe_and_list(
    sim_client: SemaphoreClient, simulator: Simulator, control: httpx.AsyncClient
) -> None:
    pushed = await push(control, commit_sha="a" * 40, commit_message="first")
    running = (await sim_client.describe_pipeline(pushed["pipeline_id"])).pipeline
    assert running.state is PipelineState.RUNNING and running.result is None
    await done(simulator, pushed["pipeline_id"])
    details = await sim_client.describe_pipeline(pushed["pipeline_id"], detailed=True)
    assert details.pipeline.passed and details.pipeline.result_reason is ResultReason.TEST
    assert details.pipeline.commit_sha == "a" * 40
    assert details.pipeline.wf_id == pushed["workflow_id"]
    assert [b.name for b in details.blocks] == ["Build", "Test"]
    assert details.pipeline.done_at is not None and details.pipeline.running_at is not None
    assert details.pipeline.done_at >= details.pipeline.running_at
    [listed] = await sim_client.list_pipelines(await project_id(sim_client))
    assert listed.ppl_id == pushed["pipeline_id"] and listed.result is PipelineResult.PASSED


async def test_list_pipelines_pages_and_filters(
    sim_client: SemaphoreClient, control: httpx.AsyncClient
) -> None:
    await script(control, pipeline_file="semaphore.yml", duration=30)
    first = await push(control, branch="main")
    second = await push(control, branch="feature")
    pid = await project_id(sim_client)
    everything = await sim_client.list_pipelines(pid, page_size=1)
    assert [p.ppl_id for p in everything] == [second["pipeline_id"], first["pipeline_id"]]
    on_main = await sim_client.list_pipelines(pid, branch_name="main")
    assert [p.ppl_id for p in on_main] == [first["pipeline_id"]]
    by_workflow = await sim_client.list_pipelines(wf_id=second["workflow_id"])
    assert [p.ppl_id for p in by_workflow] == [second["pipeline_id"]]
    assert await sim_client.list_pipelines(pid, done_after=0) == []  # both still running


async def test_terminate_pipeline(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    await script(control, pipeline_file="semaphore.yml", duration=30)
    pushed = await push(control)
    assert await sim_client.terminate_pipeline(pushed["pipeline_id"]) == (
        "Pipeline termination started."
    )
    pipeline = await sim_client.get_pipeline(pushed["pipeline_id"])
    # As in Plumber, stopping takes a while (the jobs' epilogues): `stopping`, then done.
    assert (pipeline.state, pipeline.result) == (PipelineState.STOPPING, None)
    assert await sim_client.terminate_pipeline(pushed["pipeline_id"])  # idempotent
    await simulator.wait_for(lambda: simulator.engine.pipelines[pushed["pipeline_id"]].done)
    pipeline = await sim_client.get_pipeline(pushed["pipeline_id"])
    assert (pipeline.result, pipeline.result_reason) == (PipelineResult.STOPPED, ResultReason.USER)
    assert pipeline.terminate_request == "stop"


async def test_workflow_calls(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    await script(control, pipeline_file="semaphore.yml", commit_sha="c" * 40, duration=30)
    pushed = await push(control, commit_sha="b" * 40)
    pid = await project_id(sim_client)
    described = await sim_client.describe_workflow(pushed["workflow_id"])
    assert described.triggered_by is WorkflowTrigger.HOOK
    assert described.initial_ppl_id == pushed["pipeline_id"]
    scheduled = await sim_client.schedule_workflow(pid, "refs/heads/main", commit_sha="c" * 40)
    assert (await sim_client.describe_workflow(scheduled.workflow_id)).triggered_by == "api"
    again = await sim_client.reschedule_workflow(pushed["workflow_id"], request_token="r1")
    same = await sim_client.reschedule_workflow(pushed["workflow_id"], request_token="r1")
    assert again == same
    rerun = await sim_client.describe_workflow(again.workflow_id)
    assert rerun.rerun_of == pushed["workflow_id"] and rerun.commit_sha == "b" * 40
    listed = await sim_client.list_workflows(pid)
    assert [w.wf_id for w in listed][-1] == pushed["workflow_id"]  # newest first
    assert len(listed) == 3 and {w.triggered_by for w in listed} == {"hook", "api"}
    message = await sim_client.terminate_workflow(scheduled.workflow_id)
    assert message == "Termination started for 1 pipelines."
    with pytest.raises(BadRequest):
        await sim_client.schedule_workflow("no-such-project", "main")


async def test_promotion_needs_override_until_passed(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    await script(control, pipeline_file="semaphore.yml", duration=30)
    pushed = await push(control)
    with pytest.raises(PromotionRefused) as caught:
        await sim_client.trigger_promotion(pushed["pipeline_id"], "beta")
    assert caught.value.needs_override
    await sim_client.trigger_promotion(pushed["pipeline_id"], "beta", override=True)
    assert await sim_client.list_promotions(pushed["pipeline_id"]) == []  # not triggering yet
    promotion = await scheduled(simulator, sim_client, pushed["pipeline_id"])
    assert promotion.override and promotion.status is PromotionStatus.PASSED
    with pytest.raises(PromotionRefused):
        await sim_client.trigger_promotion(pushed["pipeline_id"], "no-such-promotion")


async def test_promotion_request_token_deploys_once(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    pushed = await push(control)
    await done(simulator, pushed["pipeline_id"])
    for _ in range(3):
        await sim_client.trigger_promotion(pushed["pipeline_id"], "beta", request_token="once")
    await scheduled(simulator, sim_client, pushed["pipeline_id"])
    [promotion] = await sim_client.list_promotions(pushed["pipeline_id"], name="beta")
    assert not promotion.is_auto and promotion.scheduled_pipeline_id
    deploy = await sim_client.get_pipeline(promotion.scheduled_pipeline_id)
    assert deploy.promotion_of == pushed["pipeline_id"]
    assert deploy.yml_file_path == ".semaphore/deploy-beta.yml"
    assert deploy.triggerer is not None
    assert deploy.triggerer.ppl_triggered_by is PipelineTrigger.PROMOTION
    wf_pipelines = await sim_client.list_pipelines(wf_id=pushed["workflow_id"])
    assert len(wf_pipelines) == 2


async def test_deployment_targets_and_history(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    pid = await project_id(sim_client)
    targets = await sim_client.list_deployment_targets(pid)
    assert sorted(t.name for t in targets) == ["beta", "prod"]
    beta = await sim_client.find_deployment_target(pid, "beta")
    assert beta is not None and beta.state is TargetState.USABLE
    assert await sim_client.find_deployment_target(pid, "gamma") is None
    pushed = await push(control)
    await done(simulator, pushed["pipeline_id"])

    assert (await sim_client.deactivate_deployment_target(beta.id)).cordoned
    assert (await sim_client.describe_deployment_target(beta.id)).cordoned
    with pytest.raises(PromotionRefused) as caught:
        await sim_client.trigger_promotion(pushed["pipeline_id"], "beta")
    assert caught.value.target_cordoned
    assert (await sim_client.deployment_history(beta.id)).deployments == []

    assert not (await sim_client.activate_deployment_target(beta.id)).cordoned
    await sim_client.trigger_promotion(pushed["pipeline_id"], "beta")
    [entry] = (await sim_client.deployment_history(beta.id)).deployments
    assert entry.state is DeploymentState.PENDING and not entry.pipeline_id
    await scheduled(simulator, sim_client, pushed["pipeline_id"])
    [entry] = (await sim_client.deployment_history(beta.id)).deployments
    assert entry.state is DeploymentState.STARTED
    assert entry.prev_pipeline_id == pushed["pipeline_id"] and entry.pipeline_id
    described = await sim_client.describe_deployment_target(beta.id)
    assert described.last_deployment is not None and described.last_deployment.id == entry.id


async def test_history_pages_by_cursor(
    sim_client: SemaphoreClient, control: httpx.AsyncClient, simulator: Simulator
) -> None:
    pushed = await push(control)
    await done(simulator, pushed["pipeline_id"])
    for n in range(12):
        await sim_client.trigger_promotion(pushed["pipeline_id"], "beta", request_token=f"t{n}")
    beta = await sim_client.find_deployment_target(await project_id(sim_client), "beta")
    assert beta is not None
    first = await sim_client.deployment_history(beta.id)
    assert len(first.deployments) == 10 and first.cursor_before and not first.cursor_after
    every = [d async for d in sim_client.iter_deployment_history(beta.id)]
    assert len(every) == 12 and len({d.id for d in every}) == 12
    stamps = [d.triggered_at for d in every]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]


async def test_errors_over_the_wire(sim_client: SemaphoreClient) -> None:
    with pytest.raises(NotFound) as missing:
        await sim_client.describe_pipeline("00000000-0000-0000-0000-000000000000")
    assert missing.value.message == "Not Found"
    with pytest.raises(BadRequest) as bad_id:
        await sim_client.describe_deployment_target("not-a-uuid")
    assert bad_id.value.message == "target_id must be a valid UUID"


async def test_only_the_configured_token_is_accepted() -> None:
    retry = RetryPolicy.never()
    async with Simulator(token="right") as sim:
        async with SemaphoreClient(token="wrong", base_url=sim.base_url, retry=retry) as client:
            with pytest.raises(Unauthorized):
                await client.list_projects()
        async with SemaphoreClient(token="right", base_url=sim.base_url, retry=retry) as client:
            assert [p.name for p in await client.list_projects()] == ["demo"]


async def test_raw_protocol_details(simulator: Simulator) -> None:
    async with httpx.AsyncClient(base_url=simulator.base_url) as http:
        anonymous = await http.get("/projects")
        assert (anonymous.status_code, anonymous.text) == (401, "Unauthorized")
        smuggled = await http.get(
            "/pipelines", headers={"Authorization": "Token t", "x-semaphore-user-id": "u"}
        )
        assert (smuggled.status_code, smuggled.text) == (404, "Not Found")
        unknown = await http.get("/nothing-here", headers={"Authorization": "Token t"})
        assert (unknown.status_code, unknown.text) == (404, "oops")
        terminate = await http.patch(
            "/pipelines/x", headers={"Authorization": "Token t"}, json={"terminate_request": "true"}
        )
        assert terminate.status_code == 404
        unlisted = await http.get("/pipelines", headers={"Authorization": "Token t"})
        assert (unlisted.status_code, unlisted.text) == (404, "Not Found")
