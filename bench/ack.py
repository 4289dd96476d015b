"""Slack ack latency: signed `/deploy status demo` and `/deploy block ...` POSTed to the bot's
`/slack/events`, against a bare Bolt `AsyncApp` (same factory, same `mount`, same aiohttp
server) whose one command only acks, at each concurrency, in the same run.

The bot does the command's work after the ack (`SlackContext.later`); each level waits until
every reply reached the Slack stand-in before the next one starts, so levels do not overlap.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncAck, AsyncApp

from bench.load import Maker, closed_loop
from bench.stack import projects_config, stack
from bench.stats import summary_ms
from bot.http.server import RunningServer, start_server
from bot.scenarios.harness import Harness
from bot.scenarios.slack_driver import signed_headers
from bot.settings import Settings
from bot.slack.app import build_bolt_app, mount, web_client
from bot.standins.slack import TEAM, SlackStandIn

#: Projects the block commands are spread over, so no stage collects thousands of blockers.
PROJECTS = 50
CONFIG = projects_config(PROJECTS, 1)


def command_maker(standin: SlackStandIn, secret: str, kind: str, tag: str) -> Maker:
    def make(i: int) -> tuple[bytes, dict[str, str]]:
        if kind == "status":
            text, user = "status demo", "U0VIEWER"
        else:
            project = "demo" if i % PROJECTS == 0 else f"project-{i % PROJECTS:04d}"
            text, user = f"block {project} beta bench {tag} {i} for 1h", "U0BLOCK"
        form = {
            "token": "legacy", "team_id": TEAM, "team_domain": "deploybot",
            "channel_id": "C0DEMO", "channel_name": "deploys", "user_id": user,
            "user_name": user.lower(), "command": "/deploy", "text": text,
            "api_app_id": "A0DEPLOYBOT", "trigger_id": f"trigger-{tag}-{i}",
            "response_url": standin.response_url(f"{tag}-{i}"),
        }  # fmt: skip
        body = urlencode(form)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **signed_headers(body, secret),
        }
        return body.encode(), headers

    return make


async def bare_bolt(settings: Settings) -> RunningServer:
    """The reference: the bot's own Bolt factory and mount, one command that only acks."""
    from aiohttp import web

    bolt: AsyncApp = build_bolt_app(settings, web_client(settings))

    @bolt.command("/deploy")
    async def deploy(ack: AsyncAck) -> None:
        await ack()

    app = web.Application()
    mount(app, bolt)
    return await start_server(app)


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


async def measure(redis_url: str, levels: dict[int, int], rounds: int = 2) -> list[dict[str, Any]]:
    """Per round, per concurrency level (-> requests): bare, status, block; all samples kept."""
    rows: list[dict[str, Any]] = []
    async with stack(CONFIG, redis_url) as h:
        assert h.standin is not None and h.bot_http is not None
        secret = h.settings.slack_signing_secret
        assert secret is not None
        bare = await bare_bolt(h.settings)
        try:
            await _warm(h, bare)
            for rnd in range(rounds):
                for workers, requests in levels.items():
                    for app, kind in (("bare", "status"), ("bot", "status"), ("bot", "block")):
                        rows.append(await _level(h, bare, secret.get_secret_value(), app, kind,
                                                 workers, requests, rnd))  # fmt: skip
        finally:
            await bare.stop()
    return rows


async def _level(h: Harness, bare: RunningServer, secret: str, app: str, kind: str,
                 workers: int, requests: int, rnd: int) -> dict[str, Any]:  # fmt: skip
    assert h.standin is not None and h.bot_http is not None
    base = bare.url if app == "bare" else str(h.bot_http.base_url).rstrip("/")
    tag = f"{app}{kind}{workers}r{rnd}"
    make = command_maker(h.standin, secret, kind, tag)
    got = await closed_loop(f"{base}/slack/events", make, workers=workers, requests=requests)
    lost = 0
    if app == "bot":
        lost = await replies(h.standin, tag, got.statuses.get(200, 0))
    h.standin.calls.clear()
    return {"app": app, "command": kind, "concurrency": workers, "round": rnd,
            "statuses": got.statuses, "replies_lost": lost, **summary_ms(got.latencies)}  # fmt: skip


async def _warm(h: Harness, bare: RunningServer) -> None:
    secret = h.settings.slack_signing_secret
    assert secret is not None and h.standin is not None and h.bot_http is not None
    for app, base in (("bare", bare.url), ("bot", str(h.bot_http.base_url).rstrip("/"))):
        for kind in ("status", "block"):
            make = command_maker(h.standin, secret.get_secret_value(), kind, f"warm{app}{kind}")
            await closed_loop(f"{base}/slack/events", make, workers=4, requests=40)
    await asyncio.sleep(0.5)
    h.standin.calls.clear()
