"""Deploy windows: `DAYS HH:MM-HH:MM` in a stage's local time, days by name, never numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SETS = {
    "daily": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
#: A window end written `24:00` (the end of the day).
END_OF_DAY = time.max
WINDOW_FORM = "'DAYS HH:MM-HH:MM' (e.g. 'mon-fri 09:00-17:00')"
_WINDOW = re.compile(
    r"^\s*(?P<days>\S.*?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True)
class Window:
    """Deploys are allowed on `days` (0=Mon..6=Sun) from `start` until `end`, local time."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise ValueError(f"window days must be a non-empty subset of 0..6, not {self.days}")
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} is not after start {self.start}")

    def __str__(self) -> str:
        return f"{format_days(self.days)} {self.start:%H:%M}-{_clock(self.end)}"


def parse_window(text: str) -> Window:
    """`mon-thu 09:00-16:00`, `mon,wed,fri 10:00-12:00`, `weekdays 22:00-24:00`, ..."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not {WINDOW_FORM}")
    days = parse_days(match["days"])
    start, end = _parse_clock(match["start"], text), _parse_clock(match["end"], text, end=True)
    if end <= start:
        problem = f"end {match['end']} is not after start {match['start']}"
        if end < start:
            later = format_days(frozenset((day + 1) % 7 for day in days))
            problem += (
                f"; split it into two windows (e.g. '{format_days(days)} {start:%H:%M}-24:00'"
                f" and '{later} 00:00-{end:%H:%M}')"
            )
        raise ValueError(problem)
    return Window(days, start, end)


def parse_days(text: str) -> frozenset[int]:
    """Day names (`mon`..`sun`), ranges (`mon-thu`), lists (`mon,wed`), daily/weekdays/weekends."""
    if any(char.isdigit() for char in text):
        raise ValueError(
            f"{text.strip()!r}: days are names, not numbers (e.g. 'mon-fri', not '1-5')"
        )
    days: set[int] = set()
    for word in (part.strip().lower() for part in text.split(",")):
        if word in DAY_SETS:
            days |= DAY_SETS[word]
            continue
        first, dash, last = (part.strip() for part in word.partition("-"))
        low = _day_index(first)
        high = _day_index(last) if dash else low
        days.update((low + step) % 7 for step in range((high - low) % 7 + 1))
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """The shortest day text: `daily`, `weekdays`, `weekends` or ranges like `mon-thu,sat`."""
    for name, members in DAY_SETS.items():
        if days == members:
            return name
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAY_NAMES[run[0]] if len(run) == 1 else f"{DAY_NAMES[run[0]]}-{DAY_NAMES[run[-1]]}"
        for run in runs
    )


def _day_index(word: str) -> int:
    if word not in DAY_NAMES:
        raise ValueError(
            f"{word!r} is not a day (use mon, tue, wed, thu, fri, sat, sun, daily, weekdays"
            " or weekends)"
        )
    return DAY_NAMES.index(word)


def _parse_clock(text: str, window: str, end: bool = False) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if end and (hours, minutes) == (24, 0):
        return END_OF_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} in {window!r} is not a time of day (00:00 to 23:59)")
    return time(hours, minutes)


def _clock(moment: time) -> str:
    return "24:00" if moment == END_OF_DAY else f"{moment:%H:%M}"
