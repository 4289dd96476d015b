"""`parse` is total: any text at all gives a command value or a ParseError, never an exception."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.slack.commands import (
    Block,
    Emergency,
    Freeze,
    FreezeCancel,
    FreezeList,
    Help,
    History,
    ParseError,
    Queue,
    Rollback,
    Status,
    Unblock,
)
from bot.slack.parser import parse
from tests.slack.support import NOW, one_project, two_projects

CONFIGS = (two_projects(), one_project())
VALUES = (
    Help,
    Status,
    Queue,
    History,
    Block,
    Unblock,
    Freeze,
    FreezeList,
    FreezeCancel,
    Rollback,
    Emergency,
)
TOKENS = [
    "status",
    "queue",
    "history",
    "block",
    "unblock",
    "freeze",
    "list",
    "cancel",
    "rollback",
    "emergency",
    "help",
    "all",
    "shop",
    "SHOP",
    "billing",
    "beta",
    "gamma",
    "prod",
    "PROD",
    "payments",
    "to",
    "for",
    "until",
    "..",
    "2h",
    "1h30m",
    "0m",
    "99999999999999999999d",
    "17:00",
    "24:00",
    "9:5",
    "2026-12-20",
    "2027-01-04",
    "9999-12-31",
    "0001-01-01",
    "2026-02-30",
    "09:00",
    "23:59",
    "abcdef1",
    "ABCDEF1234",
    "a" * 41,
    "xyz",
    "DB",
    "migration",
    "<!channel>",
    "<https://evil.example|docs>",
    "&amp;",
    "\x00",
    "\u200b",
    "🚀",
    "ǅ",
    "İ",
    "\n",
    "\t",
    "-",
    "",
]
#: Instants up to the ends of what datetime holds, so time arithmetic would overflow.
MOMENTS = st.one_of(
    st.just(NOW),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
    st.sampled_from([datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]),
)
PROFILE = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(result: object) -> None:
    assert isinstance(result, (ParseError, *VALUES))
    if isinstance(result, ParseError):
        assert result.message and result.usage


@PROFILE
@given(text=st.text(), config=st.sampled_from(CONFIGS), now=MOMENTS)
def test_any_text_gives_a_command_or_a_parse_error(
    text: str, config: object, now: datetime
) -> None:
    check(parse(text, config, now))  # type: ignore[arg-type]


@PROFILE
@given(
    words=st.lists(st.sampled_from(TOKENS), max_size=12),
    separators=st.lists(
        st.sampled_from([" ", "  ", "\t", "\n", "\u3000"]), min_size=12, max_size=12
    ),
    config=st.sampled_from(CONFIGS),
    now=MOMENTS,
)
def test_any_mix_of_the_grammars_words_gives_a_command_or_a_parse_error(
    words: list[str], separators: list[str], config: object, now: datetime
) -> None:
    text = "".join(word + separator for word, separator in zip(words, separators, strict=False))
    check(parse(text, config, now))  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(
    head=st.sampled_from(["block shop prod ", "emergency prod abcdef1 ", "freeze prod ", "", "x"]),
    filler=st.sampled_from(["x", "x ", "<!here> ", "\x00", "é "]),
    size=st.integers(min_value=10_000, max_value=300_000),
)
def test_huge_input_gives_a_command_or_a_parse_error(head: str, filler: str, size: int) -> None:
    check(parse(head + filler * size, CONFIGS[0], NOW))


def test_a_reason_up_to_the_limit_is_kept_whole_and_a_longer_one_refused_in_words() -> None:
    """Issue 14 item 6: reasons are capped at 500 characters, with a message saying so."""
    kept = "x" * 500
    result = parse(f"block shop prod {kept}", CONFIGS[0], NOW)
    assert isinstance(result, Block) and result.reason == kept
    for text in (
        f"block shop prod {kept}y",
        f"freeze shop prod 2026-12-20 09:00 .. 2027-01-04 09:00 {'x' * 200_000}",
        f"emergency shop prod abcdef1 {kept}y",
    ):
        refused = parse(text, CONFIGS[0], NOW)
        assert isinstance(refused, ParseError), text[:60]
        assert "characters long; keep it to 500" in refused.message
