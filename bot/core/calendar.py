"""When a stage's calendar blocks it: deploy windows, holidays and scheduled change freezes.

Pure evaluation, no configuration or I/O: `Calendar.blockers(now)` says which `window` and
`freeze` blockers hold at an instant, `next_boundary(after)` says when that answer next
changes (the scheduler wakes up exactly then) and `announcements()` lists freeze notices.

Window times are local wall-clock times in the calendar's zone. Where a wall-clock time does
not exist (spring-forward gap) it means the first instant after the gap; where it exists twice
(fall-back overlap) it means the first occurrence. A holiday closes its whole local day.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import holidays as holiday_lib

from bot.core.durations import format_duration
from bot.core.model import Blocker, BlockerKind
from bot.core.wallclock import local_instant
from bot.core.windows import END_OF_DAY, Window, format_days, parse_days, parse_window

__all__ = [
    "Calendar",
    "Freeze",
    "Window",
    "check_holiday_calendar",
    "check_timezone",
    "format_days",
    "parse_days",
    "parse_window",
]

AUTHOR = "calendar"
WINDOW_BLOCKER_ID = "window"
#: How far ahead (and back) window changes are searched for.
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Freeze:
    """A scheduled change freeze, announced `announce` ahead of its start (and at start, end)."""

    id: str
    start: datetime
    end: datetime
    reason: str
    announce: tuple[timedelta, ...] = ()

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"freeze {self.id!r}: start and end need a time zone")
        if self.end <= self.start:
            raise ValueError(f"freeze {self.id!r}: end {self.end} is not after start {self.start}")


def check_timezone(name: str) -> str:
    """`name` if zoneinfo knows it, else a ValueError suggesting the spelling it probably meant."""
    try:
        ZoneInfo(name)
        return name
    except (KeyError, ValueError, OSError):
        pass
    known = available_timezones()
    problem = f"{name!r} is not a known time zone (e.g. 'Europe/Berlin')"
    folded = {zone.lower(): zone for zone in known}
    guess = folded.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, sorted(known), n=1)), None
    )
    raise ValueError(f"{problem}; did you mean {guess!r}?" if guess else problem)


def check_holiday_calendar(code: str) -> str:
    """`code` (`US`, `DE-BY`) upper-cased if the holidays package has it, else a ValueError."""
    country, dash, subdivision = code.strip().upper().partition("-")
    supported: dict[str, list[str]] = holiday_lib.list_supported_countries()
    if country not in supported:
        raise ValueError(f"{code!r} is not a known holiday calendar (e.g. 'US', 'DE' or 'US-CA')")
    if dash and subdivision not in supported[country]:
        examples = ", ".join(supported[country][:5]) or "none"
        raise ValueError(
            f"{code!r} is not a known holiday calendar: {country} has no subdivision"
            f" {subdivision!r} (it has e.g. {examples})"
        )
    return f"{country}-{subdivision}" if dash else country


def _holiday_calendar(code: str) -> Any:
    country, _, subdivision = check_holiday_calendar(code).partition("-")
    languages = holiday_lib.list_localized_countries().get(country, [])
    language = "en_US" if "en_US" in languages else None
    return holiday_lib.country_holidays(country, subdiv=subdivision or None, language=language)


@dataclass(frozen=True)
class Calendar:
    """A stage's windows, holiday calendars and freezes in one time zone."""

    timezone: str = "UTC"
    windows: tuple[Window, ...] = ()
    holidays: tuple[str, ...] = ()
    freezes: tuple[Freeze, ...] = ()

    def __post_init__(self) -> None:
        check_timezone(self.timezone)
        for code in self.holidays:
            check_holiday_calendar(code)
        ids = [freeze.id for freeze in self.freezes]
        if len(set(ids)) != len(ids):
            raise ValueError(f"freeze ids must be unique, got {ids}")

    def blockers(self, now: datetime) -> list[Blocker]:
        """The window blocker (if closed) and one blocker per freeze active at `now`."""
        now = _aware(now, "now")
        found: list[Blocker] = []
        reason = self._state_at(now)
        if reason is not None:
            found.append(
                Blocker(
                    id=WINDOW_BLOCKER_ID,
                    kind=BlockerKind.WINDOW,
                    reason=reason,
                    author=AUTHOR,
                    created_at=self._closed_since(now),
                    until=self._next_open(now),
                )
            )
        for freeze in self.freezes:
            if freeze.start <= now < freeze.end:
                found.append(
                    Blocker(
                        id=f"freeze:{freeze.id}",
                        kind=BlockerKind.FREEZE,
                        reason=freeze.reason,
                        author=AUTHOR,
                        created_at=freeze.start.astimezone(UTC),
                        starts_at=freeze.start.astimezone(UTC),
                        until=freeze.end.astimezone(UTC),
                    )
                )
        return found

    def next_boundary(self, after: datetime) -> datetime | None:
        """The first instant strictly after `after` at which `blockers()` changes, in UTC.

        The timeline is fixed, so the last answer holds for every `after` from the one it was
        asked for up to the boundary it found: asked again in that span (every decision asks),
        it is not walked again."""
        after = _aware(after, "after")
        last = self._boundaries.get("last")
        if last is not None and last[0] <= after and (last[1] is None or after < last[1]):
            return last[1]
        candidates = [self._next_change(after)]
        for freeze in self.freezes:
            candidates += [moment for moment in (freeze.start, freeze.end) if moment > after]
        found = [moment for moment in candidates if moment is not None]
        boundary = min(found).astimezone(UTC) if found else None
        self._boundaries["last"] = (after, boundary)
        return boundary

    def announcements(self, after: datetime, until: datetime) -> list[tuple[datetime, Freeze, str]]:
        """Freeze notices due in (`after`, `until`]: ahead of each start, at start and at end."""
        after, until = _aware(after, "after"), _aware(until, "until")
        due: list[tuple[datetime, Freeze, str]] = []
        for freeze in self.freezes:
            notices = [
                (freeze.start - ahead, f"in {format_duration(ahead)}") for ahead in freeze.announce
            ]
            notices += [(freeze.start, "started"), (freeze.end, "ended")]
            due += [
                (at.astimezone(UTC), freeze, label) for at, label in notices if after < at <= until
            ]
        return sorted(due, key=lambda notice: (notice[0], notice[1].id))

    def describe_windows(self) -> str:
        return f"{', '.join(str(window) for window in self.windows)} {self.timezone}"

    # -- the window timeline: per local day, the instants at which the closure reason changes

    @cached_property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _holiday_calendars(self) -> tuple[tuple[str, Any], ...]:
        return tuple((code, _holiday_calendar(code)) for code in self.holidays)

    @cached_property
    def _days(self) -> dict[date, list[tuple[datetime, str | None]]]:
        return {}

    @cached_property
    def _boundaries(self) -> dict[str, tuple[datetime, datetime | None]]:
        """`next_boundary`'s last question and answer, under "last"."""
        return {}

    def _holiday(self, day: date) -> str | None:
        names = [
            f"{found.get(day)} ({code})" for code, found in self._holiday_calendars if day in found
        ]
        return "holiday: " + "; ".join(names) if names else None

    def _open_hours(self, weekday: int) -> list[tuple[time, time]]:
        spans = sorted((w.start, w.end) for w in self.windows if weekday in w.days)
        merged: list[tuple[time, time]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def _instant(self, wall: datetime) -> datetime:
        return local_instant(wall, self._zone)

    def _day(self, day: date) -> list[tuple[datetime, str | None]]:
        if day not in self._days:
            self._days[day] = self._compute_day(day)
        return self._days[day]

    def _compute_day(self, day: date) -> list[tuple[datetime, str | None]]:
        midnight = self._instant(datetime.combine(day, time()))
        holiday = self._holiday(day)
        if holiday is not None or not self.windows:
            return [(midnight, holiday)]
        outside = f"outside deploy windows ({self.describe_windows()})"
        next_midnight = self._instant(datetime.combine(day + timedelta(days=1), time()))
        points: list[tuple[datetime, str | None]] = [(midnight, outside)]
        for start, end in self._open_hours(day.weekday()):
            opens = self._instant(datetime.combine(day, start))
            closes = (
                next_midnight if end == END_OF_DAY else self._instant(datetime.combine(day, end))
            )
            if opens < closes:
                points += [(opens, None)] + ([(closes, outside)] if closes < next_midnight else [])
        last_per_instant = dict(points)
        return sorted(last_per_instant.items(), key=lambda point: point[0])

    def _timeline(self, around: datetime, forward: bool) -> Iterator[tuple[datetime, str | None]]:
        today = around.astimezone(self._zone).date()
        offsets = range(-1, HORIZON_DAYS + 1) if forward else range(1, -HORIZON_DAYS - 1, -1)
        for offset in offsets:
            points = self._day(today + timedelta(days=offset))
            yield from points if forward else reversed(points)

    def _state_at(self, now: datetime) -> str | None:
        return next((state for at, state in self._timeline(now, forward=False) if at <= now), None)

    def _next_change(self, after: datetime) -> datetime | None:
        if not self.windows and not self.holidays:
            return None  # always open
        current = self._state_at(after)
        return next(
            (
                at
                for at, state in self._timeline(after, forward=True)
                if at > after and state != current
            ),
            None,
        )

    def _next_open(self, now: datetime) -> datetime | None:
        return next(
            (at for at, state in self._timeline(now, forward=True) if at > now and state is None),
            None,
        )

    def _closed_since(self, now: datetime) -> datetime:
        since = now
        for at, state in self._timeline(now, forward=False):
            if at > now:
                continue
            if state is None:
                return since
            since = at
        return now


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {moment}")
    return moment
