"""The scenario runner's scenarios (bot/scenarios/catalog.py), each played for real: the
Semaphore simulator and the bot on loopback, state in a real redis-server. Assertions read
what a user would see: the simulator's pipelines, deploybot's history and audit log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from bot.cli import main
from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.catalog import SCENARIOS
from bot.scenarios.outcome import outcome
from bot.scenarios.record import ScenarioRun
from bot.scenarios.runner import run_scenario
from bot.scenarios.timeline import render

DEPLOY, ROLLBACK = "deploy-prod.yml", "rollback-prod.yml"


@pytest.fixture
async def redis_url(redis_server: str) -> str:
    client = aioredis.Redis.from_url(redis_server, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    return redis_server


def prod_runs(run: ScenarioRun) -> list[tuple[str, str]]:
    """(file, commit label) of every prod pipeline that ran, in the order they started."""
    return [(p.file, p.label) for p in run.ran("prod")]


def prod_promotions(run: ScenarioRun) -> list[tuple[str, str]]:
    return [(p.file, p.label) for p in run.promoted("prod")]


def audit_at(run: ScenarioRun, stage: str, action: str, label: str | None = None) -> float:
    """Seconds since the start of the first `action` entry on `stage` (naming `label`)."""
    for entry in run.audit_of(stage, action):
        if label is None or run.commits[label][:7] in entry.detail:
            return run.seconds(entry.at, bot_clock=True)
    raise AssertionError(f"no {action!r} on {stage} for {label} in the audit log")


def history_of(run: ScenarioRun, stage: str, label: str, kind: DeploymentKind) -> list[str]:
    sha = run.commits[label]
    return [d.state for d in run.history[stage] if d.change.sha == sha and d.kind is kind]


# -- DESIGN.md section 1 item 3, on Semaphore alone -----------------------------------------


async def test_alone_with_autocancel_bs_deploy_cancels_the_rollback_of_a() -> None:
    run = await run_scenario("rollback-with-autocancel", with_bot=False)

    (rollback,) = [p for p in run.promoted("prod") if p.file == ROLLBACK]
    assert (rollback.label, rollback.result) == ("A", "canceled")
    assert rollback.at("running") is None  # the rollback of A never ran
    assert prod_runs(run) == [(DEPLOY, "base"), (DEPLOY, "A"), (DEPLOY, "B")]
    assert [p.result for p in run.ran("prod")] == ["passed", "failed", "passed"]  # B on broken A
    assert run.audit == []
    said = outcome(run)  # issue 15 item 13: what it came to, in words
    assert said["text"].endswith(
        "prod ran base, A (failed), rollback of A (cancelled by auto-cancel), B: prod runs B on "
        "top of the failure of A, never rolled back"
    )
    assert said["stages"] == {"beta": run.commits["B"], "prod": run.commits["B"]}


async def test_alone_without_autocancel_b_deploys_before_the_rollback_of_a() -> None:
    run = await run_scenario("rollback-without-autocancel", with_bot=False)

    assert prod_runs(run) == [(DEPLOY, "base"), (DEPLOY, "A"), (DEPLOY, "B"), (ROLLBACK, "A")]
    assert [p.result for p in run.ran("prod")] == ["passed", "failed", "passed", "passed"]
    assert run.ended_early() == []
    said = outcome(run)
    assert said["text"].endswith(
        "prod ran base, A (failed), B, rollback of A (back to base, undoing B): prod runs base"
    )
    assert said["stages"]["prod"] == run.commits["base"]


async def test_alone_a_roll_forward_waiting_for_the_rollback_behind_it_deadlocks() -> None:
    """DESIGN problem 2: prod's deploy waits while a rollback is on its way; B runs first in
    the queue and waits for the rollback of A, which waits behind B: neither ends."""
    run = await run_scenario("rollback-deadlock", with_bot=False)

    b, rollback = [p for p in run.promoted("prod") if p.label in ("B",) or p.file == ROLLBACK]
    assert (b.file, b.result, b.states[-1][0]) == (DEPLOY, None, "running")
    assert (rollback.label, rollback.result, rollback.states[-1][0]) == ("A", None, "queuing")
    assert rollback.at("running") is None
    said = outcome(run)
    assert said["text"].endswith(
        "prod ran base, A (failed), B (still running), rollback of A (still waiting in its "
        "queue): prod is as the failure of A left it, never rolled back"
    )
    assert any(text.startswith("deadlock:") for _, text in run.notes)


# -- the same, with deploybot -----------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize(
    "name", ["rollback-with-autocancel", "rollback-without-autocancel", "rollback-deadlock"]
)
async def test_with_the_bot_the_rollback_goes_first_and_nothing_is_cancelled(
    name: str, redis_url: str
) -> None:
    run = await run_scenario(name, redis_url=redis_url)

    assert prod_runs(run) == [(DEPLOY, "base"), (DEPLOY, "A"), (DEPLOY, "base"), (DEPLOY, "B")]
    assert [p.result for p in run.ran("prod")] == ["passed", "failed", "passed", "passed"]
    assert run.ended_early() == []
    a_on_prod, b_ci = run.ran("prod")[1], next(p for p in run.pipelines() if p.label == "B")
    assert b_ci.created < (a_on_prod.at("failed") or 0)  # B was on its way while A deployed
    assert history_of(run, "prod", "base", DeploymentKind.ROLLBACK) == [DeploymentState.SUCCEEDED]
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD) == [DeploymentState.FAILED]
    timeline = "\n".join(render(run))
    assert "semaphore  prod: deploy-prod.yml A failed" in timeline
    assert "deploybot  prod: rollback of base to prod started" in timeline
    said = outcome(run)
    assert said["text"].endswith("prod ran base, A (failed), rolled back to base, B: prod runs B")
    assert said["stages"] == {"beta": run.commits["B"], "prod": run.commits["B"]}


# -- blockers -----------------------------------------------------------------------------


@pytest.mark.redis
async def test_a_manual_blocker_holds_two_changes_and_unblocking_deploys_the_newest(
    redis_url: str,
) -> None:
    run = await run_scenario("blocker-holds-and-resumes", redis_url=redis_url)

    assert prod_promotions(run) == [("deploy-prod.yml", "B")]
    unblocked = audit_at(run, "prod", "blocker_lifted")
    assert run.promoted("prod")[0].created >= unblocked
    assert audit_at(run, "prod", "queued", "B") < unblocked  # B waited for the unblock
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD) == [DeploymentState.SUPERSEDED]
    assert audit_at(run, "prod", "superseded", "A") < unblocked
    assert history_of(run, "prod", "B", DeploymentKind.ROLLFORWARD) == [DeploymentState.DONE]


@pytest.mark.redis
async def test_a_change_waits_outside_the_window_and_deploys_when_it_opens(
    redis_url: str,
) -> None:
    run = await run_scenario("window-opens", redis_url=redis_url)

    (promotion,) = run.promoted("prod")
    promoted = run.started_at + timedelta(seconds=promotion.created) + run.clock_offset
    opens = promoted.replace(hour=9, minute=0, second=0, microsecond=0)
    arrived = [e.at for e in run.audit_of("prod", "queued")]
    assert len(arrived) == 1 and arrived[0] < opens  # A reached prod before 09:00 ...
    assert run.audit_of("prod", "waiting")  # ... and was held by the window
    assert opens <= promoted < opens + timedelta(seconds=5)  # promoted once it opened
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD) == [DeploymentState.DONE]


@pytest.mark.redis
async def test_an_emergency_deployment_during_a_freeze_never_cascades(redis_url: str) -> None:
    run = await run_scenario("emergency-no-cascade", redis_url=redis_url)

    assert history_of(run, "beta", "A", DeploymentKind.EMERGENCY) == [DeploymentState.SUCCEEDED]
    (emergency,) = [p for p in run.promoted("beta") if p.label == "A"]
    assert emergency.result == "passed"
    assert prod_promotions(run) == [("deploy-prod.yml", "base")]  # nothing of A on prod
    last_event = max(run.seconds(e["at"]) for e in run.events)
    assert last_event - (emergency.at("passed") or 0) < 0.5  # nothing happened after it
    requested = audit_at(run, "beta", "emergency_requested")
    assert all(run.seconds(e.at) < requested for e in run.audit_of("prod"))  # prod never heard


async def test_alone_an_emergency_promotion_to_beta_cascades_to_prod() -> None:
    """DESIGN problem 6 on Semaphore alone: the hand-made promotion of A to beta fires beta's
    automatic promotion, and A lands on prod during the freeze."""
    run = await run_scenario("emergency-no-cascade", with_bot=False)

    (manual,) = [p for p in run.promoted("beta") if p.label == "A"]
    assert manual.result == "passed"
    assert prod_promotions(run) == [(DEPLOY, "base"), (DEPLOY, "A")]
    assert outcome(run)["stages"] == {"beta": run.commits["A"], "prod": run.commits["A"]}
    assert run.audit == []


@pytest.mark.redis
async def test_an_emergency_to_prod_lands_on_prod_and_nothing_follows_it(redis_url: str) -> None:
    """Issue 13 item 1: prod hangs off beta's deploy pipeline; the emergency is promoted from
    hotfix's, Semaphore runs it, and prod runs hotfix while its block still holds."""
    run = await run_scenario("emergency-to-later-stage", redis_url=redis_url)

    assert history_of(run, "prod", "hotfix", DeploymentKind.EMERGENCY) == [
        DeploymentState.SUCCEEDED
    ]
    assert prod_promotions(run) == [(DEPLOY, "base"), (DEPLOY, "hotfix")]
    (emergency,) = [p for p in run.promoted("prod") if p.label == "hotfix"]
    assert emergency.result == "passed"
    last_event = max(run.seconds(e["at"]) for e in run.events)
    assert last_event - (emergency.at("passed") or 0) < 0.5  # nothing happened after it
    good = [d for d in run.history["prod"] if d.state in (DeploymentState.DONE, "succeeded")]
    latest = max(good, key=lambda d: d.finished_at or d.created_at)
    assert latest.change.sha == run.commits["hotfix"]  # prod runs hotfix


