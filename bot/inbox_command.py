"""`deploybot inbox list|show ID|retry ID|drop ID`: the inbox's dead letters, for operators.

An inbox item whose processing failed on every one of its attempts is moved to the dead letters
(bot.service.inbox_worker). They wait there for a person: `list` shows one per line, `show`
prints one with its payload, `retry` records it again as a new item for the worker, `drop`
forgets it. The Redis is REDIS_URL's (REDIS_CLUSTER=true: a node of a Redis Cluster); `--inbox
slack` reads the Slack messages' inbox instead of the events'.

Exit status: 0 done, 2 when there is no REDIS_URL, no such dead letter, or Redis cannot be
reached (each said in one sentence on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:  # imported when the command runs: `deploybot --help` stays quick
    from bot.store.inbox import DeadLetter, Inbox

#: bot.store.keys.INBOX
EVENTS = "inbox"
ACTIONS = ("list", "show", "retry", "drop")
TRUE = {"1", "true", "yes", "on"}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inbox = commands.add_parser(
        "inbox",
        help="the inbox's dead letters: list, show, retry or drop them (Redis at REDIS_URL)",
        description="Items whose processing failed on every attempt are moved to the inbox's "
        "dead letters. list: one per line (id, kind, received, attempts, error); show ID: one "
        "with its payload; retry ID: back to the inbox, processed again; drop ID: deleted.",
    )
    inbox.add_argument("action", choices=ACTIONS, help="what to do")
    inbox.add_argument("id", nargs="?", help="the dead letter's item id (show, retry, drop)")
    inbox.add_argument(
        "--inbox",
        dest="name",
        default=EVENTS,
        metavar="NAME",
        help="which inbox: inbox (webhooks and alerts, the default) or slack (messages to post)",
    )


def inbox_command(
    action: str,
    item_id: str | None,
    name: str = EVENTS,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        print(
            "REDIS_URL is not set: the dead letters live in Redis, set REDIS_URL to it.", file=err
        )
        return 2
    if action != "list" and not item_id:
        print(f"`deploybot inbox {action}` needs the dead letter's id (see `list`).", file=err)
        return 2
    from redis.exceptions import RedisError

    from bot.store.inbox import RedisInbox
    from bot.store.redis import redis_client

    cluster = os.environ.get("REDIS_CLUSTER", "").strip().lower() in TRUE
    client = redis_client(url, cluster=cluster)

    async def run() -> int:
        try:
            inbox = RedisInbox(client, name=name)
            return await ACTION[action](inbox, item_id or "", out, err)
        finally:
            await client.aclose()

    try:
        return asyncio.run(run())
    except (RedisError, OSError) as exc:
        print(f"Redis at REDIS_URL cannot be reached ({type(exc).__name__}).", file=err)
        return 2


async def _list(inbox: Inbox, _: str, out: TextIO, err: TextIO) -> int:
    letters = await inbox.dead_letters(limit=10_000)
    if not letters:
        print("No dead letters.", file=out)
        return 0
    for letter in letters:
        print(_line(letter), file=out)
    return 0


async def _show(inbox: Inbox, item_id: str, out: TextIO, err: TextIO) -> int:
    letter = await inbox.dead_letter(item_id)
    if letter is None:
        return _unknown(item_id, err)
    print(f"id:        {letter.id}", file=out)
    print(f"kind:      {letter.kind}", file=out)
    print(f"received:  {letter.received_at.isoformat(timespec='seconds')}", file=out)
    print(f"dead:      {letter.dead_at.isoformat(timespec='seconds')}", file=out)
    print(f"attempts:  {letter.attempts}", file=out)
    print(f"error:     {letter.error}", file=out)
    print("payload:", file=out)
    print(letter.payload, file=out)
    return 0


async def _retry(inbox: Inbox, item_id: str, out: TextIO, err: TextIO) -> int:
    new_id = await inbox.retry_dead(item_id)
    if new_id is None:
        return _unknown(item_id, err)
    print(f"Dead letter {item_id} is back in the inbox as item {new_id}.", file=out)
    return 0


async def _drop(inbox: Inbox, item_id: str, out: TextIO, err: TextIO) -> int:
    if not await inbox.drop_dead(item_id):
        return _unknown(item_id, err)
    print(f"Dead letter {item_id} dropped.", file=out)
    return 0


ACTION: dict[str, Callable[[Inbox, str, TextIO, TextIO], Awaitable[int]]] = {
    "list": _list,
    "show": _show,
    "retry": _retry,
    "drop": _drop,
}


def _line(letter: DeadLetter) -> str:
    received = letter.received_at.isoformat(timespec="seconds")
    return f"{letter.id}  {letter.kind}  {received}  {letter.attempts} attempts  {letter.error}"


def _unknown(item_id: str, err: TextIO) -> int:
    print(f"There is no dead letter {item_id} (see `deploybot inbox list`).", file=err)
    return 2
