"""Two `deploybot serve` processes on one real Redis, and every Semaphore webhook delivered
5 times to each of them at once (10 concurrent deliveries): one promotion per stage."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.http.server import start_server
from tests.faults.support import WEBHOOK_SECRET, config_yaml, rig, sha, until

pytestmark = [pytest.mark.faults, pytest.mark.redis]

COPIES = 5
COMMITS = [sha(0xB0 + n) for n in range(3)]


async def test_each_webhook_five_times_to_each_of_two_processes_promotes_once(
    tmp_path: Path, redis_server: str
) -> None:
    async with rig(tmp_path, redis_server, config_yaml(), webhooks=False) as r:
        bots = [await r.bot(name=f"replica{i}").start() for i in range(2)]
        statuses: Counter[int] = Counter()

        async def fan_out(request: web.Request) -> web.Response:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
            headers["Content-Type"] = "application/json"
            async with httpx.AsyncClient(timeout=10) as http:
                posts = [
                    http.post(f"{bot.url}/semaphore/webhook", content=body, headers=headers)
                    for bot in bots
                    for _ in range(COPIES)
                ]
                answers: list[Any] = await asyncio.gather(*posts)
            statuses.update(a.status_code for a in answers)
            return web.json_response({"forwarded": len(answers)})

        app = web.Application()
        app.router.add_post("/hook", fan_out)
        relay = await start_server(app, access_log=False)
        try:
            hook = {"url": f"{relay.url}/hook", "secret": WEBHOOK_SECRET, "timeout": 5000}
            (await r.control.put("/_sim/webhook", json=hook)).raise_for_status()
            for commit in COMMITS:
                await r.push(commit)
                await until(lambda c=commit: r.watch.deployed("prod", c), 20, f"{commit} on prod")
            await until(lambda: r.watch.settled(("beta", "prod")), 20, "both stages settled")
        finally:
            await relay.stop()
        expected = {(f"deploy-{s}.yml", c): 1 for s in ("beta", "prod") for c in COMMITS}
        assert Counter(await r.promoted()) == expected
        # Each change's CI, beta and prod webhooks, ten deliveries each, all answered 200.
        assert statuses == {200: 3 * len(COMMITS) * COPIES * 2}
        assert "Traceback" not in r.output()