async def test_alone_a_deactivated_target_fails_the_auto_promotion_and_a_never_reaches_prod() -> (
    None
):
    """Issue 12 scenario `target-cordoned`, Semaphore alone: Gofer gives the prod promotion
    up (`cordoned_target`) and nothing tries it again once the target is active."""
    run = await run_scenario("target-cordoned", with_bot=False)

    assert prod_promotions(run) == []
    failed = [e for e in run.events if e["type"] == "promotion" and e["state"] == "failed"]
    assert [(e["deployment_target"], e["result_reason"]) for e in failed] == [
        ("prod", "cordoned_target")
    ]


@pytest.mark.redis
async def test_a_deactivated_target_holds_a_visibly_and_a_deploys_once_it_is_active(
    redis_url: str,
) -> None:
    """Issue 12 scenario `target-cordoned` and issue 13 item 6, with deploybot: the refused
    promotion holds A on prod behind a blocker naming the target, said once; activating the
    target lifts it at reconciliation and A deploys to prod."""
    run = await run_scenario("target-cordoned", redis_url=redis_url)

    assert prod_promotions(run) == [(DEPLOY, "A")]
    held = [e for e in run.audit_of("prod", "blocker_added") if "deactivated" in e.detail]
    assert len(held) == 1
    lifted = [e for e in run.audit_of("prod", "blocker_lifted") if "active again" in e.detail]
    assert len(lifted) == 1 and held[0].at < lifted[0].at
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD)[0] == DeploymentState.DONE


