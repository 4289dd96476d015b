"""Issue 14 item 6: alarms firing and resolving on a stage fold into one message, edited in
place, so a burst of alerts is a few Slack calls and never a post per alert. Through the real
Alertmanager route, the runtime's Slack worker and the Slack stand-in, on a real redis-server."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.model import Blocker, BlockerKind
from bot.scenarios.harness import Harness
from bot.slack.render.alerts import unblock_buttons
from bot.standins.slack import Call
from tests.slack.live import parts, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta}
      - {name: prod, promotion: prod, channel: C0PROD}
"""
BURST = 60
BEGAN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def payload(status: str, names: range) -> dict[str, Any]:
    alerts = [
        {
            "status": status,
            "labels": {"alertname": f"Errors{n}", "deploybot_project": "demo",
                       "deploybot_stage": "prod"},
            "annotations": {"summary": f"errors on shard {n}"},
            "startsAt": BEGAN.isoformat(),
            "endsAt": BEGAN.isoformat() if status == "resolved" else "0001-01-01T00:00:00Z",
            "fingerprint": f"{n:016x}",
        }
        for n in names
    ]  # fmt: skip
    return {"version": "4", "status": status, "receiver": "deploybot", "alerts": alerts}


def in_channel(h: Harness, channel: str) -> list[Call]:
    _, standin = parts(h)
    return [
        c
        for c in standin.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") == channel
    ]


async def test_a_burst_of_alerts_is_one_message_edited_in_place(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        assert h.bot is not None and h.bot.slack is not None
        h.bot.slack.notifier.pacer.scale = 0.3  # paced by Slack's limits, 0.3 times as long
        for n in range(BURST):  # sixty alerts, one delivery each, as fast as they come
            assert (await h.alert(payload("firing", range(n, n + 1)))).status_code == 200
        await h.runtime.orchestrator.block("demo", "beta", "U0BLOCK", "DB migration")

        async def all_shown() -> bool:
            calls = in_channel(h, "C0PROD")
            return bool(calls) and f"blocked by {BURST} alarms" in calls[-1].text()

        await h.until(all_shown)
        calls = in_channel(h, "C0PROD")
        assert [c.method for c in calls].count("chat.postMessage") == 1
        assert len(calls) < BURST // 4, [c.method for c in calls]  # folded, not one per alert
        assert "and 40 more" in calls[-1].text()
        assert len({c.args.get("ts") for c in calls if c.method == "chat.update"}) <= 1

        async def beta_told() -> bool:
            return any("DB migration" in c.text() for c in in_channel(h, "C0DEMO"))

        await h.until(beta_told)  # the other channel's notice was not held up behind them

        assert (await h.alert(payload("resolved", range(BURST)))).status_code == 200

        async def all_clear() -> bool:
            return "no alarm is firing" in in_channel(h, "C0PROD")[-1].text()

        await h.until(all_clear)
        assert (await h.alert(payload("firing", range(99, 100)))).status_code == 200

        async def posted_again() -> bool:
            posts = [c for c in in_channel(h, "C0PROD") if c.method == "chat.postMessage"]
            return len(posts) == 2 and "blocked by 1 alarm" in posts[-1].text()

        await h.until(posted_again)  # a new episode is a new message: people are notified
        # Issue 15 item 7: the alert by its name and summary, once; never its fingerprint.
        said = visible(in_channel(h, "C0PROD")[-1])
        assert said.count("Errors99 firing: errors on shard 99") == 2, said  # text and block
        assert f"{99:016x}" not in said


def visible(call: Call) -> str:
    """What a person reads of a message: its text and its blocks' texts (not button values)."""
    found = [str(call.args.get("text", ""))]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for key, value in node.items():
                if key != "value":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(call.blocks)
    return "\n".join(found)


def test_the_unblock_button_of_an_alarm_names_the_alert() -> None:
    """Issue 15 item 7: an alarm's Unblock button says which alert, not its fingerprint."""
    alarm = Blocker(id=f"alarm:{7:016x}", kind=BlockerKind.ALARM, reason="Errors7 firing: "
                    "errors on shard 7 for the last ten minutes", author="alertmanager",
                    created_at=BEGAN)  # fmt: skip
    [button] = unblock_buttons("demo", "prod", [alarm])
    assert button["text"]["text"] == "Unblock prod: Errors7 firing"
