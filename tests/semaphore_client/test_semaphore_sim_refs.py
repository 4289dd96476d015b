"""Tags, pull requests and other pipeline files in the simulator, as Semaphore has them.

A tag's pipelines have `branch_name` `refs/tags/<tag>`, a pull request's `pull-request-<n>`;
their webhooks say `reference_type` `tag`/`pull_request` with `branch: null` and the `tag` or
`pull_request` object of the documented fragments. The webhook target carries a notification
rule's filter, applied as Semaphore's notifications service applies it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from semaphore_client import PipelineDoneEvent, ReferenceType, SemaphoreClient, WorkflowTrigger
from semaphore_client.simulator import ManualClock, Simulator, parse_world
from semaphore_client.simulator.engine import Engine
from semaphore_client.simulator.notifications import RuleFilter
from semaphore_client.simulator.records import SimPipeline
from semaphore_client.simulator.webhooks import webhook_payload

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "semaphore"
WORLD = """
projects:
  - name: demo
    deployment_targets: [{name: beta}]
    pipelines:
      .semaphore/semaphore.yml:
        promotions: [{name: beta, pipeline_file: deploy.yml, deployment_target: beta}]
      .semaphore/deploy.yml: {}
      .semaphore/nightly.yml: {}
  - name: billing-api
    pipelines: {.semaphore/semaphore.yml: {}}
