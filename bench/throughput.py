"""Sustained load on deploybot running as in production: `python -m bot serve` in a process of
its own, fed by the closed-loop load generator in this process.

Signed passed-CI webhooks (made-up pipelines, one new commit each) are POSTed by `WORKERS`
clients for the duration, spread over `PROJECTS` projects whose one stage is blocked first, by
a signed `/deploy block <project> beta ... for 24h` Slack command from U0BLOCK (each event is
then a real decision: the change is queued, older queued changes are superseded, people are
told; no promotion, since the simulator does not know the pipelines). The rate is the
sustained one: events processed / (time from the first POST until the inbox was empty again),
so a backlog left at the end counts against it. It is the bot process's own rate: the load
generator runs in another process (on a 2-core machine they still share the CPU).

Proof that nothing was lost: the `recorded` answers equal the ChangeReady audit entries written
(one per event id, `ci:<pipeline>`), and the inbox is empty. The bench reads Redis directly for
the blockers, the inbox length (back-pressure) and the audit entries.

The Slack worker posts its notices at most once a second per channel, as in production
(`serve` has no setting for the pace; every project here posts to one channel), so delivering
them costs the bot process little during the run and most wait in the `slack` stream at its
end (`slack_notices_waiting`); the rate is the decision rate, Slack delivery paced.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp

from bench.ack import command_form, signed_command
from bench.load import closed_loop
from bench.processes import Served, bot_serve, check
from bench.stack import WEBHOOK_ROUTE, Payloads, projects_config, signed, stack, template
from bot.standins.slack import SlackStandIn
from bot.store import RedisStore, Store
from bot.store.inbox import RedisInbox
from bot.store.redis import redis_client

PROJECTS = 20
WORKERS = 4
#: Senders wait while more than this many events are recorded but not yet processed, so the
#: rate sent settles at the rate the bot processes (the backlog stays bounded).
BACKLOG = 200
CONFIG = projects_config(PROJECTS, 1)


def projects() -> list[str]:
    return ["demo", *(f"project-{p:04d}" for p in range(1, PROJECTS))]


async def measure(redis_url: str, duration: float, workers: int = WORKERS) -> dict[str, Any]:
    client = redis_client(redis_url)
    store, inbox = RedisStore(client), RedisInbox(client)
    try:
        async with stack(CONFIG, redis_url, start_bot=False) as h:
            assert h.standin is not None and h.settings.slack_signing_secret is not None
            secret = h.settings.slack_signing_secret.get_secret_value()
            body = await template(h)
            async with bot_serve(h.settings, redis_url, CONFIG) as bot:
                await _block_all(bot, h.standin, secret, store)
                result = await _load(bot, body, inbox, duration, workers)
                check(bot)
                result["decided"] = await decided(store, template_event(body))
                result["inbox_left"] = await inbox.length()
                result["slack_notices_waiting"] = await inbox.sibling("slack").length()
    finally:
        await client.aclose()
    result["lost"] = result["recorded"] - result["decided"]
    result["events_per_s"] = round(result["decided"] / result["seconds_until_drained"], 1)
    return result


async def _block_all(bot: Served, standin: SlackStandIn, secret: str, store: RedisStore) -> None:
    """Block every project's `beta` through Slack, as U0BLOCK; wait until Redis shows it."""
    async with aiohttp.ClientSession() as session:
        for project in projects():
            text = f"block {project} beta bench hold for 24h"
            form = command_form(standin, text, "U0BLOCK", f"hold-{project}")
            data, headers = signed_command(form, secret)
            async with session.post(f"{bot.url}/slack/events", data=data, headers=headers) as r:
                if r.status != 200:
                    raise RuntimeError(f"/deploy block {project}: {r.status} {await r.text()}")
    async with asyncio.timeout(30):
        for project in projects():
            while not (await store.load(project, "beta")).blockers:
                await asyncio.sleep(0.02)


async def _load(
    bot: Served, body: bytes, inbox: RedisInbox, duration: float, workers: int
) -> dict[str, Any]:
    payloads, names = Payloads(body), projects()
    bodies = [payloads.next(names[i % len(names)]) for i in range(int(duration * 2000))]

    def make(i: int) -> tuple[bytes, dict[str, str]]:
        data = bodies[i] if i < len(bodies) else payloads.next(names[i % len(names)])
        return data, signed(data)

    watch = _Backlog(inbox)
    began = time.perf_counter()
    watcher = asyncio.create_task(watch.run())
    try:
        sent = await closed_loop(f"{bot.url}{WEBHOOK_ROUTE}", make, workers=workers,
                                 duration=duration, answer_key="status", gate=watch.gate)  # fmt: skip
        backlog = await inbox.length()
        await _drained(inbox)
        elapsed = time.perf_counter() - began
    finally:
        watcher.cancel()
    recorded = sent.answers.get("recorded", 0)
    return {
        "workers": workers,
        "sent": sent.count,
        "statuses": sent.statuses,
        "answers": sent.answers,
        "recorded": recorded,
        "backlog_at_end_of_sending": backlog,
        "seconds_sending": round(sent.seconds, 3),
        "seconds_until_drained": round(elapsed, 3),
        "accepted_per_s": round(recorded / sent.seconds, 1),
    }


class _Backlog:
    """Polls the inbox's length; `gate` holds the senders while it is over `BACKLOG`."""

    def __init__(self, inbox: RedisInbox) -> None:
        self.inbox, self.length = inbox, 0

    async def run(self) -> None:
        while True:
            self.length = await self.inbox.length()
            await asyncio.sleep(0.02)

    async def gate(self) -> None:
        while self.length > BACKLOG:
            await asyncio.sleep(0.005)


async def _drained(inbox: RedisInbox, timeout: float = 120) -> None:
    async with asyncio.timeout(timeout):
        while await inbox.length():
            await asyncio.sleep(0.01)


def template_event(body: bytes) -> str:
    """The event id of the template's own pipeline: not one of the events sent (the bot may
    still decide it, e.g. when its reconciliation at start finds the pipeline passed)."""
    return f"ci:{json.loads(body)['pipeline']['id']}"


async def decided(store: Store, but: str = "") -> int:
    """Events decided: distinct ChangeReady audit entries (`ci:<pipeline>`) of every project,
    the event `but` left out."""
    ids: set[str] = set()
    for project in projects():
        for entry in await store.audit(project, "beta", limit=1_000_000):
            if entry.detail.startswith("ci:") and entry.detail != but:
                ids.add(entry.detail)
    return len(ids)
