"""A burst of pushes as the channel sees it (issue 15 item 14): 50 pushes in 10 s to one
project with three stages (beta, gamma, prod; bake 1 s each), the simulator running every CI and
deploy pipeline, the bot telling the Slack stand-in paced by Slack's published limits, as in
production (`bot.slack.pacing`, scale 1).

Figures:
- Slack calls per change: chat.postMessage and chat.update calls, all of them, over the pushes;
  the most any one change cost (its message, its edits, its replies, the superseded line in its
  thread).
- Messages current after the last event: from the moment deploybot's last decision was
  recorded (the last deployment finished: every stage idle) until the last Slack call that
  showed it (the `slack` stream empty by then).
- Nothing lost: every pushed change's final state is shown: its message's last version shows,
  for each stage, the state its last deployment there ended in; or it is listed in a
  "superseded while waiting" line. Missing ones are counted (target 0).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench.stack import stack
from bot.core.model import DeploymentState
from bot.standins.slack import Call, SlackStandIn
from semaphore_client.simulator import parse_world

PUSHES = 50
SPREAD = 10.0
STAGES = ("beta", "gamma", "prod")
CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {name: beta, promotion: beta, bake: 1s}
      - {name: gamma, promotion: gamma, bake: 1s}
      - {name: prod, promotion: prod, bake: 1s}
"""
WORLD = """
organization: demo-org
projects:
  - name: demo
    pipelines:
      .semaphore/semaphore.yml:
        name: CI
        promotions: [{name: beta, pipeline_file: deploy-beta.yml}]
      .semaphore/deploy-beta.yml:
        name: Deploy to beta
        promotions: [{name: gamma, pipeline_file: deploy-gamma.yml}]
      .semaphore/deploy-gamma.yml:
        name: Deploy to gamma
        promotions: [{name: prod, pipeline_file: deploy-prod.yml}]
      .semaphore/deploy-prod.yml:
        name: Deploy to prod
"""
#: What a stage's line in a change's message starts with, by the state it ended in.
ICONS = {
    DeploymentState.DONE: ":white_check_mark:",
    DeploymentState.SUCCEEDED: ":white_check_mark:",
    DeploymentState.SUPERSEDED: ":fast_forward:",
    DeploymentState.FAILED: ":x:",
    DeploymentState.CANCELLED: ":heavy_minus_sign:",
}


async def measure(redis_url: str, pushes: int = PUSHES, spread: float = SPREAD) -> dict[str, Any]:
    world = parse_world(WORLD)
    async with stack(CONFIG, redis_url, world=world, default_duration=0.5, slack_pace=1.0) as h:
        assert h.standin is not None and h.bot is not None and h.bot.slack is not None
        shas = [f"{n + 1:07x}" + "f" * 33 for n in range(pushes)]  # sha7 tells them apart
        told = 0
        outbox = h.bot.stages.notices

        async def counting(notices: Any) -> None:
            nonlocal told
            told += len(notices)
            await outbox(notices)

        h.bot.stages.notices = counting
        began = time.monotonic()
        for n, sha in enumerate(shas):
            await asyncio.sleep(max(0.0, began + n * spread / pushes - time.monotonic()))
            await h.push(sha, f"burst change {n + 1}")
        pushed = time.monotonic() - began
        idle_at = await _idle(h, shas)
        slack_inbox = h.bot.slack.worker.inbox
        while await slack_inbox.length() > 0 or await slack_inbox.pending() > 0:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # a unit acknowledged is posted; nothing else is on its way
        calls = [c for c in h.standin.calls if c.method in ("chat.postMessage", "chat.update")]
        last_call = max(c.at for c in calls)
        missing, per_change = await _shown(h, h.standin, shas)
        limited = sum(1 for c in calls if c.status == 429)
    return {
        "pushes": pushes,
        "pushed_in_s": round(pushed, 1),
        "slack_calls": len(calls),
        "slack_calls_per_change": round(len(calls) / pushes, 2),
        "slack_calls_max_per_change": max(per_change.values(), default=0),
        "current_after_last_event_s": round(max(0.0, last_call - idle_at), 1),
        "last_event_after_first_push_s": round(idle_at - began, 1),
        "changes_not_shown": missing,
        "answered_429": limited,
        "notices_told": told,
    }


async def _idle(h: Any, shas: list[str], timeout: float = 300) -> float:
    """When deploybot's last decision was recorded: every stage with nothing queued or
    running, and the last change gone as far as it goes."""
    async with asyncio.timeout(timeout):
        while True:
            states = [await h.store.load("demo", stage) for stage in STAGES]
            idle = all(s.current is None and not s.queue for s in states)
            if idle and await h.deployed("prod", shas[-1]):
                return time.monotonic()
            await asyncio.sleep(0.05)


async def _shown(h: Any, standin: SlackStandIn, shas: list[str]) -> tuple[int, dict[str, int]]:
    """How many changes' final states are not shown, and each change's Slack calls."""
    histories = await h.histories()
    parents: dict[str, str] = {}  # ts -> sha
    last: dict[str, Call] = {}  # sha -> the last version of its message
    per_change = dict.fromkeys(shas, 0)
    by_sha7 = {sha[:7]: sha for sha in shas}
    superseded: set[str] = set()
    for call in standin.calls:
        if call.method not in ("chat.postMessage", "chat.update") or call.status != 200:
            continue
        text = str(call.args.get("text", ""))
        thread_ts = call.args.get("thread_ts")
        if call.method == "chat.postMessage" and not thread_ts and text.startswith("demo `"):
            sha = by_sha7[text[6:13]]
            parents[str(call.answer["ts"])] = sha
            last[sha] = call
        elif call.method == "chat.update" and str(call.args.get("ts")) in parents:
            sha = parents[str(call.args["ts"])]
            last[sha] = call
        elif thread_ts and str(thread_ts) in parents:
            sha = parents[str(thread_ts)]
            if "superseded while waiting" in text:
                superseded |= {by_sha7[s] for s in by_sha7 if f"`{s}`" in text}
        else:
            continue
        per_change[sha] += 1
    missing = 0
    for sha in shas:
        if sha in superseded:
            continue
        message = last.get(sha)
        if message is None or not _current(message, sha, histories):
            missing += 1
    return missing, per_change


def _current(message: Call, sha: str, histories: dict[str, list[Any]]) -> bool:
    lines = next(
        b["text"]["text"] for b in message.blocks if b.get("block_id") == f"change:{sha[:7]}:stages"
    )
    for stage in STAGES:
        ended = next((d.state for d in histories[stage] if d.change.sha == sha), None)
        icon = ICONS.get(ended, ":white_circle:") if ended else ":white_circle:"
        if f"*{stage}*  {icon}" not in lines:
            return False
    return True


async def _main() -> None:
    from bench.env import redis_server

    async with redis_server() as url:
        print(json.dumps(await measure(url), indent=2))


if __name__ == "__main__":  # `python -m bench.burst`: this figure alone
    asyncio.run(_main())
