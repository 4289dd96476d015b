"""Slack ack latency: signed `/deploy status demo` and `/deploy block ...` POSTed to
`/slack/events` of deploybot running as in production (`python -m bot serve`, a process of its
own configured through its environment), against the bare Bolt reference (`python -m
bench.bare_bolt`: same factory, same `mount`, same aiohttp server, one command that only acks)
in a process of its own too, at each concurrency, in the same run.

The load generator, the Semaphore simulator and the Slack stand-in (the outside world) run in
this process. The bot does the command's work after the ack (`SlackContext.later`); each level
waits until every reply reached the stand-in before the next one starts, so levels do not
overlap, and counts the replies that never came. The reply latency is from just before the POST
was written until its reply arrived at the stand-in (both `time.monotonic()` of this process).

Two paces, two questions:
- **ack pace** (`bare`/`bot` x `status`/`block`): each client sends its next command as soon as
  the ack of the last one is back. This measures acks. It is also a burst: the bot's work falls
  behind the acks, so up to all of a level's commands wait in the bot at once, and the reply
  latency measured there is how long the burst takes to drain (it grows with the level's
  number of requests, not with its concurrency).
- **reply pace** (`bot` x `status`/`block`, `pace: reply`): each client sends its next command
  once the reply to the last one has arrived, as a person reading the answer does: at most
  `concurrency` commands are in the bot at once. This is the reply latency at that concurrency.

Slack pacing: `serve` has no setting for it, so the bot posts its notices (e.g. a block's) at
most once a second per channel, as in production. Replies to `response_url` are not paced.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlencode

from bench.load import Maker, Result, closed_loop
from bench.processes import Served, bare_bolt, bot_serve, check
from bench.stack import projects_config, stack
from bench.stats import summary_ms
from bot.scenarios.slack_driver import signed_headers
from bot.slack.listeners.deploy_command import BUSY as BUSY_ACK
from bot.standins.slack import TEAM, SlackStandIn

#: Projects the block commands are spread over, so no stage collects thousands of blockers.
PROJECTS = 50
#: How the bot's "busy" ack starts.
BUSY = BUSY_ACK.split(":", 1)[0]
CONFIG = projects_config(PROJECTS, 1)
#: (app, command, pace) measured at each level, in this order.
CELLS = (
    ("bare", "status", "ack"), ("bot", "status", "ack"), ("bot", "block", "ack"),
    ("bot", "status", "reply"), ("bot", "block", "reply"),
)  # fmt: skip
#: How long a reply-paced client waits for a reply before it sends its next command anyway.
REPLY_WAIT = 10.0


def command_form(standin: SlackStandIn, text: str, user: str, reply_to: str) -> dict[str, str]:
    """A `/deploy <text>` slash command from `user` in #deploys, replying to `reply_to`."""
    return {
        "token": "legacy", "team_id": TEAM, "team_domain": "deploybot",
        "channel_id": "C0DEMO", "channel_name": "deploys", "user_id": user,
        "user_name": user.lower(), "command": "/deploy", "text": text,
        "api_app_id": "A0DEPLOYBOT", "trigger_id": f"trigger-{reply_to}",
        "response_url": standin.response_url(reply_to),
    }  # fmt: skip


def signed_command(form: dict[str, str], secret: str) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(body, secret)}
    return body.encode(), headers


def command_maker(standin: SlackStandIn, secret: str, kind: str, tag: str) -> Maker:
    """The i-th request: `status demo` as a viewer, or `block <project> beta ...` as U0BLOCK
    (spread over the projects); its reply goes to the stand-in as `response:<tag>-<i>`."""

    def make(i: int) -> tuple[bytes, dict[str, str]]:
        if kind == "status":
            text, user = "status demo", "U0VIEWER"
        else:
            project = "demo" if i % PROJECTS == 0 else f"project-{i % PROJECTS:04d}"
            text, user = f"block {project} beta bench {tag} {i} for 1h", "U0BLOCK"
        return signed_command(command_form(standin, text, user, f"{tag}-{i}"), secret)

    return make


