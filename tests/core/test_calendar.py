"""Deploy windows, holidays and freezes: what blocks a stage, and exactly when that changes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.calendar import Calendar, Freeze, Window, parse_days, parse_window
from bot.core.durations import format_duration, parse_duration
from bot.core.model import BlockerKind

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc]


def new_york(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)  # type: ignore[misc]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def calendar(timezone: str = "Europe/Berlin", *windows: str, **kwargs: object) -> Calendar:
    return Calendar(timezone, tuple(parse_window(w) for w in windows), **kwargs)  # type: ignore[arg-type]


YEAR_END = Freeze(
    id="year-end",
    start=berlin(2026, 12, 18, 16, 0),
    end=berlin(2027, 1, 4, 9, 0),
    reason="Year-end change freeze",
    announce=(timedelta(days=3), timedelta(hours=1)),
)
PROD = calendar("Europe/Berlin", "mon-thu 09:00-16:00", holidays=("DE-BY",), freezes=(YEAR_END,))


def ids(cal: Calendar, now: datetime) -> list[str]:
    return [blocker.id for blocker in cal.blockers(now)]


# -- window syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days", "canonical"),
    [
        ("mon-thu 09:00-16:00", {0, 1, 2, 3}, "mon-thu 09:00-16:00"),
        ("MON,Wed,fri 10:00-12:00", {0, 2, 4}, "mon,wed,fri 10:00-12:00"),
        ("mon-wed,fri 09:00-17:00", {0, 1, 2, 4}, "mon-wed,fri 09:00-17:00"),
        ("daily 00:00-24:00", set(range(7)), "daily 00:00-24:00"),
        ("weekdays 9:30-17:00", {0, 1, 2, 3, 4}, "weekdays 09:30-17:00"),
        ("weekends 10:00 - 14:00", {5, 6}, "weekends 10:00-14:00"),
        ("fri-mon 08:00-09:00", {4, 5, 6, 0}, "mon,fri-sun 08:00-09:00"),
    ],
)
def test_window_syntax_accepts_day_names_ranges_lists_and_keywords(
    text: str, days: set[int], canonical: str
) -> None:
    window = parse_window(text)
    assert window.days == frozenset(days)
    assert str(window) == canonical


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mon-fri 9-17", "'mon-fri 9-17' is not 'DAYS HH:MM-HH:MM' (e.g. 'mon-fri 09:00-17:00')"),
        ("1-5 09:00-17:00", "'1-5': days are names, not numbers (e.g. 'mon-fri', not '1-5')"),
        ("mon,3 09:00-17:00", "'mon,3': days are names, not numbers"),
        ("monday 09:00-17:00", "'monday' is not a day (use mon, tue, wed, thu, fri, sat, sun"),
        ("09:00-17:00", "'09:00-17:00' is not 'DAYS HH:MM-HH:MM'"),
        (
            "mon 22:00-02:00",
            "end 02:00 is not after start 22:00; split it into two windows"
            " (e.g. 'mon 22:00-24:00' and 'tue 00:00-02:00')",
        ),
        ("mon 09:00-09:00", "end 09:00 is not after start 09:00"),
        ("mon 09:00-25:00", "'25:00' in 'mon 09:00-25:00' is not a time of day"),
        ("mon 24:00-24:00", "'24:00' in 'mon 24:00-24:00' is not a time of day"),
    ],
)
def test_a_malformed_window_is_rejected_with_the_correct_form(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse_window(text)
    assert str(error.value).startswith(message)


def test_day_lists_tolerate_spaces_after_commas() -> None:
    assert parse_days("mon, wed") == frozenset({0, 2})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("0s", 0)],
)
def test_durations_read_units_largest_first(text: str, expected: int) -> None:
    assert parse_duration(text) == timedelta(seconds=expected)
    assert parse_duration(format_duration(timedelta(seconds=expected))) == timedelta(
        seconds=expected
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "'soon' is not a duration (e.g. '90s', '30m', '2h', '1d' or '1h30m')"),
        ("30", "'30' has no unit; write e.g. '30s', '30m' or '30h'"),
        ("30m1h", "'30m1h' is not a duration"),
        ("", "'' is not a duration"),
    ],
)
def test_a_bad_duration_says_what_a_duration_looks_like(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse_duration(text)


# -- windows: open or closed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "closed"),
    [
        (berlin(2026, 3, 23, 8, 59, 59), True),  # Monday, a second before opening
        (berlin(2026, 3, 23, 9, 0), False),  # opening is inclusive
        (berlin(2026, 3, 23, 15, 59, 59), False),
        (berlin(2026, 3, 23, 16, 0), True),  # closing is exclusive
        (berlin(2026, 3, 26, 12, 0), False),  # Thursday
        (berlin(2026, 3, 27, 12, 0), True),  # Friday is not in mon-thu
        (berlin(2026, 3, 28, 12, 0), True),  # Saturday
        (utc(2026, 3, 23, 8, 30), False),  # 09:30 in Berlin: `now` may be in any zone
    ],
)
def test_a_stage_is_blocked_outside_its_windows(now: datetime, closed: bool) -> None:
    cal = calendar("Europe/Berlin", "mon-thu 09:00-16:00")
    assert ids(cal, now) == (["window"] if closed else [])


def test_a_calendar_without_windows_is_always_open() -> None:
    assert calendar("UTC").blockers(utc(2026, 3, 28, 3, 0)) == []


def test_the_window_blocker_says_which_windows_and_until_when() -> None:
    [blocker] = calendar("Europe/Berlin", "mon-thu 09:00-16:00").blockers(berlin(2026, 3, 27, 12))
    assert blocker.kind is BlockerKind.WINDOW
    assert blocker.author == "calendar"
    assert blocker.reason == "outside deploy windows (mon-thu 09:00-16:00 Europe/Berlin)"
    assert blocker.created_at == berlin(2026, 3, 26, 16, 0)  # Thursday's closing
    assert blocker.until == berlin(2026, 3, 30, 9, 0)  # Monday's opening, now in summer time
    assert blocker.until.tzinfo is UTC


def test_overlapping_windows_merge_into_one_opening() -> None:
    cal = calendar("UTC", "mon 09:00-12:00", "mon 11:00-15:00")
    assert cal.next_boundary(utc(2026, 3, 23, 9, 0)) == utc(2026, 3, 23, 15, 0)


def test_a_window_to_24_00_joins_the_next_days_window_without_a_gap() -> None:
    cal = calendar("UTC", "mon 22:00-24:00", "tue 00:00-02:00")
    assert ids(cal, utc(2026, 3, 24, 0, 0)) == []
    assert cal.next_boundary(utc(2026, 3, 23, 22, 0)) == utc(2026, 3, 24, 2, 0)


# -- next_boundary across daylight-saving changes ---------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "window", "after", "boundary"),
    [
        # Europe/Berlin springs forward on 2026-03-29 at 02:00 CET (01:00 UTC).
        ("Europe/Berlin", "daily 09:00-17:00", berlin(2026, 3, 28, 17), utc(2026, 3, 29, 7)),
        ("Europe/Berlin", "sun 02:30-04:00", utc(2026, 3, 28, 12), utc(2026, 3, 29, 1)),
        ("Europe/Berlin", "sun 02:30-04:00", utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),
        ("Europe/Berlin", "sun 02:00-02:45", utc(2026, 3, 28, 12), utc(2026, 4, 5, 0)),
        # ... and falls back on 2026-10-25 at 03:00 CEST (01:00 UTC): 02:00-03:00 happens twice.
        ("Europe/Berlin", "sun 02:30-04:00", utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),
        ("Europe/Berlin", "sun 02:30-04:00", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3)),
        ("Europe/Berlin", "daily 09:00-17:00", berlin(2026, 10, 24, 17), utc(2026, 10, 25, 8)),
        # America/New_York springs forward on 2026-03-08 at 02:00 EST (07:00 UTC).
        ("America/New_York", "daily 02:30-03:30", utc(2026, 3, 7, 12), utc(2026, 3, 8, 7)),
        ("America/New_York", "daily 02:30-03:30", utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30)),
        # ... and falls back on 2026-11-01 at 02:00 EDT (06:00 UTC): 01:00-02:00 happens twice.
        ("America/New_York", "daily 01:30-02:00", utc(2026, 10, 31, 12), utc(2026, 11, 1, 5, 30)),
        ("America/New_York", "daily 01:30-02:00", utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7)),
        (
            "America/New_York",
            "weekdays 09:00-17:00",
            new_york(2026, 10, 30, 17),
            new_york(2026, 11, 2, 9),
        ),
    ],
)
def test_next_boundary_is_exact_across_daylight_saving_changes(
    timezone: str, window: str, after: datetime, boundary: datetime
) -> None:
    found = calendar(timezone, window).next_boundary(after)
    assert found == boundary
    assert found is not None and found.tzinfo is UTC


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clocks_jump() -> None:
    cal = calendar("Europe/Berlin", "sun 02:30-04:00")
    assert ids(cal, utc(2026, 3, 29, 0, 59, 59)) == ["window"]
    assert ids(cal, utc(2026, 3, 29, 1, 0)) == []  # 03:00 CEST


def test_in_the_repeated_hour_a_window_end_means_its_second_occurrence_is_still_open() -> None:
    cal = calendar("America/New_York", "daily 01:30-02:00")
    assert ids(cal, utc(2026, 11, 1, 6, 45)) == []  # 01:45 EST, the second 01:45
    assert ids(cal, utc(2026, 11, 1, 7, 0)) == ["window"]  # 02:00 EST


# -- holidays -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "now", "reason"),
    [
        (
            calendar("America/New_York", "weekdays 09:00-17:00", holidays=("US",)),
            new_york(2026, 11, 26, 12),
            "holiday: Thanksgiving Day (US)",
        ),
        (
            calendar("Europe/Berlin", holidays=("DE",)),
            berlin(2026, 12, 25, 0),
            "holiday: Christmas Day (DE)",
        ),
        (
            calendar("Europe/Berlin", holidays=("DE-BY",)),
            berlin(2026, 1, 6, 23, 59),
            "holiday: Epiphany (DE-BY)",
        ),
        (
            calendar("America/Los_Angeles", holidays=("US-CA",)),
            datetime(2026, 3, 31, 10, tzinfo=ZoneInfo("America/Los_Angeles")),
            "holiday: Cesar Chavez Day (US-CA)",
        ),
    ],
)
def test_a_holiday_closes_the_whole_local_day_and_is_named(
    cal: Calendar, now: datetime, reason: str
) -> None:
    [blocker] = cal.blockers(now)
    assert (blocker.id, blocker.kind, blocker.reason) == ("window", BlockerKind.WINDOW, reason)


def test_a_subdivision_holiday_does_not_close_the_rest_of_the_country() -> None:
    assert calendar("Europe/Berlin", holidays=("DE",)).blockers(berlin(2026, 1, 6, 12)) == []
    assert calendar("Europe/Berlin", holidays=("DE-BE",)).blockers(berlin(2026, 1, 6, 12)) == []


@pytest.mark.parametrize(
    ("cal", "now", "created_at", "until"),
    [
        # Thanksgiving with weekday windows: closed since Wednesday 17:00, open Friday 09:00.
        (
            calendar("America/New_York", "weekdays 09:00-17:00", holidays=("US",)),
            new_york(2026, 11, 26, 12),
            new_york(2026, 11, 25, 17),
            new_york(2026, 11, 27, 9),
        ),
        # Thanksgiving without windows: the local day, midnight to midnight.
        (
            calendar("America/New_York", holidays=("US",)),
            new_york(2026, 11, 26, 12),
            new_york(2026, 11, 26, 0),
            new_york(2026, 11, 27, 0),
        ),
        # Christmas Day and the Second Day of Christmas close back to back.
        (
            calendar("Europe/Berlin", holidays=("DE",)),
            berlin(2026, 12, 25, 12),
            berlin(2026, 12, 25, 0),
            berlin(2026, 12, 27, 0),
        ),
    ],
)
def test_a_holiday_blocker_runs_from_the_closure_start_until_the_next_opening(
    cal: Calendar, now: datetime, created_at: datetime, until: datetime
) -> None:
    [blocker] = cal.blockers(now)
    assert (blocker.created_at, blocker.until) == (created_at, until)


def test_the_boundary_at_midnight_after_a_holiday_changes_the_reason() -> None:
    cal = calendar("America/New_York", "weekdays 09:00-17:00", holidays=("US",))
    assert cal.next_boundary(new_york(2026, 11, 25, 17)) == new_york(2026, 11, 26, 0)
    assert cal.next_boundary(new_york(2026, 11, 26, 0)) == new_york(2026, 11, 27, 0)
    assert cal.next_boundary(new_york(2026, 11, 27, 0)) == new_york(2026, 11, 27, 9)
    cal = calendar("Europe/Berlin", holidays=("DE",))
    assert cal.next_boundary(berlin(2026, 12, 25, 12)) == berlin(2026, 12, 26, 0)
    [blocker] = cal.blockers(berlin(2026, 12, 26, 0))
    assert blocker.reason == "holiday: Second Day of Christmas (DE)"


# -- freezes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "frozen"),
    [
        (berlin(2026, 12, 18, 15, 59, 59), False),
        (berlin(2026, 12, 18, 16, 0), True),  # at the exact start
        (berlin(2026, 12, 28, 12, 0), True),
        (berlin(2027, 1, 4, 8, 59, 59), True),
        (berlin(2027, 1, 4, 9, 0), False),  # at the exact end
    ],
)
def test_a_freeze_blocks_from_its_start_until_its_end(now: datetime, frozen: bool) -> None:
    cal = calendar("Europe/Berlin", freezes=(YEAR_END,))
    assert ids(cal, now) == (["freeze:year-end"] if frozen else [])


def test_a_freeze_blocker_carries_its_reason_start_and_end() -> None:
    [blocker] = calendar("Europe/Berlin", freezes=(YEAR_END,)).blockers(berlin(2026, 12, 20))
    assert blocker.kind is BlockerKind.FREEZE
    assert blocker.reason == "Year-end change freeze"
    assert blocker.starts_at == blocker.created_at == YEAR_END.start
    assert blocker.until == YEAR_END.end


def test_window_and_freeze_blockers_hold_together() -> None:
    assert ids(PROD, berlin(2026, 12, 19, 12)) == ["window", "freeze:year-end"]


@pytest.mark.parametrize(
    ("after", "boundary"),
    [
        (berlin(2026, 12, 17, 16, 0), berlin(2026, 12, 18, 16, 0)),  # closed Friday, freeze starts
        (berlin(2026, 12, 31, 16, 0), berlin(2027, 1, 1, 0, 0)),  # New Year's Day begins
        (berlin(2027, 1, 3, 12, 0), berlin(2027, 1, 4, 9, 0)),  # freeze ends as the window opens
    ],
)
def test_freeze_starts_and_ends_are_boundaries(after: datetime, boundary: datetime) -> None:
    assert PROD.next_boundary(after) == boundary


def test_freeze_announcements_come_ahead_at_start_and_at_end_in_order() -> None:
    due = PROD.announcements(berlin(2026, 12, 1), berlin(2027, 2, 1))
    assert [(at, freeze.id, label) for at, freeze, label in due] == [
        (berlin(2026, 12, 15, 16), "year-end", "in 3d"),
        (berlin(2026, 12, 18, 15), "year-end", "in 1h"),
        (berlin(2026, 12, 18, 16), "year-end", "started"),
        (berlin(2027, 1, 4, 9), "year-end", "ended"),
    ]


def test_announcements_are_due_after_the_last_check_up_to_and_including_now() -> None:
    start = YEAR_END.start
    assert [label for _, _, label in PROD.announcements(start - timedelta(hours=1), start)] == [
        "started"
    ]
    assert PROD.announcements(start, start + timedelta(hours=1)) == []


# -- the scheduler's contract: nothing changes before next_boundary, something changes at it --

CALENDARS = [
    PROD,
    calendar("America/New_York", "weekdays 09:00-17:00", "sat 10:00-11:00", holidays=("US",)),
    calendar("Europe/Berlin", "sun 02:30-04:00", "daily 01:30-02:15"),
    calendar("America/New_York", "daily 01:30-02:00", "daily 02:30-03:30"),
    calendar("Europe/Berlin", holidays=("DE-BY",), freezes=(YEAR_END,)),
]


def key(cal: Calendar, now: datetime) -> list[tuple[str, str]]:
    return [(blocker.id, blocker.reason) for blocker in cal.blockers(now)]


@settings(max_examples=150, deadline=None)
@given(
    cal=st.sampled_from(CALENDARS),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
    ),
    fractions=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), max_size=4),
)
def test_blockers_are_constant_until_next_boundary_and_change_at_it(
    cal: Calendar, now: datetime, fractions: list[float]
) -> None:
    boundary = cal.next_boundary(now)
    assert boundary is not None and boundary > now
    before = cal.blockers(now)
    for fraction in fractions:
        between = now + (boundary - now) * fraction
        assert cal.blockers(min(between, boundary - timedelta(microseconds=1))) == before
    assert key(cal, boundary) != key(cal, now)


@settings(max_examples=100, deadline=None)
@given(
    index=st.integers(min_value=0, max_value=len(CALENDARS) - 1),
    moments=st.lists(
        st.datetimes(
            min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
        ),
        min_size=2,
        max_size=8,
    ),
)
def test_one_calendar_asked_again_and_again_answers_as_a_new_one_would(
    index: int, moments: list[datetime]
) -> None:
    """`next_boundary` reuses its last answer within the span it covers (every decision asks)."""
    asked = CALENDARS[index]
    for moment in moments + [moment + timedelta(minutes=1) for moment in moments]:
        fresh = dataclasses.replace(asked)  # equal, nothing remembered
        assert asked.next_boundary(moment) == fresh.next_boundary(moment)


def test_a_stage_without_windows_or_holidays_never_changes_but_for_freezes() -> None:
    assert calendar("Europe/Berlin").next_boundary(datetime(2026, 5, 1, tzinfo=UTC)) is None
    frozen = calendar("Europe/Berlin", freezes=(YEAR_END,))
    assert frozen.next_boundary(YEAR_END.start - timedelta(days=1)) == YEAR_END.start


def test_a_calendar_refuses_naive_instants() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        PROD.blockers(datetime(2026, 3, 23, 12))


def test_window_values_check_themselves() -> None:
    with pytest.raises(ValueError):
        Window(frozenset({7}), time(9), time(10))
