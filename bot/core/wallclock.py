"""The one rule for turning a local wall-clock time into an instant, used by windows,
freezes and everything people type in Slack.

A wall-clock time that happens twice (the hour repeated when clocks go back) means its first
occurrence. One that never happens (the hour skipped when clocks go forward) means the end of
the gap: "02:30" on a spring-forward day in Berlin is 03:00 local, the first moment that
exists after it. (Python's zoneinfo alone would read it with the old offset, as 03:30.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_instant(wall: datetime, zone: ZoneInfo | str) -> datetime:
    """The UTC instant of naive local `wall` in `zone`."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    wall = wall.replace(tzinfo=None, fold=0)
    utc = wall.replace(tzinfo=tz).astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc  # it exists (the first occurrence, if it happens twice)
    # In a gap: the first instant whose local time is later than `wall` (a transition).
    low = int(wall.replace(tzinfo=tz, fold=1).timestamp())
    high = int(utc.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) > wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)
