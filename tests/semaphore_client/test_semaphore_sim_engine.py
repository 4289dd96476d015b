"""The simulated Plumber and Gofer, driven directly on a manual clock."""

from __future__ import annotations

import pytest

from semaphore_client.simulator import ManualClock, parse_world
from semaphore_client.simulator.encode import blocks, pipeline_describe, pipeline_list_item
from semaphore_client.simulator.engine import Engine
from semaphore_client.simulator.records import SimError, SimPipeline
from semaphore_client.simulator.webhooks import webhook_payload
from semaphore_client.simulator.world import OutcomeDef

WORLD = """
projects:
  - name: app
    deployment_targets: [{name: staging}, {name: prod}]
    pipelines:
      .semaphore/semaphore.yml:
        blocks:
          - {name: Lint, dependencies: [], task: {jobs: [{name: ruff}, {name: mypy}]}}
          - {name: Test, dependencies: []}
          - {name: Build, dependencies: [Lint]}
        QUEUE
        AUTO_CANCEL
        fail_fast: {stop: {when: "branch = 'main'"}}
        promotions:
          - name: staging
            pipeline_file: staging.yml
            deployment_target: staging
            parameters:
              env_vars:
                - {name: REGION, required: true, default_value: eu, options: [eu, us]}
                - {name: NOTE, required: false}
      .semaphore/staging.yml:
        queue: {name: staging, processing: serialized}
        promotions:
          - name: prod
            pipeline_file: /.semaphore/prod.yml
            deployment_target: prod
            auto_promote: {when: "result = 'passed'"}
          - name: old-style
            pipeline_file: prod.yml
            auto_promote_on: [{result: failed, branch: ["^rel-"]}]
      .semaphore/prod.yml:
        queue: {name: prod, processing: serialized}
"""


def engine(queue: str = "", auto_cancel: str = "") -> Engine:
    world = parse_world(WORLD.replace("QUEUE", queue).replace("AUTO_CANCEL", auto_cancel))
    return Engine(world, ManualClock(), default_duration=1.0)


def advance(e: Engine, seconds: float) -> None:
    assert isinstance(e.clock, ManualClock)
    e.clock.advance(seconds)
    e.run_until(e.clock.now())


def push(e: Engine, sha: str, branch: str = "main") -> SimPipeline:
    return e.start_workflow("app", branch=branch, commit_sha=sha)[1]


def states(e: Engine, pipeline: SimPipeline) -> list[str]:
    return [
        ev["state"]
        for ev in e.events
        if ev["type"] == "pipeline" and ev["pipeline_id"] == pipeline.ppl_id
    ]


def test_lifecycle_states_in_order_and_result_only_when_done() -> None:
    e = engine()
    pipeline = push(e, "a1")
    advance(e, 0.5)
    assert pipeline_describe(pipeline, e.world, False)["pipeline"].get("result") is None
    advance(e, 0.5)
    assert states(e, pipeline) == ["initializing", "pending", "queuing", "running", "done"]
    described = pipeline_describe(pipeline, e.world, False)["pipeline"]
    assert (described["result"], described["result_reason"]) == ("passed", "test")
    assert pipeline.times["done"] - pipeline.times["running"] == 1.0


def test_serialized_queue_runs_in_creation_order() -> None:
    e = engine()
    first, second, third = push(e, "a1"), push(e, "a2"), push(e, "a3")
    assert [p.state for p in (first, second, third)] == ["running", "queuing", "queuing"]
    advance(e, 1)
    assert [p.state for p in (first, second, third)] == ["done", "running", "queuing"]
    advance(e, 2)
    assert second.times["done"] == third.times["running"]


def test_parallel_queue_runs_at_once() -> None:
    e = engine(queue="queue: {processing: parallel}")
    pipelines = [push(e, f"a{n}") for n in range(3)]
    assert {p.state for p in pipelines} == {"running"}


def test_organization_queue_is_shared_by_name() -> None:
    e = engine(queue="queue: {name: shared, scope: organization}")
    first, second = push(e, "a1", branch="main"), push(e, "a2", branch="other")
    assert first.queue.key == second.queue.key and second.state == "queuing"


