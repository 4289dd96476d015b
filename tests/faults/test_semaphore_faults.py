"""Semaphore answering 500, 429 and timing out on the promotion call, then recovering:
exactly one promotion per stage, every attempt carrying the same request_token.

A proxy in front of the simulator fails the bot's POST /promotions on purpose. Beta's first
attempt gets 500, the second 429 (Retry-After: 1), the third is forwarded to Semaphore (which
starts the pipeline) and then held past the client's 10 s time-out, so the bot never hears
that it worked; the fourth goes through and Semaphore, seeing the token again, starts nothing.
Prod's promotion fails six times in a row with 500, more than the client retries: the effect
stays in the outbox and reconciliation (every 2 s) carries it out once Semaphore recovers.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from aiohttp import web

from tests.faults.support import Seen, config_yaml, rig, sha, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

C = sha(0xC)
#: The client's promotion read time-out is 10 s (semaphore_client.client.PROMOTION_TIMEOUT).
HOLD = 11.0


async def test_promotions_failing_500_429_and_timing_out_then_recovering_promote_once(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(reconcile="2s")) as r:
        tokens: dict[str, list[str]] = defaultdict(list)

        async def hook(seen: Seen) -> web.StreamResponse | None:
            body = seen.json()
            if seen.method != "POST" or not seen.path.endswith("/promotions"):
                return None
            name = str(body["name"])
            tokens[name].append(str(body["request_token"]))
            attempt = len(tokens[name])
            if name == "beta" and attempt == 1:
                return web.json_response({"message": "boom"}, status=500)
            if name == "beta" and attempt == 2:
                return web.json_response({"message": "slow down"}, status=429,
                                         headers={"Retry-After": "1"})  # fmt: skip
            if name == "beta" and attempt == 3:
                status, answer, headers = await seen.forward()
                await asyncio.sleep(HOLD)
                return web.Response(status=status, body=answer, headers=headers)
            if name == "prod" and attempt <= 6:
                return web.json_response({"message": "down"}, status=500)
            return None

        r.proxy.hook = hook
        bot = await r.bot().start()
        r.proxy.bot_url = bot.url
        await r.push(C)
        await until(lambda: r.watch.deployed("prod", C), 45, "C on prod")
        await until(lambda: r.watch.settled(("beta", "prod")), 10, "both stages settled")
        assert Counter(await r.promoted()) == {("deploy-beta.yml", C): 1, ("deploy-prod.yml", C): 1}
        assert len(tokens["beta"]) == 4 and len(set(tokens["beta"])) == 1
        assert len(tokens["prod"]) >= 7 and len(set(tokens["prod"])) == 1
        # The only tracebacks are the failed effect's (logged with log.exception, see report).
        output = r.output()
        assert output.count("Traceback") == output.count("stays in the outbox\nTraceback")
