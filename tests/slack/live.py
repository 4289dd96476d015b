"""What the end-to-end Slack tests share: a flushed Redis and the bot, the simulator and the
Slack stand-in running on loopback (bot.scenarios.harness), and small questions about the
calls the stand-in recorded."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import redis.asyncio as aioredis

from bot.scenarios.harness import Harness, running
from bot.scenarios.slack_driver import SlackDriver
from bot.standins.slack import Call, SlackStandIn
from semaphore_client.simulator import World

BASE, A, C = "b" * 40, "a" * 40, "c" * 40


@asynccontextmanager
async def started(
    redis_url: str, config: str, world: World | None = None
) -> AsyncIterator[Harness]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    await client.aclose()
    async with running(config, world=world, redis_url=redis_url, slack=True) as h:
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


async def ask(h: Harness, text: str, user: str) -> tuple[httpx.Response, Call]:
    """Run `/deploy text` as `user`: the ack (empty, 200) and the ephemeral reply that follows."""
    slack, standin = parts(h)
    before = len(responses(standin))
    ack = await slack.command(text, user)
    assert ack.status_code == 200, ack.text
    assert ack.text == "", f"/deploy {text} should ack at once and answer later: {ack.text}"

    async def replied() -> bool:
        return len(responses(standin)) > before

    await h.until(replied, timeout=10)
    reply = responses(standin)[before]
    assert reply.args.get("response_type", "ephemeral") == "ephemeral", reply.args
    return ack, reply


async def answered(h: Harness, text: str, user: str) -> str:
    """`/deploy text` that Slack's ack answers at once (a mistake): the text it shows."""
    slack, _ = parts(h)
    ack = await slack.command(text, user)
    assert ack.status_code == 200
    return str(ack.json()["text"])


def reason(text: str) -> dict[str, Any]:
    """A confirmation modal's state with `text` typed as the reason."""
    return {"reason": {"reason_input": {"type": "plain_text_input", "value": text}}}


async def opened_view(h: Harness, count: int) -> dict[str, Any]:
    """The `count`-th view the bot opened (waiting for it)."""
    _, standin = parts(h)
    opened = await standin.wait_for("views.open", count)
    view = opened[count - 1].args["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)