def test_conditional_queue_picks_the_first_match() -> None:
    queues = (
        "queue: [{when: \"branch = 'main'\", name: main-only}, {when: true, processing: parallel}]"
    )
    e = engine(queue=queues)
    assert push(e, "a1", branch="main").queue.name == "main-only"
    feature = push(e, "a2", branch="feature")
    assert feature.queue.parallel and feature.queue.name == "feature-.semaphore/semaphore.yml"


@pytest.mark.parametrize(
    ("strategy", "a_result", "d_state"),
    [("queued", (None, None), "queuing"), ("running", ("stopped", "strategy"), "running")],
)
def test_auto_cancel_as_documented(
    strategy: str, a_result: tuple[str | None, str | None], d_state: str
) -> None:
    """The docs' example: A running, B and C queued, D pushed (only D has auto-cancel)."""
    e = engine(
        queue="queue: {name: shared}",
        auto_cancel=f"auto_cancel: {{{strategy}: {{when: \"branch = 'main'\"}}}}",
    )
    a, b, c = (push(e, sha, branch="dev") for sha in "abc")
    assert [p.state for p in (a, b, c)] == ["running", "queuing", "queuing"]
    d = push(e, "d", branch="main")
    assert (b.result, b.result_reason) == ("canceled", "strategy")
    assert (c.result, c.result_reason) == ("canceled", "strategy")
    if a_result[0] == "stopped":  # stopping takes a while; the queue moves on meanwhile
        assert a.state == "stopping" and d.state == d_state
        advance(e, e.stop_delay)
    assert (a.result, a.result_reason) == a_result
    assert d.state == d_state


def test_terminate_cancels_queued_and_stops_running() -> None:
    e = engine()
    running, queued = push(e, "a1"), push(e, "a2")
    e.terminate(queued)
    e.terminate(running)
    e.settle()
    assert (queued.result, queued.result_reason) == ("canceled", "user")
    assert running.state == "stopping" and running.result is None  # its epilogues run
    advance(e, e.stop_delay)
    assert (running.result, running.result_reason) == ("stopped", "user")
    assert states(e, running)[-2:] == ["stopping", "done"]


def test_a_stopping_pipeline_does_not_hold_its_serialized_queue() -> None:
    """As in Plumber: the next pipeline of the queue starts while the stopped one is still
    stopping (so two of the queue's pipelines run at once for a moment)."""
    e = engine(queue="queue: {name: shared}")
    first, second = push(e, "a1"), push(e, "a2")
    assert (first.state, second.state) == ("running", "queuing")
    e.terminate(first)
    e.settle()
    assert (first.state, second.state) == ("stopping", "running")
    advance(e, e.stop_delay)
    assert first.result == "stopped" and second.state == "running"


def test_fail_fast_ends_early_and_marks_other_blocks() -> None:
    e = engine()
    e.scripts.items.append(
        OutcomeDef(pipeline_file="semaphore.yml", result="failed", duration=5, fail_after=1)
    )
    failing = push(e, "a1")
    running = pipeline_describe(failing, e.world, True)["blocks"]
    assert [b["state"] for b in running] == ["running", "running", "waiting"]
    assert [j["status"] for j in running[0]["jobs"]] == ["RUNNING", "RUNNING"]
    assert running[2]["jobs"] == [] and running[2]["block_id"] == ""
    advance(e, 1)
    assert (failing.result, failing.result_reason) == ("failed", "test")
    blocks = pipeline_describe(failing, e.world, True)["blocks"]
    # Test ran beside Lint and is stopped; Build waited on Lint and never starts.
    assert [(b["result"], b["result_reason"]) for b in blocks] == [
        ("failed", "test"),
        ("stopped", "fast_failing"),
        ("canceled", "fast_failing"),
    ]
    lint, test, build = blocks
    assert [(j["name"], j["status"], j["result"]) for j in lint["jobs"]] == [
        ("ruff", "FINISHED", "PASSED"),
        ("mypy", "FINISHED", "FAILED"),
    ]
    assert [j["result"] for j in test["jobs"]] == ["STOPPED"]
    assert build["jobs"] == [] and build["block_id"] == ""


