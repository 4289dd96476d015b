"""`deploybot serve` killed with SIGKILL at each step of a deployment, then started again on
the same Redis: the change still reaches the last stage, each stage is promoted exactly once,
and nothing is left queued, running or in an outbox (DESIGN.md section 4 rule 8).

How each step is hit, with no hook inside the bot (the proxy in front of the simulator sees
every call the bot makes, and the relay every webhook it answers):

- after recording the event: the beta deploy pipeline's webhook is answered 200 (recorded in
  the inbox), and the bot is killed at that moment; the proxy holds the describe of the
  promoted pipeline, which processing that webhook needs, so the worker cannot have finished.
- after the decision: the bot is killed when its POST /promotions for beta reaches the proxy,
  which never forwards it: the decision and its effect are stored, Semaphore heard nothing.
- after the promotion call: the proxy forwards POST /promotions, gets Semaphore's 200, and
  kills the bot before answering it: the pipeline started, the effect is not acknowledged.
- during bake: beta bakes 3 s; the bot is killed when Redis shows the deployment baking.

A restarted bot normally finishes in about 2 s; RESUME gives it 12 s. (Until the effect claim
was removed from bot/service/stages.py, a SIGKILLed replica's claim stalled its stage's outbox
for 2 minutes: these two tests caught that.)
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.core.model import DeploymentState
from bot.store.inbox import RedisInbox
from tests.faults.support import BotProcess, Rig, Seen, config_yaml, rig, sha, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

STAGES = ("beta", "prod")
#: How long a restarted bot gets to finish what the killed one left (it needs about 2 s).
RESUME = 12.0
A = sha(0xA)


async def assert_completed_once(r: Rig, timeout: float = RESUME) -> None:
    try:
        await until(lambda: r.watch.deployed("prod", A), timeout, "A deployed to prod")
        await until(lambda: r.watch.settled(STAGES), timeout, "every stage settled")
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; effect claims held: {await held_claims(r)}") from None
    assert Counter(await r.promoted()) == {("deploy-beta.yml", A): 1, ("deploy-prod.yml", A): 1}
    for stage in STAGES:
        history = await r.watch.store.history("demo", stage)
        assert [d.state for d in history if d.change.sha == A] == [DeploymentState.DONE]
    assert "Traceback" not in r.output()


def is_promotion(seen: Seen, name: str) -> bool:
    body = seen.json()
    return (
        seen.method == "POST"
        and seen.path.endswith("/promotions")
        and isinstance(body, dict)
        and body.get("name") == name
    )


async def start(r: Rig) -> BotProcess:
    bot = await r.bot().start()
    r.proxy.bot_url = bot.url
    return bot


async def test_killed_after_recording_the_event_the_restarted_bot_processes_it(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml()) as r:
        bot = await start(r)
        armed, killed = asyncio.Event(), asyncio.Event()

        async def hook(seen: Seen) -> web.StreamResponse | None:
            if is_promotion(seen, "beta"):
                armed.set()
            elif armed.is_set() and seen.method == "GET" and "/pipelines/" in seen.path:
                armed.clear()
                await asyncio.sleep(3)  # the describe that processing the webhook needs
            return None

        async def on_webhook(payload: dict[str, Any], status: int | None) -> None:
            done = payload["pipeline"]["yaml_file_name"]
            if done == "deploy-beta.yml" and status == 200 and not killed.is_set():
                bot.kill()
                killed.set()

        r.proxy.hook, r.proxy.on_webhook = hook, on_webhook
        await r.push(A)
        await asyncio.wait_for(killed.wait(), 20)
        # The step was hit: the webhook is recorded and not yet processed; beta still runs.
        assert await RedisInbox(r.watch.client).pending() >= 1
        assert await _current(r, "beta") is DeploymentState.RUNNING
        await restart(r, bot)
        await assert_completed_once(r)


async def test_killed_after_the_decision_before_the_promotion_call(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(reconcile="2s")) as r:
        bot = await start(r)
        killed = asyncio.Event()

        async def hook(seen: Seen) -> web.StreamResponse | None:
            if is_promotion(seen, "beta") and not killed.is_set():
                bot.kill()  # the call never reaches Semaphore
                killed.set()
                return web.json_response({"message": "proxy: dropped"}, status=502)
            return None

        r.proxy.hook = hook
        await r.push(A)
        await asyncio.wait_for(killed.wait(), 20)
        assert await _current(r, "beta") is DeploymentState.RUNNING
        assert await r.watch.store.outbox("demo", "beta"), "the promotion effect is stored"
        assert await r.promoted() == []
        await restart(r, bot)
        await assert_completed_once(r)


async def test_killed_after_the_promotion_call_before_its_acknowledgement(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(reconcile="2s")) as r:
        bot = await start(r)
        killed = asyncio.Event()

        async def hook(seen: Seen) -> web.StreamResponse | None:
            if is_promotion(seen, "beta") and not killed.is_set():
                status, body, headers = await seen.forward()  # Semaphore starts the pipeline
                bot.kill()  # ... and the bot never hears the answer
                killed.set()
                return web.Response(status=status, body=body, headers=headers)
            return None

        r.proxy.hook = hook
        await r.push(A)
        await asyncio.wait_for(killed.wait(), 20)

        async def scheduled() -> bool:  # a moment after Semaphore accepted the trigger
            return await r.promoted() == [("deploy-beta.yml", A)]

        await until(scheduled, 5, "Semaphore starting A's beta pipeline")
        assert await r.watch.store.outbox("demo", "beta"), "the effect is not acknowledged"
        await restart(r, bot)
        await assert_completed_once(r)


async def test_killed_during_bake_the_restarted_bot_ends_the_bake_and_goes_on(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(beta_bake="3s")) as r:
        bot = await start(r)
        await r.push(A)

        async def baking() -> bool:
            return await _current(r, "beta") is DeploymentState.BAKING

        await until(baking, 20, "beta baking")
        bot.kill()
        assert await r.promoted() == [("deploy-beta.yml", A)]
        await restart(r, bot)
        assert await _current(r, "beta") is DeploymentState.BAKING
        await assert_completed_once(r)


async def held_claims(r: Rig) -> dict[str, int]:
    """Effect claims in Redis and their remaining time (ms)."""
    found = [key async for key in r.watch.client.scan_iter("deploybot:claim:effect:*")]
    return {key: await r.watch.client.pttl(key) for key in found}


async def restart(r: Rig, bot: BotProcess) -> None:
    await bot.start()
    r.proxy.bot_url = bot.url


async def _current(r: Rig, stage: str) -> DeploymentState | None:
    current = (await r.watch.store.load("demo", stage)).current
    return current.state if current is not None else None
