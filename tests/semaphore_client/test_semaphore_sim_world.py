"""The world file and its ``when`` condition language."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from semaphore_client.simulator import ConditionError, default_world, parse_condition, parse_world
from semaphore_client.simulator.world import resolve_pipeline_file

CONTEXT = {"branch": "master", "tag": "", "result": "passed", "result_reason": "test"}


@pytest.mark.parametrize(
    ("when", "holds"),
    [
        ("result = 'passed'", True),
        ("result != 'passed'", False),
        ("result = 'passed' and branch = 'main'", False),
        ("result = 'passed' AND (branch = 'master' or tag =~ '^v1\\.')", True),
        ("branch =~ '^mas'", True),
        ("branch !~ '^mas'", False),
        ("tag =~ '^v1\\.' or result_reason = 'test'", True),
        ("(result = 'failed' or result = 'stopped') and branch = 'master'", False),
        ("true", True),
        ("false or branch = 'master'", True),
        (True, True),
        (False, False),
    ],
)
def test_conditions(when: str | bool, holds: bool) -> None:
    assert parse_condition(when).holds(CONTEXT) is holds


@pytest.mark.parametrize(
    "when",
    [
        "",
        "result =",
        "result = 'passed' and",
        "(result = 'passed'",
        "colour = 'red'",
        "change_in('/lib')",
        "result == 'passed'",
        "result = 'passed' extra",
    ],
)
def test_unreadable_conditions_are_rejected(when: str) -> None:
    with pytest.raises(ConditionError):
        parse_condition(when)


def test_default_world_is_ci_to_beta_to_prod() -> None:
    [demo] = default_world().projects
    assert demo.name == "demo"
    ci = demo.pipelines[".semaphore/semaphore.yml"]
    [beta] = ci.promotions
    assert (beta.name, beta.deployment_target) == ("beta", "beta")
    beta_file = resolve_pipeline_file(".semaphore/semaphore.yml", beta.pipeline_file)
    [prod] = demo.pipelines[beta_file].promotions
    assert (prod.name, prod.deployment_target) == ("prod", "prod")
    assert all(p.auto_promote is None for f in demo.pipelines.values() for p in f.promotions)


def test_pipeline_file_paths_resolve_like_semaphore() -> None:
    assert (
        resolve_pipeline_file(".semaphore/semaphore.yml", "deploy.yml") == ".semaphore/deploy.yml"
    )
    assert resolve_pipeline_file(".semaphore/semaphore.yml", "/ops/deploy.yml") == "ops/deploy.yml"
    assert resolve_pipeline_file(".semaphore/a/b.yml", "../c.yml") == ".semaphore/c.yml"


MINIMAL = """
projects:
  - name: p
    pipelines:
      .semaphore/semaphore.yml:
        agent: {machine: {type: e1-standard-2}}
        blocks: [{name: Test, task: {jobs: [{name: t, commands: [make test]}]}}]
        EXTRA
"""


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ("promotions: [{name: x, pipeline_file: missing.yml}]", "is not declared"),
        (
            "promotions: [{name: x, pipeline_file: semaphore.yml, deployment_target: nope}]",
            "unknown deployment_target",
        ),
        (
            "promotions: [{name: x, pipeline_file: semaphore.yml, auto_promote: {when: 'x ='}}]",
            "unknown term 'x'",
        ),
        ("queue: {scope: organization, processing: serialized}", "scope is only allowed"),
        ("queue: {}", "needs a name or processing"),
        ("auto_cancel: {running: {when: \"change_in('/x')\"}}", "change_in"),
    ],
)
def test_bad_worlds_say_what_is_wrong(extra: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        parse_world(MINIMAL.replace("EXTRA", extra))


def test_jobs_and_agents_are_ignored() -> None:
    world = parse_world(MINIMAL.replace("EXTRA", ""))
    assert [b.name for b in world.projects[0].pipelines[".semaphore/semaphore.yml"].blocks] == [
        "Test"
    ]
