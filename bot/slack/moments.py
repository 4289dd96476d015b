"""When a `/deploy` command says: `for 2h`, `until 17:00`, `until tomorrow [09:00]`,
`until 2026-12-20 17:00`.

People write local wall-clock times in a stage's time zone; these functions turn them into
UTC instants or say in a sentence what is wrong. They never raise: a problem is a `str`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.durations import parse_duration
from bot.core.wallclock import local_instant

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLOCK = re.compile(r"^\d{1,2}:\d{2}$")
FORMAT = "%Y-%m-%d %H:%M"
#: `until tomorrow` without a time: the start of tomorrow's working day.
TOMORROW_DEFAULT = time(9, 0)
HOW = "write `for 2h`, `until 17:00`, `until tomorrow [09:00]` or `until 2026-12-20 17:00`"


@dataclass(frozen=True)
class Expiry:
    """An unresolved expiry: exactly one of the three is set (`tomorrow` goes with `clock`)."""

    duration: timedelta | None = None
    clock: time | None = None
    moment: datetime | None = None
    tomorrow: bool = False


def duration(text: str) -> timedelta | str:
    try:
        found = parse_duration(text)
    except (ValueError, OverflowError) as exc:
        return str(exc) if isinstance(exc, ValueError) else f"{text[:40]!r} is too long a time"
    return found if found > timedelta(0) else f"{text[:40]!r} is no time at all; say e.g. 'for 2h'"


def clock(text: str) -> time | str:
    if not CLOCK.match(text):
        return f"{text[:40]!r} is not a time of day (HH:MM, e.g. 17:00)"
    hours, minutes = (int(part) for part in text.split(":"))
    if hours > 23 or minutes > 59:
        return f"{text!r} is not a time of day (00:00 to 23:59)"
    return time(hours, minutes)


def local_datetime(day: str, hour: str) -> datetime | str:
    """A naive wall-clock datetime from `YYYY-MM-DD` and `HH:MM`."""
    shown = f"{day[:20]} {hour[:20]}"
    if not DATE.match(day) or not CLOCK.match(hour):
        return f"{shown!r} is not a date and time (YYYY-MM-DD HH:MM, e.g. 2026-12-20 09:00)"
    try:
        return datetime.strptime(f"{day} {hour}", FORMAT)
    except ValueError:
        return f"{shown!r} is not a real date and time (YYYY-MM-DD HH:MM)"


def in_zone(wall: datetime, zone: str) -> datetime | str:
    """The UTC instant of naive `wall` in `zone`."""
    try:
        return local_instant(wall, zone)
    except (OverflowError, ValueError):
        return f"{wall:%Y-%m-%d %H:%M} is out of range"


def resolve(expiry: Expiry, zone: str, now: datetime) -> datetime | str:
    """The instant `expiry` means for a stage in `zone` at `now`; it must lie ahead."""
    try:
        if expiry.duration is not None:
            return now + expiry.duration
        if expiry.clock is not None:
            local_now = now.astimezone(ZoneInfo(zone))
            day = local_now.date() + timedelta(days=1 if expiry.tomorrow else 0)
            wall = datetime.combine(day, expiry.clock)
            found = in_zone(wall, zone)
            if isinstance(found, datetime) and found <= now and not expiry.tomorrow:
                found = in_zone(wall + timedelta(days=1), zone)
            return found
    except (OverflowError, ValueError):
        return "that time is out of range"
    if expiry.moment is None:
        return "no expiry given"
    found = in_zone(expiry.moment, zone)
    if isinstance(found, datetime) and found <= now:
        return f"{expiry.moment:%Y-%m-%d %H:%M} {zone} has already passed"
    return found
