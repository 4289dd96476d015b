"""What a loaded configuration means: defaults, stage policies, calendars and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, HangsOff, load_config, load_config_text
from bot.core.model import AfterRollback, RollbackPolicy, StagePolicy

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"

BASE = """\
roles:
  block: [S01DEPLOYERS]
  approve: [U024BE7LH]
projects:
  - name: shop
    channel: C0123ABC
    timezone: Europe/Berlin
    holidays: [DE]
    stages:
      - name: beta
        promotion: Deploy beta
      - name: gamma
        promotion: Deploy gamma
      - name: prod
        promotion: Deploy prod
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_config_text(text)
    return error.value.problems


def test_stage_and_project_defaults_fill_in() -> None:
    project = load_config_text(BASE).project("shop")
    beta = project.stage("beta")
    assert (project.semaphore_project, project.branch, project.ci_pipeline) == (
        "shop",
        "main",
        ".semaphore/semaphore.yml",
    )
    assert (beta.target, beta.bake, beta.supersede, beta.enforce) == (
        "beta",
        timedelta(0),
        True,
        False,
    )
    assert [stage.hangs_off for stage in project.stages] == [
        HangsOff.CI,
        HangsOff.PREVIOUS,
        HangsOff.PREVIOUS,
    ]
    assert project.channel_for("prod") == "C0123ABC"


def test_policies_follow_the_stage_order_and_mark_the_last_stage() -> None:
    text = BASE.replace(
        "promotion: Deploy prod",
        "promotion: Deploy prod\n        bake: 1h30m\n        supersede: false\n"
        "        rollback: {policy: approve, promotion: Roll back prod, after_rollback: hold}",
    )
    policies = load_config_text(text).project("shop").policies()
    assert policies[0] == StagePolicy(
        project="shop", stage="beta", promotion="Deploy beta", target="beta"
    )
    assert policies[1].hangs_off_previous and not policies[1].is_last
    assert policies[2] == StagePolicy(
        project="shop",
        stage="prod",
        promotion="Deploy prod",
        target="prod",
        rollback_promotion="Roll back prod",
        hangs_off_previous=True,
        rollback=RollbackPolicy.APPROVE,
        after_rollback=AfterRollback.HOLD,
        bake=timedelta(hours=1, minutes=30),
        supersede=False,
        is_last=True,
    )


@pytest.mark.parametrize(
    ("rollback", "policy"),
    [
        ("off", RollbackPolicy.OFF),
        ("{policy: off}", RollbackPolicy.OFF),
        ("approve", RollbackPolicy.APPROVE),
    ],
)
def test_rollback_off_survives_yaml_reading_it_as_false(
    rollback: str, policy: RollbackPolicy
) -> None:
    text = BASE.replace(
        "promotion: Deploy beta", f"promotion: Deploy beta\n        rollback: {rollback}"
    )
    assert load_config_text(text).project("shop").stage("beta").rollback.policy is policy


def test_a_stage_calendar_merges_the_projects_zone_holidays_and_freezes() -> None:
    text = BASE.replace(
        "    stages:",
        "    freezes:\n      - start: 2026-12-18 16:00\n        end: 2027-01-04 09:00\n"
        "        reason: Year end\n    stages:",
    ).replace(
        "promotion: Deploy prod",
        "promotion: Deploy prod\n        windows: [mon-thu 09:00-16:00]\n"
        "        freezes:\n          - {id: launch, start: 2026-11-02 00:00,"
        " end: 2026-11-03 00:00, reason: Launch, announce: [2h]}",
    )
    project = load_config_text(text).project("shop")
    calendar = project.calendar("prod")
    berlin = ZoneInfo("Europe/Berlin")
    assert calendar.timezone == "Europe/Berlin"
    assert calendar.holidays == ("DE",)
    assert [str(window) for window in calendar.windows] == ["mon-thu 09:00-16:00"]
    year_end, launch = calendar.freezes
    assert year_end.id == "2026-12-18"  # derived from the start date
    assert year_end.start == datetime(2026, 12, 18, 16, tzinfo=berlin)  # naive means local
    assert year_end.announce == (timedelta(days=1), timedelta(hours=1))  # the root default
    assert launch.announce == (timedelta(hours=2),)
    assert project.calendar("beta").freezes == (year_end,)
    assert project.calendar("beta").windows == ()