def test_without_fail_fast_a_failed_block_cancels_only_what_waits_on_it() -> None:
    e = engine()
    e.scripts.items.append(OutcomeDef(pipeline_file="semaphore.yml", result="failed"))
    failing = push(e, "a1", branch="feature")  # fail_fast applies on main only
    advance(e, 2)
    blocks = pipeline_describe(failing, e.world, True)["blocks"]
    assert [(b["result"], b["result_reason"]) for b in blocks] == [
        ("failed", "test"),
        ("passed", "test"),
        ("canceled", "fast_failing"),
    ]


def test_a_stop_stops_running_blocks_and_cancels_waiting_ones() -> None:
    e = engine()
    e.scripts.items.append(OutcomeDef(pipeline_file="semaphore.yml", duration=30))
    pipeline = push(e, "a1")
    e.terminate(pipeline)
    advance(e, e.stop_delay)
    webhook = blocks(pipeline, webhook=True)
    assert [(b["result"], b["result_reason"]) for b in webhook] == [
        ("stopped", "user"),
        ("stopped", "user"),
        ("canceled", "user"),
    ]
    assert {j["status"] for b in webhook for j in b["jobs"]} == {"finished"}
    assert all("id" in j and "job_id" not in j for b in webhook for j in b["jobs"])


def test_lists_spell_nested_enums_in_upper_case_and_describe_as_integers() -> None:
    e = engine()
    pipeline = push(e, "a1")
    listed = pipeline_list_item(pipeline, e.world)
    assert listed["queue"]["type"] == "IMPLICIT"
    assert listed["triggerer"]["wf_triggered_by"] == "HOOK"
    assert listed["triggerer"]["ppl_triggered_by"] == "WORKFLOW"
    described = pipeline_describe(pipeline, e.world, False)["pipeline"]
    assert described["queue"]["type"] == 0 and described["triggerer"]["ppl_triggered_by"] == 0


def test_webhook_spells_unset_times_as_the_epoch() -> None:
    e = engine()
    pipeline = push(e, "a1")
    advance(e, 2)
    times = webhook_payload(pipeline, e.world)["pipeline"]
    assert times["stopping_at"] == "1970-01-01T00:00:00Z"
    assert times["done_at"] != "1970-01-01T00:00:00Z"


def test_commit_specific_outcome_beats_file_outcome() -> None:
    e = engine()
    e.scripts.items.append(
        OutcomeDef(pipeline_file=".semaphore/semaphore.yml", commit_sha="bad", result="failed")
    )
    e.scripts.items.append(OutcomeDef(pipeline_file="semaphore.yml", duration=2))
    assert e.scripts.outcome_for(".semaphore/semaphore.yml", "bad").result == "failed"
    assert e.scripts.outcome_for(".semaphore/semaphore.yml", "good").duration == 2


def test_manual_promotion_cascades_through_later_auto_promotions() -> None:
    e = engine()
    ci = push(e, "a1")
    advance(e, 1)
    e.promoter.trigger(ci, "staging", override=False, parameters={}, request_token="t1")
    advance(e, 2)  # staging scheduled at 1.2 and done at 2.2, prod scheduled at 2.4
    prod = [p for p in e.pipelines.values() if p.path == ".semaphore/prod.yml"]
    assert len(prod) == 1 and prod[0].trigger == "auto_promotion"
    staging = e.pipelines[prod[0].promotion_of]
    assert staging.env_vars == {"REGION": "eu"} and staging.trigger == "promotion"


def test_cordoned_target_fails_auto_promotions_and_refuses_manual_ones() -> None:
    e = engine()
    prod = next(t for t in e.targets.values() if t.spec.name == "prod")
    prod.cordoned = True
    ci = push(e, "a1")
    advance(e, 1)
    e.promoter.trigger(ci, "staging", override=False, parameters={}, request_token="t1")
    advance(e, 2)  # staging done at 2.2; Gofer checks prod's target at 2.3
    [entry] = prod.history
    assert (entry.state, entry.state_message, entry.pipeline_id) == (
        "FAILED",
        "cordoned_target",
        "",
    )
    assert not [p for p in e.pipelines.values() if p.path == ".semaphore/prod.yml"]
    staging_run = e.pipelines[entry.prev_pipeline_id]
    with pytest.raises(SimError) as refused:
        e.promoter.trigger(staging_run, "prod", override=False, parameters={}, request_token="t2")
    assert refused.value.status == 400 and "deployment target is cordoned" in refused.value.message
    assert len(prod.history) == 1