async def replies(standin: SlackStandIn, prefix: str, count: int, quiet: float = 5.0) -> int:
    """Wait until `count` replies to response URLs named `prefix-*` were recorded, or until
    none arrived for `quiet` seconds; return how many never came (lost commands)."""
    wanted = f"response:{prefix}-"

    def arrived() -> int:
        return sum(1 for c in standin.calls if c.method.startswith(wanted))

    loop = asyncio.get_running_loop()
    seen, since = arrived(), loop.time()
    while seen < count and loop.time() - since < quiet:
        await asyncio.sleep(0.05)
        if (now := arrived()) != seen:
            seen, since = now, loop.time()
    return count - seen


def reply_latencies(standin: SlackStandIn, prefix: str, sent: Result) -> list[float]:
    """Seconds from each request's start to the first reply to its response URL."""
    wanted = f"response:{prefix}-"
    first: dict[int, float] = {}
    for call in standin.calls:
        if call.method.startswith(wanted):
            i = int(call.method.removeprefix(wanted))
            first.setdefault(i, call.at)
    return [at - sent.starts[i] for i, at in first.items() if i in sent.starts]


async def measure(
    redis_url: str, levels: dict[int, int], rounds: int = 2, warm: int = 40
) -> list[dict[str, Any]]:
    """Per round, per concurrency level (-> requests): bare, status, block; all samples kept.
    `warm` requests of each kind go to each app first (over 4 clients), unmeasured."""
    rows: list[dict[str, Any]] = []
    async with stack(CONFIG, redis_url, start_bot=False) as h:
        assert h.standin is not None and h.settings.slack_signing_secret is not None
        secret = h.settings.slack_signing_secret.get_secret_value()
        async with bot_serve(h.settings, redis_url, CONFIG) as bot, bare_bolt(h.settings) as bare:
            apps = {"bare": bare, "bot": bot}
            await _warm(h.standin, secret, apps, warm)
            for rnd in range(rounds):
                for workers, requests in levels.items():
                    for app, kind, pace in CELLS:
                        level = _Level(h.standin, secret, apps[app], app, kind, pace)
                        rows.append(await level.run(workers, requests, rnd))
                        check(bot, bare)
    return rows


class _Level:
    """One cell of one round: `requests` commands of `kind` to `app` over `workers` clients,
    each sending its next command once the last one's ack (`pace` "ack") or reply ("reply")
    is back."""

    def __init__(
        self, standin: SlackStandIn, secret: str, target: Served, app: str, kind: str, pace: str
    ) -> None:
        self.standin, self.secret, self.target = standin, secret, target
        self.app, self.kind, self.pace = app, kind, pace

    async def run(self, workers: int, requests: int, rnd: int) -> dict[str, Any]:
        tag = f"{self.app}{self.kind}{self.pace}{workers}r{rnd}"
        make = command_maker(self.standin, self.secret, self.kind, tag)
        url = f"{self.target.url}/slack/events"

        async def replied(i: int) -> None:
            with contextlib.suppress(TimeoutError):  # a reply that never came: counted below
                await self.standin.first(f"response:{tag}-{i}", REPLY_WAIT)

        after = replied if self.pace == "reply" else None
        got = await closed_loop(
            url, make, workers=workers, requests=requests, answer_key="text", after=after
        )
        # With too much work waiting the bot acks "busy, nothing was done" and sends no reply.
        busy = sum(n for text, n in got.answers.items() if text.startswith(BUSY))
        row: dict[str, Any] = {
            "app": self.app, "command": self.kind, "pace": self.pace, "concurrency": workers,
            "round": rnd,
            "statuses": got.statuses, "busy": busy, "replies_lost": 0, **summary_ms(got.latencies),
        }  # fmt: skip
        if self.app == "bot":
            expected = got.statuses.get(200, 0) - busy
            row["replies_lost"] = await replies(self.standin, tag, expected)
            reply = summary_ms(reply_latencies(self.standin, tag, got))
            row.update({f"reply_{k}": v for k, v in reply.items()})
        self.standin.calls.clear()
        return row


async def _warm(standin: SlackStandIn, secret: str, apps: dict[str, Served], n: int) -> None:
    if n <= 0:
        return
    for app, served in apps.items():
        for kind in ("status", "block"):
            make = command_maker(standin, secret, kind, f"warm{app}{kind}")
            await closed_loop(f"{served.url}/slack/events", make, workers=4, requests=n)
    await asyncio.sleep(0.5)
    standin.calls.clear()