def test_a_stage_may_override_or_clear_the_projects_holidays_and_zone() -> None:
    text = BASE.replace(
        "promotion: Deploy prod",
        "promotion: Deploy prod\n        holidays: []\n        timezone: America/New_York",
    ).replace("promotion: Deploy gamma", "promotion: Deploy gamma\n        holidays: [de-by]")
    project = load_config_text(text).project("shop")
    assert project.calendar("prod").holidays == ()
    assert project.calendar("prod").timezone == "America/New_York"
    assert project.calendar("gamma").holidays == ("DE-BY",)


def test_root_freeze_announce_is_the_default_for_every_freeze() -> None:
    text = "freeze_announce: [2d]\n" + BASE.replace(
        "    stages:",
        "    freezes:\n      - {start: 2026-12-18T16:00:00+01:00, end: 2027-01-04 09:00:00+01:00,"
        " reason: Year end}\n    stages:",
    )
    [freeze] = load_config_text(text).project("shop").calendar("beta").freezes
    assert freeze.announce == (timedelta(days=2),)
    assert freeze.start == datetime(2026, 12, 18, 15, tzinfo=UTC)


def test_project_roles_replace_global_roles_one_by_one() -> None:
    text = BASE.replace("    timezone:", "    roles:\n      approve: [S04LEADS]\n    timezone:")
    config = load_config_text(text)
    roles = config.roles_for("shop")
    assert roles.approve == ("S04LEADS",)
    assert roles.block == ("S01DEPLOYERS",)
    assert roles.emergency == ()


def test_unknown_projects_and_stages_are_named_in_the_error() -> None:
    config = load_config_text(BASE)
    with pytest.raises(KeyError, match="no project 'billing'"):
        config.project("billing")
    with pytest.raises(KeyError, match="has no stage 'qa'"):
        config.project("shop").stage("qa")


@pytest.mark.parametrize(
    ("before", "after", "problem"),
    [
        (
            "  - name: shop",
            "  - name: all",
            "projects[0].name: 'all' is reserved ('/deploy block all' blocks every stage of every"
            " project)",
        ),
        (
            "name: gamma",
            "name: shop",
            "projects[0].stages[1].name: stage name 'shop' is also a project name, so"
            " '/deploy block shop' would be ambiguous",
        ),
        (
            "promotion: Deploy prod",
            "promotion: Deploy prod\n        channel: #prod-deploys",
            "projects[0].stages[2].channel: is empty; write a channel id like 'C0123ABC' or quote"
            " a name like '#deploys' (unquoted, YAML reads # as the start of a comment)",
        ),
    ],
)
def test_names_that_would_confuse_slack_commands_are_rejected(
    before: str, after: str, problem: str
) -> None:
    assert problems_of(BASE.replace(before, after)) == [problem]


def test_a_stage_freeze_may_not_reuse_a_project_freeze_id() -> None:
    text = BASE.replace(
        "    stages:",
        "    freezes: [{id: xmas, start: 2026-12-20, end: 2026-12-27, reason: a}]\n    stages:",
    ).replace(
        "promotion: Deploy prod",
        "promotion: Deploy prod\n        freezes: [{id: xmas, start: 2026-12-20, end: 2026-12-21,"
        " reason: b}]",
    )
    assert problems_of(text) == [
        "projects[0].stages[2].freezes[0].id: freeze id 'xmas' is used twice (first at"
        " projects[0].freezes[0].id); give each freeze its own 'id'"
    ]


def test_a_freeze_needs_offsets_on_both_ends_or_neither() -> None:
    text = BASE.replace(
        "    stages:",
        "    freezes: [{start: '2026-12-20T09:00:00+01:00', end: 2026-12-27 09:00, reason: a}]\n"
        "    stages:",
    )
    assert problems_of(text) == [
        "projects[0].freezes[0]: give both start and end a UTC offset, or neither"
    ]


def test_the_example_loads_with_its_documented_meaning() -> None:
    config = load_config(EXAMPLE)
    shop, billing, storefront = config.projects
    assert [len(step) for step in storefront.steps] == [1, 1, 2, 3]
    assert storefront.source_stage("prod-wave-2/ap-south-1") == "prod-wave-1/eu-west-1"
    assert shop.stage("prod").rollback.after_rollback is AfterRollback.HOLD
    assert [p.rollback for p in shop.policies()] == [
        RollbackPolicy.AUTO,
        RollbackPolicy.AUTO,
        RollbackPolicy.APPROVE,
    ]
    assert billing.channel == "#billing-deploys"
    assert config.roles_for(billing).approve == ("S04BILLINGLEADS",)
    assert config.reconcile_interval == timedelta(seconds=60)
