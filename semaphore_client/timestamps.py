"""Semaphore's timestamp encodings, parsed to aware UTC ``datetime`` (or ``None`` when unset).

Accepted forms (the endpoint decides which one arrives):

* epoch seconds as a string or number: ``"1571083003"`` (jobs)
* ``{"seconds": 1571076843, "nanos": 537730000}`` (pipeline/workflow/promotion lists)
* ``"2019-10-14 18:31:17.293456Z"`` (pipeline describe)
* ISO-8601 ``"2023-06-07T09:24:04.000000Z"`` / ``"2019-12-10T13:09:54Z"`` (targets, webhook)

Unset values (``null``, ``""``, epoch zero in any form) become ``None``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator


def _from_epoch(seconds: float) -> datetime | None:
    if seconds == 0:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _from_string(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return _from_epoch(int(text))
    parsed = datetime.fromisoformat(text.replace(" ", "T", 1).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed.timestamp() == 0 else parsed.astimezone(UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """Parse any of Semaphore's timestamp encodings; raise ``ValueError`` on anything else,
    a time outside what ``datetime`` holds in UTC (``0001-01-01T00:00:00+01:00``) included."""
    try:
        return _parse(value)
    except (OverflowError, OSError) as exc:  # OSError: out of the platform's time_t
        raise ValueError("timestamp out of range: it cannot be converted to UTC") from exc


def _parse(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if isinstance(value, str):
        return _from_string(value)
    if isinstance(value, dict) and "seconds" in value:
        seconds = int(value.get("seconds") or 0)
        nanos = int(value.get("nanos") or 0)
        if not seconds and not nanos:
            return None
        return datetime.fromtimestamp(seconds, tz=UTC) + timedelta(microseconds=nanos // 1000)
    raise ValueError(f"not a timestamp: {value!r}")


Timestamp = Annotated[datetime | None, BeforeValidator(parse_timestamp)]
"""A model field holding any Semaphore timestamp; ``None`` when unset."""
