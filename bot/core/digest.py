"""The weekly digest's schedule (issue 17): `digest: "mon 09:00"` on a project, in its time
zone. `parse_digest` reads it; `digest_moments` lists the moments in a span of time."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DigestAt(NamedTuple):
    weekday: int  # 0 = Monday
    at: time

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.at:%H:%M}"


def parse_digest(text: str) -> DigestAt:
    """`mon 09:00` (a day of the week and a time); ValueError says what is right."""
    parts = text.strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in DAYS:
        raise ValueError(f"expected a day and a time like 'mon 09:00', got {text!r}")
    try:
        hour, minute = (int(p) for p in parts[1].split(":"))
        at = time(hour, minute)
    except ValueError:
        raise ValueError(f"expected a time like 09:00 after the day, got {parts[1]!r}") from None
    return DigestAt(DAYS.index(parts[0][:3]), at)


def digest_moments(spec: DigestAt, zone: str, after: datetime, until: datetime) -> list[datetime]:
    """Every moment of `spec` in (after, until], as aware datetimes (the zone's wall clock)."""
    tz = ZoneInfo(zone)
    day = after.astimezone(tz).date() - timedelta(days=1)
    found: list[datetime] = []
    while True:
        moment = datetime.combine(day, spec.at, tzinfo=tz)
        if moment > until:
            return found
        if day.weekday() == spec.weekday and moment > after:
            found.append(moment)
        day += timedelta(days=1)