@pytest.mark.redis
async def test_a_late_alarm_rolls_a_back_to_base_and_a_is_not_left_live(redis_url: str) -> None:
    """Issue 13 scenario `late-alarm`: the alert's startsAt is inside A's prod bake, its
    delivery after the bake ended; A is rolled back to base by policy."""
    run = await run_scenario("late-alarm", redis_url=redis_url)

    assert prod_promotions(run) == [(DEPLOY, "base"), (DEPLOY, "A"), (DEPLOY, "base")]
    assert history_of(run, "prod", "base", DeploymentKind.ROLLBACK) == [DeploymentState.SUCCEEDED]
    good = [d for d in run.history["prod"] if d.state in (DeploymentState.DONE, "succeeded")]
    latest = max(good, key=lambda d: d.finished_at or d.created_at)
    assert latest.kind is DeploymentKind.ROLLBACK and latest.change.sha == run.commits["base"]
    failed = [e for e in run.audit_of("prod", "failed") if "during its deploy or bake" in e.detail]
    assert failed and run.commits["A"][:7] in failed[0].detail


@pytest.mark.redis
async def test_after_the_store_is_wiped_b_reaches_every_stage(redis_url: str) -> None:
    """Issue 13 scenario `state-loss` (item 11): after Redis lost everything, B's promotions
    carry request tokens Semaphore never saw, so Semaphore runs them."""
    run = await run_scenario("state-loss", redis_url=redis_url)

    for stage, file in (("beta", "deploy-beta.yml"), ("prod", DEPLOY)):
        assert [(p.file, p.label) for p in run.promoted(stage)] == [(file, "A"), (file, "B")]
        assert all(p.result == "passed" for p in run.promoted(stage))


