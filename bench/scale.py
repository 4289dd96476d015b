"""Scale: 1,000 projects of 5 stages, 10,000 history entries (two per stage) and every stage's
state holding its recent good deployments; `/deploy status` (all projects, and one project)
timed from the POST until the reply reached the Slack stand-in; memory; the App Home render.

Memory is the RSS delta of the benchmark process (the bot runs in it) from before the bot was
built until after the seeded state was read by a status command: it includes the simulator's
and the stand-in's share, which are small next to the bot's.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis

from bench.ack import command_maker
from bench.env import rss_bytes
from bench.load import closed_loop
from bench.stack import projects_config, stack
from bot.core.model import Change, Deployment, DeploymentKind, DeploymentState, StageState
from bot.slack.render import home_view
from bot.store import keys


def deployment(project: str, stage: str, n: int, at: datetime) -> Deployment:
    change = Change(sha=f"{n:040x}", message=f"change {n}", author="bench", created_at=at)
    return Deployment(id=f"d-{project}-{stage}-{n}", project=project, stage=stage,
                      kind=DeploymentKind.ROLLFORWARD, change=change, state=DeploymentState.DONE,
                      created_at=at, started_at=at, finished_at=at)  # fmt: skip


async def seed(redis_url: str, config: Any, per_stage: int = 2) -> int:
    client = aioredis.Redis.from_url(redis_url)
    now = datetime.now(UTC) - timedelta(hours=1)
    written = 0
    try:
        async with client.pipeline(transaction=False) as pipe:
            for project in config.projects:
                for stage in project.stages:
                    done = [deployment(project.name, stage.name, n, now) for n in range(per_stage)]
                    state = StageState(version=1, good=tuple(done))
                    pipe.hset(keys.state(project.name, stage.name),
                              mapping={"version": 1, "doc": state.model_dump_json()})  # fmt: skip
                    pipe.lpush(keys.history(project.name, stage.name),
                               *(d.model_dump_json() for d in done))  # fmt: skip
                    written += per_stage
                if len(pipe) > 2000:
                    await pipe.execute()
            await pipe.execute()
    finally:
        await client.aclose()
    return written


async def measure(redis_url: str, projects: int = 1000, stages: int = 5) -> dict[str, Any]:
    rss_before = rss_bytes()
    async with stack(projects_config(projects, stages), redis_url) as h:
        assert h.standin is not None and h.bot_http is not None
        secret = h.settings.slack_signing_secret
        assert secret is not None
        history = await seed(redis_url, h.config)
        # The startup reconciliation of every stage runs first; status is measured alone.
        async with asyncio.timeout(120):
            while not h.runtime.timers.idle:
                await asyncio.sleep(0.05)
        base = f"{str(h.bot_http.base_url).rstrip('/')}/slack/events"
        status: dict[str, float] = {}
        for name, text in (("all", "status"), ("one", "status demo")):
            for attempt in range(2):  # the better of two
                tag = f"scale{name}{attempt}"
                make = command_maker(h.standin, secret.get_secret_value(), "status", tag)

                def maker(
                    i: int, make: Any = make, text: str = text
                ) -> tuple[bytes, dict[str, str]]:
                    return _with_text(make, i, text)

                began = time.monotonic()  # as the stand-in times what it receives
                await closed_loop(base, maker, workers=1, requests=1)
                reply = await h.standin.first(f"response:{tag}-0", timeout=60)
                took = reply.at - began
                status[name] = min(status.get(name, took), took)
        rss_after = rss_bytes()
        states = await _states(h)
        home = _home(h.config, states)
    return {"projects": projects, "stages": stages, "history_entries": history,
            "status_all_ms": round(status["all"] * 1000, 1),
            "status_one_ms": round(status["one"] * 1000, 1),
            "rss_delta_mb": round((rss_after - rss_before) / 2**20, 1),
            "rss_mb": round(rss_after / 2**20, 1), **home}  # fmt: skip


def _with_text(make: Any, i: int, text: str) -> tuple[bytes, dict[str, str]]:
    from urllib.parse import parse_qsl, urlencode

    from bot.scenarios.slack_driver import SIGNING_SECRET, signed_headers

    body, _ = make(i)
    form = dict(parse_qsl(body.decode()))
    form["text"] = text
    raw = urlencode(form)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return raw.encode(), {**headers, **signed_headers(raw, SIGNING_SECRET)}


async def _states(h: Any) -> dict[str, dict[str, StageState]]:
    return {p.name: await h.runtime.orchestrator.states(p.name) for p in h.config.projects}


def _home(config: Any, states: dict[str, dict[str, StageState]]) -> dict[str, Any]:
    """Best of five renders of the board for every project (the renderer keeps it within
    Slack's 100 blocks), and how many projects' headers made it in."""
    now = datetime.now(UTC)
    best, view = float("inf"), {"blocks": []}
    for _ in range(5):
        began = time.perf_counter()
        view = home_view(config, states, now)
        best = min(best, time.perf_counter() - began)
    shown = sum(1 for b in view["blocks"] if str(b.get("block_id", "")).count(":") == 1)
    return {"home_ms": round(best * 1000, 2), "home_blocks": len(view["blocks"]),
            "home_projects_shown": shown}  # fmt: skip
