"""A running deploybot next to a running Semaphore simulator, on loopback.

The simulator starts first; the bot's runtime (HTTP server, inbox worker, timers) is pointed
at it, and the simulator's signed webhooks at the bot. State lives in a real Redis when a URL
is given, else in the embedded store. `restart()` stops the bot the hard way (no effect is
acknowledged after it) and starts a new one on the same state, as after a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import redis.asyncio as aioredis

from bot.config.loader import load_config_text
from bot.config.models import DeploybotConfig
from bot.core.model import AuditEntry, Deployment, DeploymentState
from bot.runtime import Runtime, build_runtime
from bot.scenarios.slack_driver import SIGNING_SECRET, SlackDriver
from bot.service.stages import utcnow
from bot.settings import Settings
from bot.standins.slack import SlackStandIn
from bot.store import MemoryStore, RedisStore, Store
from bot.store.inbox import Inbox, MemoryInbox, RedisInbox
from bot.store.redis import redis_client
from semaphore_client.simulator import GoferTimes, Simulator
from semaphore_client.simulator.world import World

log = logging.getLogger(__name__)
SECRET = "scenario-webhook-secret"
ALERTMANAGER_TOKEN = "scenario-alertmanager-token"
GOOD = (DeploymentState.DONE, DeploymentState.SUCCEEDED)
#: The notification rule's webhook timeout the rehearsals use (Semaphore's default is 500 ms;
#: a rule may set up to 15000): a bot on a busy machine still gets every delivery.
RULE_TIMEOUT_MS = 5000
#: More than any scenario writes: the whole audit log and history of each stage.
EVERYTHING = 100_000


@dataclass
class Harness:
    sim: Simulator
    config: DeploybotConfig
    settings: Settings
    store: Store
    inbox: Inbox
    control: httpx.AsyncClient
    clock: Callable[[], datetime] | None = None
    bot: Runtime | None = None
    bot_http: httpx.AsyncClient | None = None
    project: str = "demo"
    #: The Slack stand-in and a driver for signed Slack requests, when Slack is on.
    standin: SlackStandIn | None = None
    slack: SlackDriver | None = None
    #: What the network does to Semaphore's webhooks (the simulator's `chaos`), or None.
    webhook_chaos: dict[str, Any] | None = None
    bot_url: str = ""
    #: Slack calls paced by Slack's limits times this (0: not at all, as tests want).
    slack_pace: float = 0.0
    _started: list[Runtime] = field(default_factory=list)

    async def start_bot(self) -> Runtime:
        bot = build_runtime(
            self.settings,
            self.config,
            store=self.store,
            inbox=self.inbox,
            clock=self.clock or utcnow,
            slack_pace=self.slack_pace,
        )
        server = await bot.start()
        self.bot, self._started = bot, [*self._started, bot]
        self.bot_url = server.url
        if self.bot_http is not None:
            await self.bot_http.aclose()
        self.bot_http = httpx.AsyncClient(base_url=server.url, timeout=10)
        if self.standin is not None:
            self.slack = SlackDriver(self.bot_http, self.standin)
        await self.configure_webhook()
        return bot

    async def configure_webhook(self) -> None:
        """Point the simulator's notification rule at the running bot."""
        assert self.bot_url, "the bot is not running"
        hook: dict[str, Any] = {
            "url": f"{self.bot_url}/semaphore/webhook",
            "secret": SECRET,
            "timeout": RULE_TIMEOUT_MS,
        }
        if self.webhook_chaos is not None:
            hook["chaos"] = self.webhook_chaos
        (await self.control.put("/_sim/webhook", json=hook)).raise_for_status()

    async def restart(self) -> Runtime:
        """Stop the bot as a crash would (its work in flight is dropped) and start a new one."""
        assert self.bot is not None
        await self.bot.stop()
        return await self.start_bot()

    async def lose_state(self) -> str:
        """Everything deploybot stored is gone: on Redis, the database is flushed under the
        running bot (a failover to an empty replica); the embedded store is lost with its
        process, so the bot restarts on a new one. Says which happened."""
        assert self.bot is not None
        if isinstance(self.store, RedisStore):
            await self.store.flush()
            return "Redis loses everything (flushed); deploybot keeps running"
        await self.bot.stop()
        self.store, self.inbox = MemoryStore(), MemoryInbox()
        await self.start_bot()
        return "deploybot restarts and its embedded store starts empty"

    # -- driving Semaphore ----------------------------------------------------------------

    async def push(
        self, sha: str, message: str = "change", branch: str = "main", **ref: Any
    ) -> dict[str, Any]:
        """Push `sha` to `branch`; or, with `tag=` or `pull_request=` (`branch` its head
        branch), build a tag or a pull request (see the simulator's `POST /_sim/push`)."""
        body = {
            "project": self.project,
            "branch": branch,
            "commit_sha": sha,
            "commit_message": message,
            **ref,
        }
        response = await self.control.post("/_sim/push", json=body)
        response.raise_for_status()
        return dict(response.json())

    async def script(self, **outcome: Any) -> None:
        (await self.control.post("/_sim/outcomes", json=outcome)).raise_for_status()

    async def sim_events(self, type_: str | None = None) -> list[dict[str, Any]]:
        events = (await self.control.get("/_sim/events")).json()["events"]
        return [e for e in events if type_ is None or e["type"] == type_]

    # -- asking the bot -------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime:
        assert self.bot is not None, "the bot is not running"
        return self.bot

    async def deployed(self, stage: str, sha: str) -> bool:
        """`sha` finished (and baked) on `stage`."""
        history = await self.store.history(self.project, stage)
        return any(d.change.sha == sha and d.state in GOOD for d in history)

    async def promotions(self) -> list[tuple[str, str]]:
        """(promotion's pipeline file, commit) of every promoted pipeline, in start order."""
        events = await self.sim_events("pipeline")
        return [
            (e["pipeline_file"].rsplit("/", 1)[-1], e["commit_sha"])
            for e in events
            if e["triggered_by"] in ("promotion", "auto_promotion") and e["state"] == "initializing"
        ]

    async def audit_log(self) -> list[AuditEntry]:
        """Every stage's audit entries, oldest first (a stage's own order kept on ties)."""
        entries: list[AuditEntry] = []
        for stage in self.config.project(self.project).stages:
            entries += await self.store.audit(self.project, stage.name, limit=EVERYTHING)
        return sorted(entries, key=lambda entry: entry.at)

    async def histories(self) -> dict[str, list[Deployment]]:
        """Each stage's finished deployments, newest first."""
        stages = self.config.project(self.project).stages
        return {
            s.name: await self.store.history(self.project, s.name, limit=EVERYTHING) for s in stages
        }

    async def alert(self, payload: dict[str, Any]) -> httpx.Response:
        """POST an Alertmanager (v4) webhook payload to the bot, as Alertmanager would."""
        assert self.bot_http is not None, "the bot is not running"
        auth = {"Authorization": f"Bearer {ALERTMANAGER_TOKEN}"}
        return await self.bot_http.post("/alerts/alertmanager", json=payload, headers=auth)

    async def until(self, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not await check():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {check.__name__}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for bot in self._started:
            await bot.stop()
        if self.bot_http is not None:
            await self.bot_http.aclose()


@asynccontextmanager
async def running(
    config_text: str,
    *,
    world: World | None = None,
    redis_url: str | None = None,
    default_duration: float = 0.2,
    clock: Callable[[], datetime] | None = None,
    start_bot: bool = True,
    slack: bool = False,
    gofer: GoferTimes | None = None,
    slack_pace: float = 0.0,
) -> AsyncIterator[Harness]:
    """The simulator and (unless `start_bot` is False) the bot, stopped on exit; with `slack`,
    also the Slack stand-in, and the bot's Slack app mounted and pointed at it. `gofer`: how
    the simulator schedules promotions (its defaults: 0.2 s, giving up after 40 s);
    `slack_pace`: Slack's limits times this (1.0 as in production; 0 does not wait)."""
    config = load_config_text(config_text, "<scenario>")
    store: Store
    inbox: Inbox
    client: aioredis.Redis | None = None
    if redis_url:
        client = redis_client(redis_url)
        store, inbox = RedisStore(client), RedisInbox(client)
    else:
        store, inbox = MemoryStore(), MemoryInbox()
    standin = await SlackStandIn().start() if slack else None
    async with Simulator(world, default_duration=default_duration, gofer=gofer) as sim:
        slack_settings: dict[str, Any] = {}
        if standin is not None:
            slack_settings = {
                "slack_bot_token": "xoxb-scenario",
                "slack_signing_secret": SIGNING_SECRET,
                "slack_api_url": standin.api_url,
            }
        settings = Settings(
            semaphore_api_url=sim.base_url,
            semaphore_api_token="scenario-token",
            semaphore_webhook_secret=SECRET,
            alertmanager_token=ALERTMANAGER_TOKEN,
            **slack_settings,
        )
        async with httpx.AsyncClient(base_url=sim.url, timeout=10) as control:
            harness = Harness(sim, config, settings, store, inbox, control, clock,
                              standin=standin, slack_pace=slack_pace)  # fmt: skip
            try:
                if start_bot:
                    await harness.start_bot()
                yield harness
            finally:
                await harness.close()
    if standin is not None:
        await standin.stop()
    if client is not None:
        await client.aclose()
