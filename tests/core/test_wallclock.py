"""One wall-clock rule for windows, freezes and what people type in Slack."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config.models import FreezeConfig
from bot.core.calendar import Calendar
from bot.core.wallclock import local_instant
from bot.core.windows import parse_window
from bot.slack.moments import in_zone

BERLIN = "Europe/Berlin"
#: Sunday 28 March 2027: in Berlin, 02:00 CET jumps to 03:00 CEST (01:00 UTC).
SPRING = datetime(2027, 3, 28, 2, 30)
#: Sunday 31 October 2027: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
AUTUMN = datetime(2027, 10, 31, 2, 30)


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        (datetime(2027, 3, 27, 2, 30), datetime(2027, 3, 27, 1, 30, tzinfo=UTC)),  # CET
        (SPRING, datetime(2027, 3, 28, 1, 0, tzinfo=UTC)),  # skipped: 03:00 CEST
        (AUTUMN, datetime(2027, 10, 31, 0, 30, tzinfo=UTC)),  # twice: the first (CEST)
        (datetime(2027, 7, 1, 12, 0), datetime(2027, 7, 1, 10, 0, tzinfo=UTC)),
    ],
    ids=["winter", "skipped-hour", "repeated-hour", "summer"],
)
def test_a_local_time_means_one_instant(wall: datetime, expected: datetime) -> None:
    assert local_instant(wall, BERLIN) == expected


def test_windows_freezes_and_slack_read_a_skipped_hour_the_same_way() -> None:
    """Before, 02:30 on the spring-forward day meant 03:00 for a window but 03:30 for a
    freeze and for a time typed in Slack."""
    freeze = FreezeConfig(id="f", start=SPRING, end=datetime(2027, 3, 29), reason="r")
    window = Calendar(BERLIN, (parse_window("sun 02:30-23:00"),))
    opens = window.next_boundary(datetime(2027, 3, 28, 0, 0, tzinfo=UTC))
    typed = in_zone(SPRING, BERLIN)
    assert freeze.freeze(BERLIN).start == opens == typed == local_instant(SPRING, BERLIN)
