"""Issue 18's `waves` scenario, played for real (the simulator and the bot on loopback, state
in a real redis-server), and on Semaphore alone. Assertions read what people would see:
Semaphore's pipelines, deploybot's history and audit log."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.outcome import outcome
from bot.scenarios.record import Pipeline, ScenarioRun
from bot.scenarios.runner import run_scenario
from bot.scenarios.waves import WAVE_1, WAVE_2, stage


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    return redis_server


def runs_of(run: ScenarioRun, target: str, label: str) -> list[Pipeline]:
    return [p for p in run.promoted(f"prod-{target}") if p.label == label]


def overlap(pipelines: list[Pipeline]) -> bool:
    """Whether every one of `pipelines` was running at one moment."""
    starts = [p.at("running") for p in pipelines]
    ends = [p.at(p.result or "") for p in pipelines]
    assert None not in starts and None not in ends
    return max(s for s in starts if s is not None) < min(e for e in ends if e is not None)


def baked_at(run: ScenarioRun, stage_name: str, label: str) -> float:
    sha7 = run.commits[label][:7]
    (done,) = [e for e in run.audit_of(stage_name, "done") if sha7 in e.detail]
    return run.seconds(done.at, bot_clock=True)


@pytest.mark.redis
async def test_a_wave_deploys_its_targets_at_once_and_rolls_back_together(
    redis_url: str,
) -> None:
    run = await run_scenario("waves", redis_url=redis_url)

    # A: both wave-1 targets deploy at once, then the three of wave 2 at once ...
    assert overlap([runs_of(run, t, "A")[0] for t in WAVE_1])
    assert overlap([runs_of(run, t, "A")[0] for t in WAVE_2])
    # ... and wave 2 starts only once every wave-1 target finished baking A.
    wave_1_baked = max(baked_at(run, stage(1, t), "A") for t in WAVE_1)
    assert all(runs_of(run, t, "A")[0].created >= wave_1_baked for t in WAVE_2)
    # B fails on ap-south-1; the wave (scope: wave) rolls back to A, every target of it.
    (failed,) = runs_of(run, "ap-south-1", "B")
    assert failed.result == "failed"
    for target in WAVE_2:
        history = run.history[stage(2, target)]
        b = [d for d in history if d.change.sha == run.commits["B"]]
        assert [d.state for d in b] == [DeploymentState.FAILED]
        back = [d for d in history if d.kind is DeploymentKind.ROLLBACK]
        assert [(d.change.sha, d.state) for d in back] == [
            (run.commits["A"], DeploymentState.SUCCEEDED)
        ]
        assert [p.label for p in run.ran(f"prod-{target}")] == ["A", "B", "A"]
    assert "rolled back with its wave" in next(
        d.outcome for d in run.history[stage(2, "us-west-2")] if d.change.sha == run.commits["B"]
    )
    said = outcome(run)
    assert {t: said["stages"][f"prod-{t}"] for t in WAVE_2} == dict.fromkeys(
        WAVE_2, run.commits["A"]
    )
    assert run.ended_early() == []


async def test_alone_promotions_cascade_into_every_target_with_no_gate_between_waves() -> None:
    run = await run_scenario("waves", with_bot=False)

    (b_east, b_west) = (runs_of(run, t, "B")[0] for t in WAVE_1)
    assert b_west.result == "failed"  # B failed on eu-west-1, in wave 1 ...
    (b_us_west,) = runs_of(run, "us-west-2", "B")
    assert b_us_west.result == "passed"  # ... yet us-east-1's promotion carried it to wave 2
    assert b_us_west.created < (b_west.at("failed") or 0)  # before wave 1 was even done
    (b_sa,) = runs_of(run, "sa-east-1", "B")
    assert b_sa.created < (b_east.at("passed") or 0)  # promoted from CI, before wave 1 began
    said = outcome(run)
    assert said["stages"]["prod-us-west-2"] == run.commits["B"]
    assert "prod-eu-west-1 is as the failure of B left it, never rolled back" in said["text"]
    assert run.audit == []
