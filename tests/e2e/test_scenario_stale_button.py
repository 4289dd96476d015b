"""The `stale-approve-button` scenario (bot/scenarios/buttons.py), played for real with the
Slack stand-in: an alarm on prod offers Approve rollback; the alarm resolves and `third`
deploys and bakes; Approve, clicked then, rolls nothing back (issue 13 item 3)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.runner import run_scenario

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    return redis_server


async def test_an_approve_clicked_after_prod_moved_on_rolls_nothing_back(redis_url: str) -> None:
    run = await run_scenario("stale-approve-button", redis_url=redis_url)

    assert set(run.to_json()["commits"]) == {"first", "second", "third"}  # what --json lists
    prod = [(p.file, p.label) for p in run.promoted("prod")]
    assert prod == [("deploy-prod.yml", label) for label in ("first", "second", "third")]
    deployed = [(run.label(d.change.sha), d.kind, d.state) for d in run.history["prod"]]
    assert deployed[0] == ("third", DeploymentKind.ROLLFORWARD, DeploymentState.DONE)
    assert not [d for d in run.history["prod"] if d.kind is DeploymentKind.ROLLBACK]
    [refused] = [a for a in run.audit_of("prod", "refused") if a.actor == "U0APPROVE"]
    assert "moved on" in refused.detail and run.commits["third"][:7] in refused.detail
    clicked = [t for t, note in run.notes if "clicks Approve rollback" in note]
    third_done = next(d for d in run.history["prod"] if run.label(d.change.sha) == "third")
    assert third_done.finished_at is not None and clicked[0] > third_done.finished_at