@pytest.mark.redis
async def test_the_rollback_starts_only_once_the_stopped_pipeline_is_done(redis_url: str) -> None:
    """Issue 12 scenario `stop-then-rollback` (bot item 5): Semaphore keeps a stopped pipeline
    `stopping` for a while and lets its queue move on; deploybot waits for it to be done."""
    run = await run_scenario("stop-then-rollback", redis_url=redis_url)

    a, base_again = [p for p in run.promoted("prod") if p.label in ("A", "base")][1:]
    assert (a.label, a.result, base_again.label) == ("A", "stopped", "base")
    stopping_at, (last, stopped_at) = a.at("stopping"), a.states[-1]
    assert stopping_at is not None and last == "stopped"
    assert stopping_at < stopped_at <= base_again.created  # not beside the stopping one
    assert history_of(run, "prod", "base", DeploymentKind.ROLLBACK) == [DeploymentState.SUCCEEDED]


@pytest.mark.redis
async def test_an_alarm_during_the_bake_rolls_back_and_holds_prod_until_resolved(
    redis_url: str,
) -> None:
    run = await run_scenario("alarm-during-bake", redis_url=redis_url)

    assert prod_promotions(run) == [
        (DEPLOY, "base"),
        (DEPLOY, "A"),
        (DEPLOY, "base"),
        (DEPLOY, "B"),
    ]
    assert [p.result for p in run.promoted("prod")][:3] == ["passed", "passed", "passed"]
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD) == [DeploymentState.FAILED]
    assert history_of(run, "prod", "base", DeploymentKind.ROLLBACK) == [DeploymentState.SUCCEEDED]
    resolved = audit_at(run, "prod", "alarm_resolved")
    assert audit_at(run, "prod", "queued", "B") < resolved  # B waited on the alarm
    assert run.promoted("prod")[-1].created >= resolved  # and went once it resolved


