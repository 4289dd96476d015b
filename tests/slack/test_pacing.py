"""Pacing by Slack's published limits per method, and 429s honoured (issue 15 item 14)."""

from __future__ import annotations

import time

from bot.settings import Settings
from bot.slack.app import web_client
from bot.slack.pacing import LIMITS, Pacer, retry_after
from bot.standins.slack import SlackStandIn


def delays(pacer: Pacer, method: str, channel: str, at: list[float]) -> list[float]:
    bucket = pacer._bucket(method, channel)
    bucket.at = 0.0
    return [round(bucket.delay(now), 3) for now in at]


def test_posts_burst_then_go_one_a_second_per_channel() -> None:
    pacer = Pacer()
    # Three at once, then the fourth waits a second; a second later one more may go.
    assert delays(pacer, "chat.postMessage", "C1", [0, 0, 0, 0]) == [0, 0, 0, 1.0]
    assert delays(pacer, "chat.postMessage", "C2", [0, 0, 0]) == [0, 0, 0]  # its own bucket
    bucket = pacer._bucket("chat.postMessage", "C1")
    assert bucket.delay(1.0) == 0.0 and bucket.delay(1.0) == 1.0


def test_updates_share_one_workspace_bucket_at_tier_3() -> None:
    pacer = Pacer()
    limit = LIMITS["chat.update"]
    assert limit.rate == 50 / 60 and not limit.per_channel
    assert pacer._bucket("chat.update", "C1") is pacer._bucket("chat.update", "C2")
    burst = delays(pacer, "chat.update", "C1", [0.0] * (limit.burst + 1))
    assert burst[:-1] == [0.0] * limit.burst and burst[-1] == round(60 / 50, 3)


def test_a_scale_of_zero_never_waits_and_a_hold_still_does() -> None:
    pacer = Pacer(0)
    assert delays(pacer, "chat.postMessage", "C1", [0] * 10) == [0] * 10
    pacer.hold("chat.postMessage", 5, "C1")
    bucket = pacer._bucket("chat.postMessage", "C1")
    assert bucket.delay(time.monotonic()) > 4.5
    assert pacer._bucket("chat.postMessage", "C2").delay(time.monotonic()) == 0  # another channel


def test_a_hold_without_a_channel_holds_the_method_everywhere() -> None:
    pacer = Pacer()
    first, second = pacer._bucket("chat.postMessage", "C1"), pacer._bucket("chat.postMessage", "C2")
    pacer.hold("chat.postMessage", 3, None)
    now = time.monotonic()
    assert first.delay(now) > 2.5 and second.delay(now) > 2.5


def test_retry_after_is_read_whatever_its_case_and_defaults_to_a_second() -> None:
    assert retry_after({"retry-after": ["7"]}) == 7.0
    assert retry_after({"Retry-After": "2"}) == 2.0
    assert retry_after({"Retry-After": ["soon"]}) == 1.0
    assert retry_after({}) == 1.0


async def test_a_429_tells_the_pacer_and_the_call_waits_retry_after() -> None:
    standin = await SlackStandIn().start()
    try:
        told: list[tuple[str, float, str | None]] = []
        settings = Settings(slack_bot_token="xoxb-test", slack_api_url=standin.api_url)
        client = web_client(settings, on_limited=lambda *args: told.append(args))
        standin.fail("chat.postMessage", 429, times=1, retry_after=1)
        began = time.monotonic()
        answer = await client.chat_postMessage(channel="C0DEMO", text="hello")
        assert answer["ok"] and time.monotonic() - began >= 1.0
        # slack_sdk shows retry handlers no JSON body: the method is held in every channel.
        assert told == [("chat.postMessage", 1.0, None)]
        assert [c.status for c in standin.calls if c.method == "chat.postMessage"] == [429, 200]
    finally:
        await standin.stop()