def test_deprecated_auto_promote_on() -> None:
    e = engine()
    e.scripts.items.append(OutcomeDef(pipeline_file="staging.yml", result="failed"))
    ci = push(e, "a1", branch="rel-1")
    advance(e, 1)
    e.promoter.trigger(ci, "staging", override=False, parameters={}, request_token="t")
    advance(e, 2)
    auto = [p for p in e.pipelines.values() if p.trigger == "auto_promotion"]
    assert [p.path for p in auto] == [".semaphore/prod.yml"]


@pytest.mark.parametrize(
    "parameters",
    [{"UNKNOWN": "x"}, {"REGION": "mars"}],
)
def test_bad_promotion_parameters_are_internal_errors(parameters: dict[str, str]) -> None:
    e = engine()
    ci = push(e, "a1")
    advance(e, 1)
    with pytest.raises(SimError) as failed:
        e.promoter.trigger(ci, "staging", override=False, parameters=parameters, request_token="t")
    assert (failed.value.status, failed.value.message) == (500, "Internal error")


def test_reset_forgets_everything_but_the_world() -> None:
    e = engine()
    push(e, "a1")
    next(iter(e.targets.values())).cordoned = True
    e.reset()
    assert not e.pipelines and not e.events
    assert not any(t.cordoned for t in e.targets.values())


DEADLOCK_WORLD = """
projects:
  - name: app
    pipelines:
      .semaphore/semaphore.yml: {name: CI}
      .semaphore/deploy.yml:
        queue: {name: prod, processing: serialized}
        waits_for: .semaphore/rollback.yml
      .semaphore/rollback.yml:
        queue: {name: prod, processing: serialized}
"""


def test_a_roll_forward_waiting_for_a_rollback_behind_it_in_its_queue_deadlocks() -> None:
    """DESIGN problem 2: the rollback shares the deploy queue; the roll-forward's job waits
    for any rollback to finish; a rollback queued behind a roll-forward never runs, and the
    roll-forward never ends."""
    e = Engine(parse_world(DEADLOCK_WORLD), ManualClock(), default_duration=1.0)
    workflow = e.start_workflow("app", branch="main", commit_sha="a1")[0]
    a = e.create_pipeline(workflow, ".semaphore/deploy.yml", trigger="promotion")
    b = e.create_pipeline(workflow, ".semaphore/deploy.yml", trigger="promotion")
    e.settle()
    advance(e, 0.5)  # A runs, B waits behind it; then a rollback is on its way
    rollback = e.create_pipeline(workflow, ".semaphore/rollback.yml", trigger="promotion")
    e.settle()
    advance(e, 0.5)
    assert (a.state, b.state, rollback.state) == ("running", "queuing", "queuing")
    advance(e, 1.0)  # A's job checks before it passes: a rollback is on its way, it waits
    assert (a.state, b.state, rollback.state) == ("running", "queuing", "queuing")
    advance(e, 60.0)
    assert (a.state, b.state, rollback.state) == ("running", "queuing", "queuing")  # for ever


def test_a_rollback_ahead_in_the_queue_runs_and_the_roll_forward_then_ends() -> None:
    e = Engine(parse_world(DEADLOCK_WORLD), ManualClock(), default_duration=1.0)
    workflow = e.start_workflow("app", branch="main", commit_sha="a1")[0]
    rollback = e.create_pipeline(workflow, ".semaphore/rollback.yml", trigger="promotion")
    forward = e.create_pipeline(workflow, ".semaphore/deploy.yml", trigger="promotion")
    e.settle()
    advance(e, 1.0)
    assert (rollback.state, forward.state) == ("done", "running")
    advance(e, 1.0)
    assert forward.state == "done" and forward.result == "passed"
