"""The `tags-and-pull-requests` scenario (bot/scenarios/builds.py), played for real: a tag's and
a pull request's CI pass next to a push on main, every webhook reaches the bot, and only main
is deployed."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.runner import run_scenario
from bot.scenarios.timeline import render

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    return redis_server


async def test_a_tag_and_a_pull_request_pass_ci_but_only_main_is_deployed(
    redis_url: str,
) -> None:
    run = await run_scenario("tags-and-pull-requests", redis_url=redis_url)

    assert set(run.to_json()["commits"]) == {"main", "tag", "pr"}  # what --json lists
    ci = {p.label: p.result for p in run.pipelines() if p.stage == "ci"}
    assert ci == {"main": "passed", "tag": "passed", "pr": "passed"}
    told = {run.label(e["commit_sha"]) for e in run.events if e["type"] == "webhook"}
    assert {"tag", "pr"} <= told  # the bot heard of both builds
    for stage, file in (("beta", "deploy-beta.yml"), ("prod", "deploy-prod.yml")):
        assert [(p.file, p.label) for p in run.promoted(stage)] == [(file, "main")]
        deployed = [(run.label(d.change.sha), d.kind, d.state) for d in run.history[stage]]
        assert deployed == [("main", DeploymentKind.ROLLFORWARD, DeploymentState.DONE)]
    shas = {run.commits["tag"][:7], run.commits["pr"][:7]}
    assert not [a for a in run.audit if any(sha in a.detail for sha in shas)]
    timeline = "\n".join(render(run))
    assert "ci: semaphore.yml tag pushed (refs/tags/v1.2.3)" in timeline
    assert "ci: semaphore.yml pr pushed (pull-request-7)" in timeline