# -- crashes --------------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.parametrize(
    ("name", "promoted_before_the_crash"),
    [("crash-and-resume", False), ("crash-after-promotion", True)],
)
async def test_a_crash_at_the_promotion_promotes_exactly_once(
    name: str, promoted_before_the_crash: bool, redis_url: str
) -> None:
    run = await run_scenario(name, redis_url=redis_url)

    assert prod_promotions(run) == [("deploy-prod.yml", "A")]
    prod_triggers = [
        e for e in run.events if e["type"] == "promotion" and e["deployment_target"] == "prod"
    ]
    assert len(prod_triggers) == 1
    crashed = next(t for t, note in run.notes if "crashes" in note)
    repeated = [note for _, note in run.notes if "restarted bot promotes A to prod" in note]
    assert len(repeated) == 1  # the restarted bot did call Semaphore for A
    # When Semaphore accepted the trigger (its pipeline starts a moment later).
    accepted = next(
        e for e in run.events if e["type"] == "deployment" and e["deployment_target"] == "prod"
    )
    promoted = run.started_at + timedelta(seconds=run.seconds(accepted["at"]))
    assert (promoted < crashed) is promoted_before_the_crash
    assert history_of(run, "prod", "A", DeploymentKind.ROLLFORWARD) == [DeploymentState.DONE]


# -- Semaphore accepting a promotion and never starting it --------------------------------------


@pytest.mark.redis
async def test_a_promotion_semaphore_never_starts_is_told_and_the_next_change_goes_through(
    redis_url: str,
) -> None:
    run = await run_scenario("promotion-never-scheduled", redis_url=redis_url)

    told = [e.detail for e in run.audit_of("beta", "not_started")]
    assert told and all("did not start" in t and "deadline_reached" in t for t in told)
    assert "trying again (attempt 2 of 3)" in told[0]
    a_on_beta = history_of(run, "beta", "A", DeploymentKind.ROLLFORWARD)
    assert DeploymentState.CANCELLED in a_on_beta  # the attempts that never started
    assert set(a_on_beta) <= {DeploymentState.CANCELLED, DeploymentState.SUPERSEDED}
    assert [p.label for p in run.promoted("beta")] == ["B"]  # Semaphore never started A
    for stage in ("beta", "prod"):
        assert history_of(run, stage, "B", DeploymentKind.ROLLFORWARD) == [DeploymentState.DONE]
    given_up = [e for e in run.events if e["type"] == "deployment" and e["state"] == "failed"]
    assert {(e["deployment_target"], e["commit_sha"]) for e in given_up} == {
        ("beta", run.commits["A"])
    }
    # The play itself fails if anything is left running without a pipeline at the end.


# -- the command line -------------------------------------------------------------------------


@pytest.mark.redis
def test_the_cli_prints_one_json_object(redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "scenario", "blocker-holds-and-resumes", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "state in Redis at" in done.stderr
    run = json.loads(done.stdout)
    assert set(run) == {"scenario", "with_bot", "commits", "events", "audit", "outcome", "stats"}
    assert run["stats"]["prod"]["deployments"] == 1  # issue 17: B, the one good roll-forward
    assert run["outcome"] == {
        "text": "beta ran A, B: beta runs B; prod ran B: prod runs B",
        "stages": {"beta": run["commits"]["B"], "prod": run["commits"]["B"]},
    }
    assert (run["scenario"], run["with_bot"], set(run["commits"])) == (
        "blocker-holds-and-resumes",
        True,
        {"A", "B"},
    )
    prod = [
        e["commit_sha"]
        for e in run["events"]
        if e["type"] == "pipeline" and e["state"] == "initializing"
        if e["pipeline_file"].endswith("deploy-prod.yml")
    ]
    assert prod == [run["commits"]["B"]]
    actions = [(a["stage"], a["action"]) for a in run["audit"]]
    assert ("prod", "superseded") in actions and ("prod", "blocker_lifted") in actions
    assert all(datetime.fromisoformat(a["at"]) for a in run["audit"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["scenario", "no-such-thing"], "no scenario 'no-such-thing'; known: rollback-with"),
        (["scenario", "window-opens", "--without-bot"], "has no --without-bot variant"),
        (["scenario"], "name a scenario"),
    ],
)
def test_the_cli_refuses_a_bad_request_in_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1


