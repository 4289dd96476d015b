"""The `/deploy` grammar: one row per rule, with the command value or the error it gives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config.models import DeploybotConfig
from bot.slack.commands import (
    HELP_SUMMARY,
    USAGE,
    Approve,
    Block,
    BlockScope,
    BlockTarget,
    Diff,
    Emergency,
    Freeze,
    FreezeCancel,
    FreezeList,
    Help,
    History,
    ParseError,
    Queue,
    Reject,
    Rollback,
    Stats,
    Status,
    Unblock,
)
from bot.slack.parser import NO_REASON, parse
from tests.slack.support import NOW


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   \n\t ", Help()),
        ("help", Help()),
        ("help block", Help("block")),
        ("HELP Freeze", Help("freeze")),
        ("help freeze list", Help("freeze")),
        ("status", Status(None)),
        ("status shop", Status("shop")),
        ("status shop prod", Status("shop", "prod")),
        ("status payments", Status("billing", "payments")),
        ("Status SHOP Prod", Status("shop", "prod")),
        ("queue shop prod", Queue("shop", "prod")),
        ("queue gamma", Queue("shop", "gamma")),
        ("QUEUE Billing PAYMENTS", Queue("billing", "payments")),
        ("history billing prod", History("billing", "prod")),
        ("diff shop prod", Diff("shop", "prod")),
        ("diff gamma ABCDEF1", Diff("shop", "gamma", "abcdef1")),
        ("approve shop prod", Approve("shop", "prod")),
        ("stats shop", Stats("shop")),
        ("stats shop prod 7d", Stats("shop", "prod", 7)),
        ("stats billing payments 90D", Stats("billing", "payments", 90)),
        ("approve gamma abcdef1", Approve("shop", "gamma", "abcdef1")),
        ("reject gamma Fails the load test", Reject("shop", "gamma", None, "Fails the load test")),
        ("reject shop prod abcdef1 too risky", Reject("shop", "prod", "abcdef1", "too risky")),
        ("unblock shop prod", Unblock("shop", "prod")),
        ("unblock shop prod a1b2c3", Unblock("shop", "prod", "a1b2c3")),
        ("rollback shop prod", Rollback("shop", "prod")),
        ("rollback shop prod to ABCDEF1", Rollback("shop", "prod", "abcdef1")),
        ("rollback shop prod abcdef1", Rollback("shop", "prod", "abcdef1")),
        ("rollback shop prod to " + "a" * 40, Rollback("shop", "prod", "a" * 40)),
        (
            "emergency shop prod abcdef1 Checkout is down",
            Emergency("shop", "prod", "abcdef1", "Checkout is down"),
        ),
        ("freeze list", FreezeList()),
        ("freeze list shop", FreezeList("shop")),
        ("freeze list shop prod", FreezeList("shop", "prod")),
        ("freeze cancel shop prod year-end", FreezeCancel("shop", "prod", "year-end")),
    ],
)
def test_commands_read_as_their_values(
    config: DeploybotConfig, text: str, expected: object
) -> None:
    assert parse(text, config, NOW) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status", Status("shop")),
        ("queue prod", Queue("shop", "prod")),
        (
            "block prod DB migration",
            Block(BlockScope.STAGE, (BlockTarget("shop", "prod", None),), "DB migration"),
        ),
        ("rollback beta", Rollback("shop", "beta")),
    ],
)
def test_project_may_be_left_out_with_one_project(
    single: DeploybotConfig, text: str, expected: object
) -> None:
    assert parse(text, single, NOW) == expected


@pytest.mark.parametrize(
    ("text", "usage", "says"),
    [
        ("queue prod", "queue", "stage 'prod' is in several projects (shop, billing)"),
        ("queue nope", "queue", "no project or stage 'nope'"),
        ("queue nope", "queue", "projects: shop, billing; stages: beta, gamma, prod, payments"),
        ("queue prdo", "queue", "did you mean 'prod'?"),
        ("queue shop nope", "queue", "project shop has no stage 'nope' (it has beta, gamma, prod)"),
        ("queue shop", "queue", "name a stage of shop"),
        ("queue", "queue", "name a stage"),
        ("queue shop prod extra", "queue", "did not expect 'extra'"),
        ("history", "history", "name a stage"),
        ("status shop prod more words", "status", "did not expect 'more words'"),
        ("block shop prod", "block", NO_REASON),
        ("block shop prod for 2h", "block", NO_REASON),
        ("block all until 17:00", "block", NO_REASON),
        ("block", "block", "name a stage, a project or `all`"),
        ("block shop prod DB for 2x", "block", "'2x' is not a duration"),
        ("block shop prod DB for 0m", "block", "no time at all"),
        ("block shop prod DB until 25:00", "block", "'25:00' is not a time of day"),
        ("block shop prod DB until 2026-02-30 10:00", "block", "is not a real date and time"),
        (
            "block shop prod DB until 2026-11-01 10:00",
            "block",
            "2026-11-01 10:00 Europe/Berlin has already passed",
        ),
        ("block shop prod DB for 99999999999999999999d", "block", "too long"),
        ("unblock shop prod a b", "unblock", "did not expect 'b'"),
        ("unblock", "unblock", "name a stage"),
        ("freeze shop prod tomorrow", "freeze", "YYYY-MM-DD HH:MM .. YYYY-MM-DD HH:MM"),
        (
            "freeze shop prod 2026-12-20 09:00 - 2027-01-04 09:00 X",
            "freeze",
            "YYYY-MM-DD HH:MM .. YYYY-MM-DD HH:MM",
        ),
        (
            "freeze shop prod 2026-12-20 9h .. 2027-01-04 09:00 X",
            "freeze",
            "'2026-12-20 9h' is not a date and time",
        ),
        (
            "freeze shop prod 2027-01-04 09:00 .. 2026-12-20 09:00 X",
            "freeze",
            "must end after it starts",
        ),
        ("freeze shop prod 2026-01-01 09:00 .. 2026-01-04 09:00 X", "freeze", "has already passed"),
        ("freeze shop prod 2026-12-20 09:00 .. 2027-01-04 09:00", "freeze", "say why"),
        ("freeze cancel shop prod", "freeze cancel", "say which freeze"),
        ("freeze cancel shop prod a b", "freeze cancel", "did not expect 'b'"),
        ("freeze list nope", "freeze list", "no project or stage 'nope'"),
        ("rollback shop prod to", "rollback", "say which commit"),
        ("rollback shop prod to xyz1234", "rollback", "'xyz1234' is not a commit sha"),
        ("diff shop prod main", "diff", "'main' is not a commit sha"),
        ("stats shop 12d", "stats", "'12d' is not a window; use 7d, 30d or 90d"),
        ("stats", "stats", "name a project (shop, billing)"),
        ("approve shop prod main", "approve", "'main' is not a commit sha"),
        ("reject shop prod", "reject", "say why"),
        ("reject shop prod abcdef1", "reject", "say why"),
        ("diff shop prod abcdef1 extra", "diff", "extra"),
        ("rollback shop prod to abc12", "rollback", "'abc12' is not a commit sha"),
        ("rollback shop prod to abcdef1 now", "rollback", "say which commit"),
        ("emergency shop prod", "emergency", "say which commit"),
        ("emergency shop prod main Checkout down", "emergency", "'main' is not a commit sha"),
        ("emergency shop prod abcdef1", "emergency", "say why"),
    ],
)
def test_bad_input_says_what_is_wrong_and_the_right_form(
    config: DeploybotConfig, text: str, usage: str, says: str
) -> None:
    result = parse(text, config, NOW)
    assert isinstance(result, ParseError)
    assert says in result.message
    assert result.usage == USAGE[usage]


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("stauts shop", "'status'"), ("blokc prod x", "'block'"), ("rolback prod", "'rollback'")],
)
def test_unknown_subcommand_suggests_the_closest_with_its_form_only(
    config: DeploybotConfig, text: str, suggestion: str
) -> None:
    """Issue 15 item 11: a typo gets its "did you mean" and that command's form, two lines."""
    result = parse(text, config, NOW)
    assert isinstance(result, ParseError)
    assert result.message.startswith(
        f"unknown command {text.split()[0]!r}; did you mean {suggestion}"
    )
    assert result.usage == USAGE[suggestion.strip("'")]
    assert "\n" not in result.usage


