"""The weekly digest's schedule (issue 17)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.core.digest import DigestAt, digest_moments, parse_digest


def test_a_day_and_a_time_are_read_and_mistakes_say_what_is_right() -> None:
    assert parse_digest("mon 09:00") == DigestAt(0, time(9, 0))
    assert parse_digest(" Friday 17:30 ") == DigestAt(4, time(17, 30))
    assert str(parse_digest("sun 7:05")) == "sun 07:05"
    for wrong, said in (("funday 09:00", "like 'mon 09:00'"), ("mon", "like 'mon 09:00'"),
                        ("mon 25:00", "a time like 09:00"), ("mon nine", "a time like 09:00")):  # fmt: skip
        with pytest.raises(ValueError, match=said):
            parse_digest(wrong)


def test_moments_fall_on_the_day_in_the_projects_time_zone() -> None:
    monday = DigestAt(0, time(9, 0))
    after = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)  # a Sunday
    found = digest_moments(monday, "Europe/Berlin", after, after + timedelta(days=14))
    assert [m.astimezone(UTC) for m in found] == [
        datetime(2026, 11, 30, 8, 0, tzinfo=UTC),  # 09:00 in Berlin
        datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
    ]
    exactly = found[0]
    assert digest_moments(monday, "Europe/Berlin", exactly, exactly + timedelta(hours=1)) == []
    assert digest_moments(monday, "Europe/Berlin", exactly - timedelta(seconds=1), exactly) == [
        exactly
    ]
