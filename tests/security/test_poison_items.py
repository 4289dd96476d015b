"""A poison item against a real `deploybot serve` (Slack on, the Slack stand-in): an item the
bot cannot process is given up on after 5 attempts, moved to the dead letters where an operator
sees it (`deploybot inbox list`), and the bot goes on: a change still deploys, its Slack
messages are posted, and the process prints no traceback.

The poison is a Slack message in the Slack inbox that is not a message at all (what a bug, or
an item written by another version, leaves behind): the events inbox's intake now refuses what
used to poison it (tests/http), so the Slack inbox is where the worker's own give-up shows.
The Slack worker retries every 10 s: 5 attempts take 40 to 60 s.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from bot.store.inbox import RedisInbox
from tests.faults.support import ROOT, sha, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

POISON = '{"kind": "not-an-effect", "secret": "s3cr3t-poison"}'


@pytest.mark.timeout(150)
async def test_a_poison_item_is_dead_lettered_and_the_bot_goes_on(bot: Any) -> None:
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    r.proxy.bot_url = process.url  # the simulator's webhooks reach the bot
    notices = RedisInbox(r.watch.client).sibling("slack")
    assert await notices.put("slack", ["poison"], POISON)

    change = sha(0xB)
    await r.push(change, "after the poison")
    await until(lambda: r.watch.deployed("beta", change), 30, "the change deployed to beta")

    async def dead() -> bool:
        return await notices.dead_count() == 1

    await until(dead, 90, "the poison item dead-lettered")
    [letter] = await notices.dead_letters()
    assert (letter.kind, letter.payload, letter.attempts) == ("slack", POISON, 5)
    assert letter.error.startswith("ValidationError: ")
    assert (await notices.pending(), await notices.length()) == (0, 0)
    # The bot went on: the change's Slack messages were posted (the poison blocked nothing).
    assert any(change[:7] in call.text() for call in slack.standin.of("chat.postMessage"))
    metrics = (await http.get("/metrics")).text
    assert "deploybot_inbox_dead_letters_total 1.0" in metrics
    assert (await http.get("/healthz")).status_code == 200

    env = {**os.environ, "REDIS_URL": r.redis_url}
    env.pop("REDIS_CLUSTER", None)
    listed = subprocess.run(
        [sys.executable, "-m", "bot", "inbox", "list", "--inbox", "slack"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith(f"{letter.id}  slack  ")
    assert "5 attempts  ValidationError" in listed.stdout
    await asyncio.sleep(0)
    output = process.output()
    assert "moved to the dead letters after 5 attempts" in output
    assert "s3cr3t-poison" not in output and "s3cr3t-poison" not in listed.stdout
    assert "Traceback" not in output