"""


def fragment(name: str) -> dict[str, Any]:
    text = (SAMPLES / name).read_text()
    return dict(json.loads(re.sub(r",\s*}", "}", "{" + text + "}")))


class Receiver:
    def __init__(self) -> None:
        self.url = ""
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        return web.Response(status=204)

    def refs(self) -> list[tuple[str, str]]:
        """(reference_type, pipeline file name) of every delivery, in order."""
        return [
            (b["revision"]["reference_type"], b["pipeline"]["yaml_file_name"]) for b in self.bodies
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    found.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield found
    await runner.cleanup()


async def push(control: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await control.post("/_sim/push", json={"project": "demo", **body})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


# -- pipelines and the API ------------------------------------------------------------------


async def test_a_tag_and_a_pull_request_name_their_pipelines_as_plumber_does() -> None:
    sim = Simulator(parse_world(WORLD), default_duration=0.02)
    async with (
        sim,
        httpx.AsyncClient(base_url=sim.url) as control,
        SemaphoreClient(token="t", base_url=sim.base_url) as client,
    ):
        main = await push(control, branch="main", commit_sha="a" * 40)
        tag = await push(control, tag="v1.2.3", commit_sha="b" * 40)
        pr = await push(control, pull_request=42, branch="feature-x", commit_sha="c" * 40)
        await sim.wait_for(lambda: all(p.done for p in sim.engine.pipelines.values()))
        tagged = await client.get_pipeline(tag["pipeline_id"])
        requested = await client.get_pipeline(pr["pipeline_id"])
        workflow = await client.describe_workflow(tag["workflow_id"])
        project_id = (await control.get("/_sim/world")).json()["projects"][0]["id"]
        on_main = await client.list_pipelines(project_id, branch_name="main")
        on_tag = await client.list_pipelines(project_id, branch_name="refs/tags/v1.2.3")
        on_pr = await client.list_pipelines(project_id, branch_name="pull-request-42")

    assert (tagged.branch_name, tagged.reference_type, tagged.reference) == (
        "refs/tags/v1.2.3",
        ReferenceType.TAG,
        "v1.2.3",
    )
    assert (requested.branch_name, requested.reference_type, requested.reference) == (
        "pull-request-42",
        ReferenceType.PULL_REQUEST,
        "42",
    )
    assert workflow.branch_name == "refs/tags/v1.2.3"
    assert [p.ppl_id for p in on_main] == [main["pipeline_id"]]  # exact match, as in Plumber
    assert [p.ppl_id for p in on_tag] == [tag["pipeline_id"]]
    assert [p.ppl_id for p in on_pr] == [pr["pipeline_id"]]
    assert tagged.queue is not None and tagged.queue.name == "v1.2.3-.semaphore/semaphore.yml"


async def test_a_scheduled_run_of_another_pipeline_file() -> None:
    sim = Simulator(parse_world(WORLD), default_duration=0.02)
    async with (
        sim,
        httpx.AsyncClient(base_url=sim.url) as control,
        SemaphoreClient(token="t", base_url=sim.base_url) as client,
    ):
        nightly = await push(
            control, branch="main", pipeline_file=".semaphore/nightly.yml", triggered_by="schedule"
        )
        pipeline = await client.get_pipeline(nightly["pipeline_id"])
        workflow = await client.describe_workflow(nightly["workflow_id"])

    assert (pipeline.branch_name, pipeline.yml_file_path) == ("main", ".semaphore/nightly.yml")
    assert workflow.triggered_by is WorkflowTrigger.SCHEDULE


def engine() -> Engine:
    return Engine(parse_world(WORLD), ManualClock(), default_duration=1.0)


def finished(e: Engine, **ref: Any) -> SimPipeline:
    _, pipeline = e.start_workflow("demo", commit_sha="d" * 40, commit_message="Add docs", **ref)
    assert isinstance(e.clock, ManualClock)
    e.clock.advance(1.0)
    e.run_until(e.clock.now())
    assert pipeline.done
    return pipeline


def test_when_conditions_see_the_tag_or_the_pull_request_not_a_branch() -> None:
    e = engine()
    tag = finished(e, tag="v1.2.3").context()
    pr = finished(e, pull_request="42", branch="feature-x").context()
    assert (tag["branch"], tag["tag"], tag["pull_request"]) == ("", "v1.2.3", "")
    assert (pr["branch"], pr["tag"], pr["pull_request"]) == ("", "", "42")


# -- the webhook payload --------------------------------------------------------------------


def test_a_tags_webhook_has_the_documented_tag_object_and_no_branch() -> None:
    payload = webhook_payload(finished(engine(), tag="v1.0.1"), parse_world(WORLD))
    revision = payload["revision"]
    assert revision["reference_type"] == "tag"
    assert revision["reference"] == "refs/tags/v1.0.1"
    assert revision["branch"] is None and revision["pull_request"] is None
    assert revision["tag"] == fragment("webhook-revision-tag-fragment.json")["tag"]
    event = PipelineDoneEvent.model_validate(payload)
    assert event.revision.branch_name == "refs/tags/v1.0.1"


def test_a_pull_requests_webhook_has_the_documented_object_with_a_string_number() -> None:
    pipeline = finished(engine(), pull_request="2", branch="webhook_notifications")
    revision = webhook_payload(pipeline, parse_world(WORLD))["revision"]
    documented = fragment("webhook-revision-pull-request-fragment.json")["pull_request"]
    assert revision["reference_type"] == "pull_request"
    assert revision["reference"] == "refs/pull/2/merge"
    assert revision["branch"] is None and revision["tag"] is None
    pull_request = revision["pull_request"]
    assert set(pull_request) == set(documented)
    assert pull_request["number"] == "2"  # a proto string field, not the docs' 2
    assert pull_request["branch_name"] == "webhook_notifications"
    assert pull_request["name"] == "Add docs"
    assert pull_request["head_sha"] == "d" * 40
    assert pull_request["commit_range"] == f"{'d' * 40}^..{'d' * 40}"


def test_a_branchs_webhook_is_unchanged() -> None:
    revision = webhook_payload(finished(engine(), branch="main"), parse_world(WORLD))["revision"]
    assert revision["reference_type"] == "branch"
    assert revision["reference"] == "refs/heads/main"
    assert revision["branch"] == {"name": "main", "commit_range": ""}
    assert revision["tag"] is None and revision["pull_request"] is None


# -- the notification rule's filter ---------------------------------------------------------

MAIN = {"branch": "main"}
TAG_V1 = {"tag": "v1.2.3"}
TAG_V2 = {"tag": "v2.0.0"}
PR_FEATURE = {"pull_request": "42", "branch": "feature-x"}
PR_FROM_MAIN = {"pull_request": "43", "branch": "main"}


@pytest.mark.parametrize(
    ("rule", "ref", "sent"),
    [
        ({}, MAIN, True),
        ({}, TAG_V1, True),
        ({}, PR_FEATURE, True),
        # branches: [main] and no tag filter: every tag still matches (empty = all)
        ({"branches": ["main"]}, MAIN, True),
        ({"branches": ["main"]}, TAG_V1, True),
        ({"branches": ["main"]}, PR_FEATURE, False),
        ({"branches": ["main"]}, PR_FROM_MAIN, True),  # a PR matches by its head branch too
        ({"branches": ["main"]}, {"branch": "develop"}, False),
        ({"branches": ["pull-request-42"]}, PR_FEATURE, True),
        ({"branches": ["/^feature-.*/"]}, PR_FEATURE, True),
        ({"branches": ["/ai/"]}, MAIN, True),  # a regex is searched, not anchored
        # tags: only tag pipelines are checked against it
        ({"tags": ["/^v1\\./"]}, TAG_V1, True),
        ({"tags": ["/^v1\\./"]}, TAG_V2, False),
        ({"tags": ["/^v1\\./"]}, MAIN, True),
        ({"branches": ["main"], "tags": ["v2.0.0"]}, TAG_V1, False),
        ({"branches": ["main"], "tags": ["v2.0.0"]}, TAG_V2, True),
        # pipelines: the yaml_file_name
        ({"pipelines": ["semaphore.yml"]}, MAIN, True),
        (
            {"pipelines": ["semaphore.yml"]},
            {"branch": "main", "pipeline_file": ".semaphore/nightly.yml"},
            False,
        ),
        (
            {"pipelines": ["/nightly/"]},
            {"branch": "main", "pipeline_file": ".semaphore/nightly.yml"},
            True,
        ),
        ({"pipelines": [".semaphore/semaphore.yml"]}, MAIN, False),
        # projects and results
        ({"projects": ["demo"]}, MAIN, True),
        ({"projects": ["/.*-api$/"]}, MAIN, False),
        ({"results": ["failed"]}, MAIN, False),
        ({"results": ["passed"]}, MAIN, True),
    ],
)
def test_a_rule_filter_matches_as_semaphore_does(
    rule: dict[str, Any], ref: dict[str, str], sent: bool
) -> None:
    assert RuleFilter.model_validate(rule).matches(finished(engine(), **ref)) is sent


async def test_only_pipelines_the_rule_matches_are_sent(receiver: Receiver) -> None:
    sim = Simulator(parse_world(WORLD), default_duration=0.02)
    async with sim, httpx.AsyncClient(base_url=sim.url) as control:
        rule = {"url": receiver.url, "secret": "s", "filter": {"branches": ["main"]}}
        answer = await control.put("/_sim/webhook", json=rule)
        assert answer.json() == {
            "url": receiver.url,
            "signed": True,
            "timeout": 500,
            "retries": 0,
            "filter": {"branches": ["main"]},
        }
        await push(control, branch="main")
        await push(control, tag="v1.2.3")
        await push(control, pull_request=42, branch="feature-x")
        await push(control, branch="main", pipeline_file=".semaphore/nightly.yml")
        await sim.wait_for(lambda: all(p.done for p in sim.engine.pipelines.values()))
        await sim.drain_webhooks()
        await asyncio.sleep(0)
        only_ci = {
            "url": receiver.url,
            "filter": {"branches": ["main"], "pipelines": ["semaphore.yml"]},
        }
        (await control.put("/_sim/webhook", json=only_ci)).raise_for_status()
        await push(control, branch="main", pipeline_file=".semaphore/nightly.yml")
        await push(control, branch="main")
        await sim.wait_for(lambda: all(p.done for p in sim.engine.pipelines.values()))
        await sim.drain_webhooks()

    assert receiver.refs() == [
        ("branch", "semaphore.yml"),
        ("tag", "semaphore.yml"),  # `branches: [main]` does not keep tags out
        ("branch", "nightly.yml"),
        ("branch", "semaphore.yml"),  # `pipelines: [semaphore.yml]` keeps nightly.yml out
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"tag": "v1", "pull_request": 3}, "give a tag or a pull_request, not both"),
        ({"pull_request": "x"}, "pull_request must be a pull request number"),
        ({"pull_request": 0}, "pull_request must be a pull request number"),
        ({"pull_request": True}, "pull_request must be a pull request number"),
        ({"tag": 7}, "tag must be a string"),
        ({"triggered_by": "cron"}, "triggered_by must be one of hook, schedule, api, manual_run"),
    ],
)
async def test_a_bad_reference_is_a_400(
    control: httpx.AsyncClient, body: dict[str, Any], error: str
) -> None:
    answer = await control.post("/_sim/push", json={"project": "demo", **body})
    assert (answer.status_code, answer.json()) == (400, {"error": error})


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"tags": ["/(/"]}, "filter.tags: Pattern /(/ is not a valid regex statement"),
        (
            {"results": ["ok"]},
            "filter.results: Value ok is not a valid result entry. "
            "Valid values are: passed, failed, stopped, canceled.",
        ),
        ({"branch": ["main"]}, "filter.branch: Extra inputs are not permitted"),
    ],
)
async def test_a_bad_filter_is_a_400(
    control: httpx.AsyncClient, rule: dict[str, Any], error: str
) -> None:
    answer = await control.put("/_sim/webhook", json={"url": "http://x", "filter": rule})
    assert (answer.status_code, answer.json()) == (400, {"error": error})
