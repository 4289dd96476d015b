"""A passed pipeline's webhook makes a change only for the project's CI pipeline file on its
deploy branch: a tag, a pull request or a nightly build is ignored, with one debug line and
no call to Semaphore. A change's time comes from Semaphore's describe (to the microsecond),
not from the webhook (whole seconds)."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.adapters.semaphore import Semaphore, SemaphoreEffects
from bot.bootstrap import build_stage_service
from bot.config.loader import load_config
from bot.orchestrator import Orchestrator
from bot.store import MemoryStore
from bot.store.inbox import InboxItem
from semaphore_client import RetryPolicy, SemaphoreClient

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "deploybot.yml"
SAMPLES = ROOT / "tests" / "fixtures" / "semaphore"
SHA = "5" * 40
GONE = "0bad0bad-0000-4000-8000-000000000000"


def fragment(name: str) -> Any:
    """A documented `revision` member (published as `"key": {...}`, with a trailing comma)."""
    text = (SAMPLES / name).read_text()
    return json.loads(re.sub(r",\s*}", "}", "{" + text + "}"))


def passed_on_main() -> dict[str, Any]:
    """The documented payload, made a passed CI pipeline of project `shop` on `main`."""
    body = json.loads((SAMPLES / "webhook-pipeline-done.json").read_text())
    body["project"]["name"] = "shop-web"
    body["pipeline"].update(result="passed", result_reason="test")
    body["revision"].update(
        commit_sha=SHA, reference="refs/heads/main", branch={"name": "main", "commit_range": ""}
    )
    return body


def for_tag(body: dict[str, Any]) -> dict[str, Any]:
    tag = fragment("webhook-revision-tag-fragment.json")["tag"]
    body["revision"].update(
        reference=f"refs/tags/{tag['name']}", reference_type="tag", branch=None, tag=tag
    )
    return body


def for_pull_request(body: dict[str, Any]) -> dict[str, Any]:
    pull_request = fragment("webhook-revision-pull-request-fragment.json")["pull_request"]
    body["revision"].update(
        reference=f"refs/pull/{pull_request['number']}/merge",
        reference_type="pull_request",
        branch=None,
        pull_request=pull_request,
    )
    return body


def for_nightly(body: dict[str, Any]) -> dict[str, Any]:
    body["pipeline"]["yaml_file_name"] = "nightly.yml"
    return body


def fake_semaphore(request: httpx.Request) -> httpx.Response:
    """Semaphore describes the webhook's pipeline and nothing else is asked of it."""
    pipeline_id = passed_on_main()["pipeline"]["id"]
    if request.method == "GET" and request.url.path.endswith(f"/pipelines/{pipeline_id}"):
        body = json.loads((SAMPLES / "pipeline-describe.json").read_text())
        body["pipeline"].update(ppl_id=pipeline_id, commit_sha=SHA, branch_name="main")
        return httpx.Response(200, json=body)
    if request.url.path.endswith(f"/pipelines/{GONE}"):
        return httpx.Response(404, text="Not Found")
    raise httpx.ConnectError(f"not expected: {request.method} {request.url}", request=request)


def orchestrator() -> Orchestrator:
    config = load_config(EXAMPLE)
    stages = build_stage_service(config, MemoryStore())
    client = SemaphoreClient(
        token="t",
        base_url="http://semaphore.test/api/v1alpha",
        http=httpx.AsyncClient(transport=httpx.MockTransport(fake_semaphore)),
        retry=RetryPolicy(attempts=1),
    )
    semaphore = Semaphore(client, config)
    return Orchestrator(config, stages, semaphore, SemaphoreEffects(semaphore, stages))


async def on_beta(bot: Orchestrator) -> list[str]:
    state = await bot.stages.store.load("shop", "beta")
    found = ([state.current] if state.current else []) + list(state.queue)
    return [d.change.sha for d in found]


async def deliver(bot: Orchestrator, body: dict[str, Any]) -> None:
    item = InboxItem(
        id="1-0", kind="semaphore", payload=json.dumps(body), received_at=datetime.now(UTC)
    )
    await bot.process(item)


async def test_the_ci_pipeline_passed_on_main_makes_a_change() -> None:
    bot = orchestrator()
    await deliver(bot, passed_on_main())
    assert await on_beta(bot) == [SHA]
    state = await bot.stages.store.load("shop", "beta")
    change = (state.current or state.queue[0]).change
    # The described pipeline's creation, not the webhook's whole second.
    assert change.created_at == datetime(2025, 4, 17, 19, 6, 4, 782051, tzinfo=UTC)


async def test_a_ci_pipeline_semaphore_will_not_describe_keeps_the_webhooks_time() -> None:
    """A 404 for the pipeline (deleted since): the change is not lost; its time is the
    webhook's whole second."""
    bot = orchestrator()
    body = passed_on_main()
    body["pipeline"]["id"] = body["workflow"]["initial_pipeline_id"] = GONE
    await deliver(bot, body)
    state = await bot.stages.store.load("shop", "beta")
    change = (state.current or state.queue[0]).change
    assert change.sha == SHA and change.created_at == datetime(2019, 12, 10, 13, 9, 54, tzinfo=UTC)


@pytest.mark.parametrize(
    ("made", "why"),
    [
        (for_tag, "tag v1.0.1, not branch main"),
        (for_pull_request, "pull request #2, not branch main"),
        (for_nightly, "pipeline file .semaphore/nightly.yml, not .semaphore/semaphore.yml"),
    ],
)
async def test_a_tag_a_pull_request_or_another_file_makes_no_change(
    made: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    bot = orchestrator()
    body = made(passed_on_main())
    with caplog.at_level(logging.DEBUG, logger="bot.adapters.semaphore_events"):
        await deliver(bot, body)
    assert await on_beta(bot) == []
    assert await bot.stages.store.audit("shop", "beta") == []
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.adapters.semaphore_events"]
    assert lines == [f"ignored pipeline {body['pipeline']['id']}: {why}"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.getMessage() in lines)
