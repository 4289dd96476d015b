"""The small text pieces the renderers call for every blocker and button: exactly what the
straightforward versions (`format_duration`, `json.dumps`) write, and cached where the same
input comes back on every render."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.durations import format_duration
from bot.slack.render.blocks import decode_value, encode_value
from bot.slack.render.text import local, relative, span


def two_units(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return f"{max(0, int(delta.total_seconds()))}s"
    return "".join(re.findall(r"\d+[dhms]", format_duration(timedelta(minutes=minutes)))[:2])


@pytest.mark.parametrize(
    "seconds",
    [-5, 0, 59, 60, 61, 3599, 3600, 3660, 5400, 86399, 86400, 86460, 90000, 93784, 10**8, 1.5],
)
def test_span_is_two_units_of_format_duration(seconds: float) -> None:
    assert span(timedelta(seconds=seconds)) == two_units(timedelta(seconds=seconds))


def test_relative_and_local() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert relative(now + timedelta(hours=2, minutes=5), now) == "in 2h5m"
    assert relative(now - timedelta(days=1, hours=3, minutes=9), now) == "1d3h ago"
    assert relative(now - timedelta(seconds=45), now) == "45s ago"  # issue 15 item 9
    assert relative(now + timedelta(seconds=59.5), now) == "in 59s"
    assert relative(now, now) == "just now"
    assert local(now, "Europe/Berlin") == "Tue 24 Nov 11:00 CET"
    assert local(now.replace(tzinfo=None), "Asia/Tokyo") == "Tue 24 Nov 19:00 JST"
    assert local(now, "Europe/Berlin") == "Tue 24 Nov 11:00 CET"  # from the cache


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"project": "shop", "stage": "beta", "blocker": None},
        {"project": 'a"b\\c', "stage": "é/😀\u2028", "sha": "<!channel> & \n\t\x00"},
    ],
)
def test_encode_value_writes_compact_json(fields: dict[str, str | None]) -> None:
    kept = {key: value for key, value in fields.items() if value is not None}
    text = encode_value(fields)
    assert text == json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
    assert decode_value(text) == kept


def test_an_outcome_shows_the_person_who_acted_and_only_them() -> None:
    from bot.slack.render.text import outcome

    assert outcome("rolled back by U0APPROVE") == "rolled back by <@U0APPROVE>"
    assert outcome("reset by U0EMERGENCY: stuck <@U0BOSS> & co") == (
        "reset by <@U0EMERGENCY>: stuck &lt;@U0BOSS&gt; &amp; co"
    )
    assert outcome("newer change abc1234 by U0X") == "newer change abc1234 by U0X"


def test_history_says_who_rolled_back_and_reset_as_people() -> None:
    from datetime import UTC, datetime

    from bot.core.model import DeploymentState
    from bot.slack.render.status import history_message
    from tests.builders import deployment

    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    rolled = deployment(
        1, DeploymentState.FAILED, outcome="rolled back by U0APPROVE", finished_at=now
    )
    reset = deployment(2, DeploymentState.CANCELLED, outcome="reset by U0EMERGENCY: stuck",
                       finished_at=now)  # fmt: skip
    from bot.config.loader import load_config_text

    config = load_config_text(
        "roles: {block: [U0BLOCK]}\nprojects:\n  - name: shop\n    channel: C0SHOP\n"
        "    stages: [{name: prod, promotion: prod}]\n"
    )
    text = str(history_message(config.project("shop"), "prod", [reset, rolled], now))
    assert "cancelled: reset by <@U0EMERGENCY>: stuck" in text
    assert "failed: rolled back by <@U0APPROVE>" in text
    assert "by U0" not in text