def test_the_cli_lists_the_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenario", "--list"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == len(SCENARIOS)
    assert any(line.startswith("tags-and-pull-requests ") for line in listed)
    assert listed[0].startswith("rollback-with-autocancel") and "--without-bot" in listed[0]


@pytest.mark.redis
def test_the_cli_refuses_a_redis_database_that_is_not_empty(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("someone-elses", "data")
    monkeypatch.setenv("REDIS_URL", redis_url)

    assert main(["scenario", "window-opens"]) == 2
    assert "holds 1 keys; a scenario needs an empty one" in capsys.readouterr().err


@pytest.mark.redis
async def test_what_ships_lists_every_change_the_prod_deployment_carries(redis_url: str) -> None:
    """Issue 16: prod blocked while A, B and C pass beta; unblocked, prod deploys C, and C's
    message lists the three changes that deployment carries, newest first, with authors."""
    run = await run_scenario("what-ships", redis_url=redis_url)

    assert prod_promotions(run) == [(DEPLOY, "base"), (DEPLOY, "C")]
    [said] = [text for _, text in run.notes if text.startswith("C's message, prod:")]
    base, a, b, c = (run.commits[label][:7] for label in ("base", "A", "B", "C"))
    assert f":package: 3 changes since `{base}`" in said
    assert said.index(f"`{c}` change C (by carol)") < said.index(f"`{b}` change B (by bob)")
    assert said.index(f"`{b}` change B (by bob)") < said.index(f"`{a}` change A (by alice)")
    compare = f"https://github.com/demo-org/demo/compare/{run.commits['base']}...{run.commits['C']}"
    assert compare in said


@pytest.mark.redis
async def test_two_person_approval_waits_for_two_distinct_people(redis_url: str) -> None:
    """Issue 16: A waits at prod; one approval leaves it waiting; the same person again is
    refused; a second person's approval deploys it; the audit shows both approvals."""
    run = await run_scenario("two-person-approval", redis_url=redis_url)

    assert prod_promotions(run) == [(DEPLOY, "A")]
    notes = [text for _, text in run.notes]
    assert any(n.startswith("bob approves:") and "(1 of 2)" in n for n in notes)
    assert any("You approved" in n and "already" in n for n in notes)
    given = [e for e in run.audit_of("prod", "approval_given")]
    assert [e.actor for e in given] == ["U0APPROVE", "U0APPROVE", "U0APPROVE2"]
    promoted = min(p.created for p in run.promoted("prod"))
    assert promoted >= run.seconds(given[-1].at, bot_clock=True) - 0.05  # only after the second
    payload = run.to_json()
    assert sum(1 for e in payload["audit"] if e["action"] == "approval_given") == 3


@pytest.mark.redis
async def test_delivery_metrics_count_the_failure_and_its_restore(redis_url: str) -> None:
    """Issue 17: A deploys, B fails on prod and is rolled back, C deploys."""
    run = await run_scenario("delivery-metrics", redis_url=redis_url)

    prod = run.to_json()["stats"]["prod"]
    assert (prod["deployments"], prod["failures"], prod["attempts"]) == (2, 1, 3)
    assert prod["change_failure_rate"] == pytest.approx(1 / 3)
    [restore] = prod["restores_s"]
    failed = next(p for p in run.ran("prod") if p.label == "B")
    rollback = next(d for d in run.history["prod"] if d.kind is DeploymentKind.ROLLBACK)
    assert rollback.finished_at is not None
    assert 0 < restore < 30 and prod["unrestored"] == 0
    assert failed.result == "failed" and prod["changes"] == 3  # A, B (carried by C) and C