@pytest.mark.parametrize("text", ["help nonsense", "help block now", "help unblok"])
def test_help_on_an_unknown_topic_says_so_and_lists_the_topics(
    config: DeploybotConfig, text: str
) -> None:
    result = parse(text, config, NOW)
    assert isinstance(result, ParseError)
    asked = text.split(" ", 1)[1]
    assert result.message.startswith(f"there is no help on {asked!r}; the topics are status,")
    assert result.usage == USAGE["help"]


@pytest.mark.parametrize(
    ("suffix", "until"),
    [
        ("until tomorrow", utc(2026, 11, 25, 8, 0)),  # 09:00 in Berlin tomorrow
        ("until tomorrow 14:30", utc(2026, 11, 25, 13, 30)),
        ("UNTIL Tomorrow 08:00", utc(2026, 11, 25, 7, 0)),
    ],
)
def test_block_until_tomorrow_reads_in_the_stages_zone(
    config: DeploybotConfig, suffix: str, until: datetime
) -> None:
    result = parse(f"block shop prod DB migration {suffix}", config, NOW)
    assert result == Block(BlockScope.STAGE, (BlockTarget("shop", "prod", until),), "DB migration")


@pytest.mark.parametrize(
    ("suffix", "says"),
    [
        ("until friday", "'until friday' is not an expiry deploybot can read; write `for 2h`"),
        ("until tomorrow noon", "'noon' is not a time of day (HH:MM, e.g. 17:00)"),
        ("until 25:00", "'25:00' is not a time of day (00:00 to 23:59)"),
    ],
)
def test_an_expiry_it_cannot_read_is_refused_not_taken_as_the_reason(
    config: DeploybotConfig, suffix: str, says: str
) -> None:
    result = parse(f"block shop prod DB migration {suffix}", config, NOW)
    assert isinstance(result, ParseError)
    assert result.message.startswith(says) and result.usage == USAGE["block"]


