"""`deploybot inbox list|show|retry|drop` as a real process against a real redis-server: what
an operator sees of the dead letters, and what each action does to them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis.asyncio as aioredis

from bot.inbox_command import EVENTS
from bot.store import keys as key_names
from bot.store.inbox import RedisInbox

pytestmark = pytest.mark.redis

POISON = '{"version": "4", "alerts": [{"startsAt": "0001-01-01T00:00:00+01:00"}]}'
ERROR = "OverflowError: date value out of range"


def inbox_cli(redis_url: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "REDIS_CLUSTER")}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "bot", "inbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def dead_letters(client: aioredis.Redis, inbox: RedisInbox, *payloads: str) -> list[str]:
    """Record each payload and give it up at once (as after its last failed attempt)."""
    for n, payload in enumerate(payloads):
        await inbox.put("alertmanager", [f"alerts:{n}"], payload)
    taken = await inbox.take("worker", block_ms=0)
    for item in taken:
        assert (await inbox.fail(item.id, ERROR, 1)).dead
    return [item.id for item in taken]


async def test_list_shows_one_dead_letter_a_line_and_show_prints_its_payload(
    redis_client: aioredis.Redis, redis_server: str
) -> None:
    inbox = RedisInbox(redis_client)
    poison, other = await dead_letters(redis_client, inbox, POISON, '{"other": true}')
    listed = inbox_cli(redis_server, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{poison}  alertmanager  20")
    assert lines[0].endswith(f"  1 attempts  {ERROR}")
    assert lines[1].startswith(f"{other}  alertmanager  ")
    assert POISON not in listed.stdout  # list never prints a payload
    shown = inbox_cli(redis_server, "show", poison)
    assert shown.returncode == 0, shown.stderr
    assert f"error:     {ERROR}" in shown.stdout
    assert shown.stdout.rstrip().endswith(POISON)


async def test_retry_puts_it_back_in_the_inbox_and_drop_deletes_it(
    redis_client: aioredis.Redis, redis_server: str
) -> None:
    inbox = RedisInbox(redis_client)
    poison, other = await dead_letters(redis_client, inbox, POISON, '{"other": true}')
    retried = inbox_cli(redis_server, "retry", poison)
    assert retried.returncode == 0, retried.stderr
    assert f"Dead letter {poison} is back in the inbox as item" in retried.stdout
    [again] = await inbox.take("worker", block_ms=0)
    assert (again.kind, again.payload) == ("alertmanager", POISON)
    dropped = inbox_cli(redis_server, "drop", other)
    assert (dropped.returncode, dropped.stdout) == (0, f"Dead letter {other} dropped.\n")
    assert await inbox.dead_count() == 0
    assert inbox_cli(redis_server, "list").stdout == "No dead letters.\n"


async def test_an_unknown_id_is_a_sentence_and_exit_2(
    redis_client: aioredis.Redis, redis_server: str
) -> None:
    for action in ("show", "retry", "drop"):
        result = inbox_cli(redis_server, action, "1-0")
        assert result.returncode == 2, action
        assert result.stderr == "There is no dead letter 1-0 (see `deploybot inbox list`).\n"
    missing = inbox_cli(redis_server, "show")
    assert (missing.returncode, "Traceback" in missing.stderr) == (2, False)
    assert "needs the dead letter's id" in missing.stderr


def test_without_redis_url_it_says_so_and_exits_2() -> None:
    result = inbox_cli(None, "list")
    assert result.returncode == 2
    assert result.stderr.startswith("REDIS_URL is not set")
    assert "Traceback" not in result.stderr


def test_an_unreachable_redis_is_a_sentence_and_exit_2() -> None:
    result = inbox_cli("redis://127.0.0.1:1/0", "list")
    assert result.returncode == 2
    assert result.stderr.startswith("Redis at REDIS_URL cannot be reached")
    assert "Traceback" not in result.stderr


def test_the_default_inbox_is_the_events_inbox() -> None:
    assert key_names.INBOX == EVENTS
