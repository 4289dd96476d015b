"""Waves in the configuration (issue 18): a stage with `targets:` becomes one stage per target
(`WAVE/TARGET`), and check-config names every wrong reference exactly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config import ConfigError, load_config_text

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE]}
projects:
  - name: shop
    channel: C0123ABC
    timezone: Europe/Berlin
    stages:
      - name: beta
        promotion: Deploy beta
      - name: prod-onebox
        promotion: Deploy onebox
      - name: prod-wave-1
        bake: 30m
        windows: ["mon-fri 09:00-17:00"]
        rollback: {policy: approve, scope: wave}
        targets:
          - {name: us-east-1, target: prod-us-east-1, promotion: Deploy us-east-1}
          - name: eu-west-1
            promotion: Deploy eu-west-1
            timezone: Europe/Dublin
            windows: ["mon-thu 08:00-16:00"]
      - name: prod-wave-2
        targets:
          - {name: us-west-2, promotion: Deploy us-west-2, hangs_off: prod-wave-1/us-east-1}
          - {name: sa-east-1, promotion: Deploy sa-east-1, hangs_off: ci}
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config_text(text)
    return error.value.problems


def test_a_wave_becomes_one_stage_per_target_in_the_declared_order() -> None:
    project = load_config_text(CONFIG).project("shop")
    assert project.stage_names == [
        "beta",
        "prod-onebox",
        "prod-wave-1/us-east-1",
        "prod-wave-1/eu-west-1",
        "prod-wave-2/us-west-2",
        "prod-wave-2/sa-east-1",
    ]
    assert [len(step) for step in project.steps] == [1, 1, 2, 2]
    east, west = project.wave("prod-wave-1")
    # Keys a target leaves unset come from the wave; the ones it sets are its own.
    assert (east.target, east.promotion, east.bake, east.timezone) == (
        "prod-us-east-1",
        "Deploy us-east-1",
        timedelta(minutes=30),
        None,
    )
    assert (west.target, west.timezone) == ("eu-west-1", "Europe/Dublin")
    assert [sorted(w.days) for w in west.windows] == [[0, 1, 2, 3]]
    assert [sorted(w.days) for w in east.windows] == [[0, 1, 2, 3, 4]]


def test_each_target_hangs_off_the_pipeline_its_promotion_is_declared_in() -> None:
    project = load_config_text(CONFIG).project("shop")
    sources = {name: project.source_stage(name) for name in project.stage_names}
    assert sources == {
        "beta": None,
        "prod-onebox": "beta",
        "prod-wave-1/us-east-1": "prod-onebox",
        "prod-wave-1/eu-west-1": "prod-onebox",
        "prod-wave-2/us-west-2": "prod-wave-1/us-east-1",
        "prod-wave-2/sa-east-1": None,
    }


def test_policies_carry_the_wave_and_the_last_wave_is_last() -> None:
    policies = {p.stage: p for p in load_config_text(CONFIG).project("shop").policies()}
    east = policies["prod-wave-1/us-east-1"]
    assert (east.wave, east.wave_rollback, east.is_last) == ("prod-wave-1", True, False)
    west2 = policies["prod-wave-2/us-west-2"]
    assert (west2.source_target, west2.is_last, west2.wave_rollback) == (
        "prod-wave-1/us-east-1",
        True,
        False,
    )
    assert policies["prod-wave-2/sa-east-1"].hangs_off_previous is False
    assert policies["prod-onebox"].wave == ""


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "hangs_off: prod-wave-1/us-east-1}",
            "hangs_off: previous}",
            "projects[0].stages[3].targets[0].hangs_off: the previous stage 'prod-wave-1' is a "
            "wave of several targets: say which one's deploy pipeline declares this promotion "
            "(hangs_off: prod-wave-1/us-east-1), or hang off 'ci'",
        ),
        (
            "hangs_off: prod-wave-1/us-east-1}",
            "hangs_off: prod-wave-1/us-west-9}",
            "projects[0].stages[3].targets[0].hangs_off: 'prod-wave-1/us-west-9' is not a target "
            "of the previous stage (prod-wave-1/us-east-1, prod-wave-1/eu-west-1)",
        ),
        (
            "hangs_off: prod-wave-1/us-east-1}",
            "hangs_off: prod-wave-1}",
            "projects[0].stages[3].targets[0].hangs_off: the previous stage 'prod-wave-1' is a "
            "wave of several targets: say which one's deploy pipeline declares this promotion "
            "(hangs_off: prod-wave-1/us-east-1), or hang off 'ci'",
        ),
        (
            "{name: sa-east-1,",
            "{name: us-west-2,",
            "projects[0].stages[3].targets[1].name: target name 'us-west-2' is used twice "
            "(first at projects[0].stages[3].targets[0])",
        ),
        (
            "promotion: Deploy sa-east-1",
            "promotion: Deploy us-west-2",
            "projects[0].stages[3].targets[1].promotion: promotion 'Deploy us-west-2' is used "
            "twice (first at projects[0].stages[3].targets[0]); each target deploys through its "
            "own promotion",
        ),
        (
            "      - name: prod-wave-2\n",
            "      - name: prod-wave-2\n        promotion: Deploy prod\n",
            "projects[0].stages[3]: a stage with 'targets' takes target, promotion, hangs_off "
            "and emergency per target, not for the whole stage",
        ),
        (
            "scope: wave}",
            "scope: wave, promotion: Roll back}",
            "projects[0].stages[2]: a stage with 'targets' rolls back with each target's own "
            "promotion: 'rollback.promotion' would name one promotion for every target",
        ),
        (
            "scope: wave}",
            "scope: region}",
            "projects[0].stages[2].rollback.scope: 'region' is not one of 'target' or 'wave'",
        ),
        (
            "      - name: prod-onebox\n        promotion: Deploy onebox\n",
            "      - name: prod-onebox\n        promotion: Deploy onebox\n"
            "        hangs_off: prod-wave-1/us-east-1\n",
            "projects[0].stages[1].hangs_off: 'prod-wave-1/us-east-1' names a target, but the "
            "previous stage 'beta' has one; use 'previous' or 'ci'",
        ),
    ],
    ids=[
        "previous after a wave",
        "unknown target",
        "wave without target",
        "duplicate target",
        "duplicate promotion",
        "promotion on the wave",
        "rollback promotion on the wave",
        "unknown scope",
        "target of a plain stage",
    ],
)
def test_check_config_names_the_wrong_reference(old: str, new: str, problem: str) -> None:
    assert old in CONFIG
    assert problem in problems_of(CONFIG.replace(old, new))


def test_a_stage_after_a_wave_must_say_which_target_it_hangs_off() -> None:
    text = CONFIG + "      - name: after\n        promotion: Deploy after\n"
    assert problems_of(text) == [
        "projects[0].stages[4].hangs_off: the previous stage 'prod-wave-2' is a wave of several "
        "targets: say which one's deploy pipeline declares this promotion "
        "(hangs_off: prod-wave-2/us-west-2), or hang off 'ci'"
    ]
    fixed = text + "        hangs_off: prod-wave-2/sa-east-1\n"
    assert load_config_text(fixed).project("shop").source_stage("after") == "prod-wave-2/sa-east-1"
