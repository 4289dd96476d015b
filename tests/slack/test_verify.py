"""Slack's signature, checked before Bolt parses or logs a request."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bot.slack.verify import LOG_BURST, RefusalLog, refusal

EXAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "slack"


def test_slacks_documented_signing_example_verifies() -> None:
    doc = json.loads((EXAMPLE / "slash_command.signing_example.json").read_text())
    secret, body = doc["signing_secret"], doc["raw_body"]
    timestamp = doc["headers"]["X-Slack-Request-Timestamp"]
    signature = doc["headers"]["X-Slack-Signature"]
    now = float(timestamp) + 10
    assert refusal(timestamp, signature, body.encode(), secret, now=now) is None
    assert refusal(timestamp, signature, body.encode() + b"x", secret, now=now) is not None


@pytest.mark.parametrize(
    ("timestamp", "signature", "reason"),
    [
        (None, "v0=" + "0" * 64, "missing"),
        ("1000", None, "missing"),
        ("123.0", "v0=" + "0" * 64, "whole number"),
        ("abc", "v0=" + "0" * 64, "whole number"),
        ("1" * 40, "v0=" + "0" * 64, "whole number"),
        ("600", "v0=" + "0" * 64, "more than 5 minutes"),
        ("1000", "v1=" + "0" * 64, "64 hex digits"),
        ("1000", "v0=ü", "64 hex digits"),
        ("1000", "v0=" + "0" * 64, "does not match"),
    ],
)
def test_each_bad_header_is_refused_with_its_reason(
    timestamp: str | None, signature: str | None, reason: str
) -> None:
    found = refusal(timestamp, signature, b"body", "secret", now=1000.0)
    assert found is not None and reason in found


def test_refusals_are_logged_without_bodies_and_at_most_a_burst_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    logged = RefusalLog(clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="bot.slack.verify"):
        for _ in range(LOG_BURST + 5):
            logged("/slack/events", "X-Slack-Signature does not match the body", 12)
        clock[0] = 61.0
        logged("/slack/events", "missing X-Slack-Request-Timestamp", 3)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == LOG_BURST + 2
    assert "5 more refusals not logged" in lines[LOG_BURST]
    assert "(12 bytes, body not logged)" in lines[0]
