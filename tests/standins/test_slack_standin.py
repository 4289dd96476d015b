"""The Slack Web API stand-in speaks well enough for slack_sdk's own client, and fails on
request so that retries can be tested."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.standins.slack import SlackStandIn


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    standin = await SlackStandIn(groups={"S0ONCALL": ["U1", "U2"]}).start()
    yield standin
    await standin.stop()


async def test_the_sdk_client_posts_and_the_call_is_recorded(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    answer = await client.chat_postMessage(channel="C1", text="hello", blocks=[{"type": "divider"}])
    assert answer["ok"] and answer["ts"]
    [call] = slack.of("chat.postMessage")
    assert call.args["channel"] == "C1" and call.blocks == [{"type": "divider"}]


async def test_a_rate_limited_post_arrives_once_after_the_retry(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    slack.fail("chat.postMessage", 429, retry_after=0)
    await client.chat_postMessage(channel="C1", text="once")
    assert [c.status for c in slack.calls] == [429, 200]
    assert len(slack.of("chat.postMessage")) == 1


async def test_user_group_members_come_from_the_configured_groups(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    answer = await client.usergroups_users_list(usergroup="S0ONCALL")
    assert answer["users"] == ["U1", "U2"]


async def test_first_waits_for_a_reply_or_returns_the_one_already_recorded(
    slack: SlackStandIn,
) -> None:
    async def reply(name: str, text: str) -> None:
        async with httpx.AsyncClient() as http:
            await http.post(slack.response_url(name), json={"text": text})

    waiting = asyncio.create_task(slack.first("response:later"))
    await reply("sooner", "one")
    await reply("later", "two")
    await reply("later", "three")
    assert (await waiting).args["text"] == "two"
    assert (await slack.first("response:sooner")).args["text"] == "one"
    with pytest.raises(TimeoutError):
        await slack.first("response:never", timeout=0.05)
