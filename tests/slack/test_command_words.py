"""What a person reads after a mistyped or unclear `/deploy` command (issue 15 item 11):
signed slash commands through the real Bolt app, the Slack stand-in recording the ephemeral
reply, the real engine on a real redis-server."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bot.slack.listeners.context import STORE_DOWN
from tests.conftest import _free_port, _wait_for_redis
from tests.slack.live import answered, started
from tests.slack.test_modal_checks import CONFIG, ask

pytestmark = pytest.mark.redis


async def test_mistakes_get_a_short_answer_that_says_what_is_right(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        typo = await answered(h, "blok prod DB migration", "U0BLOCK")
        assert typo == (
            "unknown command 'blok'; did you mean 'block' or 'unblock'? Usage: /deploy block "
            "[project] "
            "stage|wave|PROJECT|all REASON [for 2h | until 17:00 | until tomorrow [09:00] | "
            "until 2026-12-20 17:00]"
        )
        topic = await answered(h, "help nonsense", "U0BLOCK")
        assert topic.startswith("there is no help on 'nonsense'; the topics are status, queue")
        vague = await answered(h, "block prod DB migration until friday", "U0BLOCK")
        assert vague.startswith("'until friday' is not an expiry deploybot can read; write")
        state = await h.store.load("demo", "prod")
        assert state.blockers == ()  # nothing was blocked by a command it could not read


async def test_block_until_tomorrow_blocks_until_nine_tomorrow(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        reply = await ask(h, "block prod DB migration until tomorrow", "U0BLOCK")
        [blocker] = (await h.store.load("demo", "prod")).blockers
        assert blocker.reason == "DB migration" and blocker.until is not None
        now = h.runtime.orchestrator.stages.clock()
        assert (blocker.until.date() - now.date()).days == 1
        assert (blocker.until.hour, blocker.until.minute) == (9, 0)  # the stages are in UTC
        said = str(reply.args["text"])
        assert said.startswith(f":no_entry: Blocked demo/prod until {blocker.until:%a %d %b} "
                               "09:00 UTC (in "), said  # fmt: skip
        assert said.endswith("): DB migration"), said


async def test_a_command_while_redis_is_down_says_nothing_was_done(redis_server: str) -> None:
    """Issue 15 item 5: `/deploy block` and `/deploy status` while the state store is down
    get an answer saying so, not an ack and then silence."""
    binary = shutil.which("redis-server")
    assert binary is not None, "redis-server is installed (the session's Redis runs)"
    port = _free_port()
    own = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_redis(port, own)
        async with started(f"redis://127.0.0.1:{port}/0", CONFIG) as h:
            own.terminate()  # Redis goes away under the running bot
            own.wait(timeout=10)
            for text in ("block prod DB migration", "status"):
                reply = await ask(h, text, "U0BLOCK")
                assert reply.args["text"] == STORE_DOWN, reply.args
                assert reply.args["response_type"] == "ephemeral"
    finally:
        own.kill()
        own.wait(timeout=10)