def test_unknown_subcommand_without_a_close_match_names_it_only(config: DeploybotConfig) -> None:
    result = parse("xyzzy", config, NOW)
    assert result == ParseError("unknown command 'xyzzy'", HELP_SUMMARY)


def test_reason_is_kept_verbatim_with_its_spacing_and_markup(config: DeploybotConfig) -> None:
    result = parse("block shop prod   DB  migration <!channel> *now*  ", config, NOW)
    assert isinstance(result, Block)
    assert result.reason == "DB  migration <!channel> *now*"


def test_for_without_a_duration_is_part_of_the_reason(config: DeploybotConfig) -> None:
    result = parse("block shop prod waiting for QA", config, NOW)
    assert isinstance(result, Block)
    assert (result.reason, result.targets[0].until) == ("waiting for QA", None)


@pytest.mark.parametrize(
    ("suffix", "until"),
    [
        ("for 2h", NOW + timedelta(hours=2)),
        ("for 1h30m", NOW + timedelta(hours=1, minutes=30)),
        ("until 17:00", utc(2026, 11, 24, 16, 0)),  # 17:00 in Berlin, later today
        ("until 10:30", utc(2026, 11, 25, 9, 30)),  # 10:30 Berlin has passed: tomorrow
        ("until 11:00", utc(2026, 11, 25, 10, 0)),  # exactly now counts as passed
        ("until 2026-12-01 08:00", utc(2026, 12, 1, 7, 0)),
    ],
)
def test_block_expiry_is_read_in_the_stages_zone(
    config: DeploybotConfig, suffix: str, until: datetime
) -> None:
    result = parse(f"block shop prod DB migration {suffix}", config, NOW)
    assert result == Block(BlockScope.STAGE, (BlockTarget("shop", "prod", until),), "DB migration")


def test_stage_zone_overrides_the_projects_zone(config: DeploybotConfig) -> None:
    result = parse("block payments Card network outage until 20:00", config, NOW)
    assert isinstance(result, Block)
    assert result.targets == (BlockTarget("billing", "payments", utc(2026, 11, 24, 11, 0)),)


def test_block_project_blocks_every_stage_in_the_projects_zone(config: DeploybotConfig) -> None:
    result = parse("block billing Release train until 06:00", config, NOW)
    six_in_new_york = utc(2026, 11, 24, 11, 0)
    assert result == Block(
        BlockScope.PROJECT,
        tuple(BlockTarget("billing", s, six_in_new_york) for s in ("beta", "payments", "prod")),
        "Release train",
    )


def test_block_all_blocks_every_stage_of_every_project_each_in_its_zone(
    config: DeploybotConfig,
) -> None:
    result = parse("block all Incident 42 until 18:00", config, NOW)
    assert isinstance(result, Block)
    assert result.scope is BlockScope.ALL
    assert result.reason == "Incident 42"
    untils = {(t.project, t.stage): t.until for t in result.targets}
    assert untils == {
        ("shop", "beta"): utc(2026, 11, 24, 17, 0),
        ("shop", "gamma"): utc(2026, 11, 24, 17, 0),
        ("shop", "prod"): utc(2026, 11, 24, 17, 0),
        ("billing", "beta"): utc(2026, 11, 24, 23, 0),
        ("billing", "payments"): utc(2026, 11, 24, 23, 0),
        ("billing", "prod"): utc(2026, 11, 24, 23, 0),
    }


def test_freeze_times_are_read_in_the_stages_zone(config: DeploybotConfig) -> None:
    result = parse(
        "freeze shop prod 2026-12-20 09:00 .. 2027-01-04 09:00 Year-end  freeze", config, NOW
    )
    assert result == Freeze(
        "shop", "prod", utc(2026, 12, 20, 8, 0), utc(2027, 1, 4, 8, 0), "Year-end  freeze"
    )


def test_freeze_may_have_started_already_if_it_ends_later(config: DeploybotConfig) -> None:
    result = parse("freeze shop prod 2026-11-20 09:00 .. 2026-11-30 09:00 Audit", config, NOW)
    assert isinstance(result, Freeze)


def test_unblock_without_an_id_means_every_manual_blocker(config: DeploybotConfig) -> None:
    result = parse("unblock shop prod", config, NOW)
    assert isinstance(result, Unblock) and result.all_manual
    named = parse("unblock shop prod b-1", config, NOW)
    assert isinstance(named, Unblock) and not named.all_manual


def test_usage_of_every_subcommand_starts_with_slash_deploy_and_its_name() -> None:
    for name, usage in USAGE.items():
        assert usage.startswith(f"/deploy {name}")


def test_naive_now_is_taken_as_utc(config: DeploybotConfig) -> None:
    aware = parse("block shop prod X for 1h", config, NOW)
    naive = parse("block shop prod X for 1h", config, NOW.replace(tzinfo=None))
    assert aware == naive
