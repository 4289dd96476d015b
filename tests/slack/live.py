"""What the end-to-end Slack tests share: a flushed Redis and the bot, the simulator and the
Slack stand-in running on loopback (bot.scenarios.harness), and small questions about the
calls the stand-in recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from bot.scenarios.harness import Harness, running
from bot.scenarios.slack_driver import SlackDriver
from bot.standins.slack import Call, SlackStandIn

BASE, A, C = "b" * 40, "a" * 40, "c" * 40


@asynccontextmanager
async def started(redis_url: str, config: str) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    async with running(config, redis_url=redis_url, slack=True) as h:
        yield h


def parts(h: Harness) -> tuple[SlackDriver, SlackStandIn]:
    assert h.slack is not None and h.standin is not None
    return h.slack, h.standin


def responses(standin: SlackStandIn) -> list[Call]:
    """Replies sent to response URLs (ephemeral answers to commands and clicks)."""
    return [c for c in standin.calls if c.method.startswith("response:")]


def posted_ts(call: Call) -> str:
    """The ts Slack (the stand-in) gave the message `call` posted."""
    return str(call.answer["ts"])
