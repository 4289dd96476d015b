"""Field types of the configuration: each validates one value and says plainly what is wrong."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, PlainValidator

from bot.core.calendar import Window, check_holiday_calendar, check_timezone, parse_window
from bot.core.digest import DigestAt, parse_digest
from bot.core.durations import DURATION_EXAMPLES, format_duration, parse_duration

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SLACK_PRINCIPAL = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_CHANNEL_NAME = re.compile(r"^#[a-z0-9][a-z0-9._-]{0,79}$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(
            f"{value!r} is not a lower-case name (letters, digits, '-' and '_', e.g. 'shop')"
        )
    return value


def _slack_principal(value: str) -> str:
    if not _SLACK_PRINCIPAL.match(value):
        raise ValueError(
            f"{value!r} is not a Slack user id (U… or W…) or user group id (S…), e.g. 'U024BE7LH'"
        )
    return value


def _channel(value: Any) -> Any:
    if value is None:
        raise ValueError(
            "is empty; write a channel id like 'C0123ABC' or quote a name like '#deploys'"
            " (unquoted, YAML reads # as the start of a comment)"
        )
    if isinstance(value, str) and not (_CHANNEL_ID.match(value) or _CHANNEL_NAME.match(value)):
        raise ValueError(f"{value!r} is not a Slack channel id (e.g. 'C0123ABC') or '#name'")
    return value


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"expected a duration like {DURATION_EXAMPLES}, got {value!r}")
    if isinstance(value, int):
        if value == 0:
            return timedelta(0)
        raise ValueError(f"{value} has no unit; write e.g. '{value}s', '{value}m' or '{value}h'")
    return parse_duration(value)


def _positive_duration(value: Any) -> timedelta:
    duration = _duration(value)
    if duration <= timedelta(0):
        raise ValueError(f"{value!r} must be longer than zero")
    return duration


def _window(value: Any) -> Window:
    if isinstance(value, Window):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a window like 'mon-fri 09:00-17:00', got {value!r}")
    return parse_window(value)


def _digest(value: Any) -> DigestAt:
    if isinstance(value, DigestAt):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a day and a time like 'mon 09:00', got {value!r}")
    return parse_digest(value)


def not_empty(what: str) -> AfterValidator:
    """Checked after the items validate, so broken items are not also reported as missing."""

    def check(items: tuple[Any, ...]) -> tuple[Any, ...]:
        if not items:
            raise ValueError(f"needs at least one {what}")
        return items

    return AfterValidator(check)


Slug = Annotated[str, AfterValidator(_slug)]
SlackPrincipal = Annotated[str, AfterValidator(_slack_principal)]
Channel = Annotated[str, BeforeValidator(_channel)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
HolidayCalendar = Annotated[str, AfterValidator(check_holiday_calendar)]
Duration = Annotated[timedelta, PlainValidator(_duration), PlainSerializer(format_duration)]
PositiveDuration = Annotated[
    timedelta, PlainValidator(_positive_duration), PlainSerializer(format_duration)
]
WindowSpec = Annotated[Window, PlainValidator(_window), PlainSerializer(str)]
DigestSpec = Annotated[DigestAt, PlainValidator(_digest), PlainSerializer(str)]
#: A stage's channel override: absent means the project's, but an explicit empty value is a
#: mistake (usually an unquoted `#name`, which YAML reads as a comment).
OptionalChannel = Annotated[str | None, BeforeValidator(_channel)]
