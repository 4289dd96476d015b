"""Slack answering 429 and 500: the messages arrive once Slack recovers, each exactly once,
and decisions never wait for Slack (the promotions happen while Slack is failing).

The Slack stand-in (bot/standins/slack.py) answers the first three chat.postMessage calls
with 429 (Retry-After: 1) and the first three chat.update calls with 500, more than slack_sdk
retries a 500: that notice's delivery fails and the Slack inbox delivers it again later.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.scenarios.slack_driver import SIGNING_SECRET
from bot.standins.slack import SlackStandIn
from bot.store.inbox import RedisInbox
from tests.faults.support import Seen, config_yaml, rig, sha, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

E = sha(0xE)


@pytest.fixture
async def standin() -> AsyncIterator[SlackStandIn]:
    slack = await SlackStandIn().start()
    yield slack
    await slack.stop()


async def test_slack_failing_delays_no_decision_and_every_message_arrives_once(
    tmp_path: Path, redis_server: str, standin: SlackStandIn
) -> None:
    standin.fail("chat.postMessage", 429, times=3, retry_after=1)
    standin.fail("chat.update", 500, times=3)
    async with rig(tmp_path, redis_server, config_yaml(), slack_api_url=standin.api_url,
                   slack_signing_secret=SIGNING_SECRET) as r:  # fmt: skip
        posted_at_promotion: dict[str, int] = {}

        async def hook(seen: Seen) -> web.StreamResponse | None:
            body = seen.json()
            if seen.method == "POST" and seen.path.endswith("/promotions"):
                posted_at_promotion[str(body["name"])] = len(standin.of("chat.postMessage"))
            return None

        r.proxy.hook = hook
        bot = await r.bot().start()
        r.proxy.bot_url = bot.url
        await r.push(E)
        await until(lambda: r.watch.deployed("prod", E), 20, "E on prod")
        # Decisions did not wait for Slack: both promotions went out before any message did.
        assert posted_at_promotion == {"beta": 0, "prod": 0}
        slack_inbox = RedisInbox(r.watch.client).sibling("slack")

        async def delivered() -> bool:
            return await slack_inbox.pending() == 0 and len(standin.of("chat.update")) >= 1

        await until(delivered, 40, "every Slack message delivered")
        await asyncio.sleep(1)  # anything still to come (a duplicate) has time to show
        failed = Counter(c.method for c in standin.calls if c.status != 200)
        assert failed == {"chat.postMessage": 3, "chat.update": 3}
        posts = [
            (c.args.get("channel"), c.args.get("thread_ts"), c.text())
            for c in standin.of("chat.postMessage")
        ]
        assert posts, "nothing was posted"
        assert [p for p, n in Counter(posts).items() if n > 1] == [], "a message arrived twice"
        parents = [p for p in posts if p[1] is None]
        assert len(parents) == 1, "one status thread for the change"
        assert "Traceback" not in r.output()
