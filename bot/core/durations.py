"""Durations as people write them in configuration and Slack: `90s`, `30m`, `2h`, `1d`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_EXAMPLES = "'90s', '30m', '2h', '1d' or '1h30m'"


def parse_duration(text: str) -> timedelta:
    """`text` as a timedelta; units d, h, m and s, largest first, no spaces inside."""
    cleaned = text.strip().lower()
    match = _DURATION.match(cleaned)
    if not cleaned or match is None:
        if cleaned.isdigit():
            raise ValueError(
                f"{text!r} has no unit; write e.g. '{cleaned}s', '{cleaned}m' or '{cleaned}h'"
            )
        raise ValueError(f"{text!r} is not a duration (e.g. {DURATION_EXAMPLES})")
    seconds = sum(int(value) * _SECONDS[unit] for unit, value in match.groupdict().items() if value)
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The shortest text `parse_duration` reads back as `duration` (whole seconds)."""
    remaining = int(duration.total_seconds())
    if remaining <= 0:
        return "0s"
    parts = []
    for unit, size in _SECONDS.items():
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
