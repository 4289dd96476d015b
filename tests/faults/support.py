"""The fault suite's tools: real processes on loopback, and a proxy that misbehaves on purpose.

- `RedisProcess`: a `redis-server` with AOF (`appendfsync always`) in a temp dir, that can be
  killed and started again on the same port and data.
- `BotProcess`: `deploybot serve` as a subprocess (`python -m bot serve`), its output in a
  file, killed with SIGKILL or stopped with SIGTERM.
- `FaultProxy`: an aiohttp server in front of the Semaphore simulator (the bot's
  SEMAPHORE_API_URL) that forwards everything unless a test's `hook` answers first, and that
  relays the simulator's webhooks to the bot (`hook_url`), recording each answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiohttp import web

from bot.core.model import DeploymentState
from bot.http.server import RunningServer, start_server
from bot.store import RedisStore
from tests.conftest import no_redis

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "fault-webhook-secret"
API_TOKEN = "fault-api-token"
ALERTMANAGER_TOKEN = "fault-alertmanager-token"
GOOD = (DeploymentState.DONE, DeploymentState.SUCCEEDED)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha(n: int) -> str:
    return f"{n:040x}"


# -- Redis ------------------------------------------------------------------------------------


class RedisProcess:
    """A redis-server with AOF on, in `directory`, restartable on the same port and data."""

    def __init__(self, directory: Path, port: int | None = None, *extra: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            no_redis("redis-server is not installed: run ./scripts/setup")
        self.binary = binary or "redis-server"
        self.directory, self.port, self.extra = directory, port or free_port(), extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
                "--save", "", "--daemonize", "no", *self.extra]  # fmt: skip
        log = (self.directory / "redis.log").open("ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for_ping(self.port, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown save; only what AOF already has survives."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def wait_for_ping(port: int, proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout}s")


# -- the bot ----------------------------------------------------------------------------------


class BotProcess:
    """`deploybot serve` on `port`; its stdout and stderr go to `log`."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, healthy: bool = True) -> BotProcess:
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts} ---\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.starts += 1
        await self.wait_health(200 if healthy else None)
        return self

    async def wait_health(self, status: int | None = 200, timeout: float = 30.0) -> httpx.Response:
        """Poll /healthz until it answers `status` (None: any answer)."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=3) as http:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"deploybot serve exited:\n{self.output()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    answer = await http.get(f"{self.url}/healthz")
                    if status is None or answer.status_code == status:
                        return answer
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"/healthz not {status} in {timeout}s:\n{self.output()[-3000:]}"
                    )
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the process dies wherever it is, nothing is cleaned up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def bot_env(
    *,
    config: Path,
    semaphore_api_url: str,
    redis_url: str,
    slack_api_url: str | None = None,
    slack_signing_secret: str | None = None,
) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SEMAPHORE_", "SLACK_", "DEPLOYBOT_", "REDIS_URL", "ALERTMANAGER_"))
    }
    env = {
        **clean,
        "DEPLOYBOT_CONFIG": str(config),
        "SEMAPHORE_API_URL": semaphore_api_url,
        "SEMAPHORE_API_TOKEN": API_TOKEN,
        "SEMAPHORE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,
        "REDIS_URL": redis_url,
        "PYTHONUNBUFFERED": "1",
    }
    if slack_api_url is not None:
        env["SLACK_API_URL"] = slack_api_url
        env["SLACK_BOT_TOKEN"] = "xoxb-fault-suite"
        env["SLACK_SIGNING_SECRET"] = slack_signing_secret or ""
    return env


# -- the proxy in front of the simulator --------------------------------------------------------

#: A test's say over a request before it is forwarded: an answer, or None to forward it.
Hook = Callable[["Seen"], Awaitable[web.StreamResponse | None]]
#: Called after a webhook was relayed to the bot, with its body and the bot's status (or None).
WebhookHook = Callable[[dict[str, Any], int | None], Awaitable[None]]


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    proxy: FaultProxy

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    async def forward(self) -> tuple[int, bytes, dict[str, str]]:
        return await self.proxy.forward(self)


@dataclass
class FaultProxy:
    upstream: str  # the simulator's root URL
    bot_url: str | None = None
    hook: Hook | None = None
    on_webhook: WebhookHook | None = None
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    webhooks: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)
    server: RunningServer | None = None
    _http: httpx.AsyncClient | None = None

    @property
    def base_url(self) -> str:
        """What the bot's SEMAPHORE_API_URL points at."""
        assert self.server is not None
        return f"{self.server.url}/api/v1alpha"

    @property
    def hook_url(self) -> str:
        """What the simulator's webhook URL points at."""
        assert self.server is not None
        return f"{self.server.url}/_relay/webhook"

    async def start(self) -> FaultProxy:
        self._http = httpx.AsyncClient(timeout=30)
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/_relay/webhook", self._relay)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = await start_server(app, access_log=False)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        if self._http is not None:
            await self._http.aclose()

    def promotions(self) -> list[tuple[str, int]]:
        """(path, status) of every POST /promotions the bot made, in order."""
        return [(p, s) for m, p, s in self.seen if m == "POST" and p.endswith("/promotions")]

    async def forward(self, seen: Seen) -> tuple[int, bytes, dict[str, str]]:
        assert self._http is not None
        request: web.Request = seen._request  # type: ignore[attr-defined]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        answer = await self._http.request(
            seen.method, f"{self.upstream}{request.path_qs}", content=seen.body, headers=headers
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
        return answer.status_code, answer.content, kept

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(request.method, request.path, await request.read(), self)
        seen._request = request  # type: ignore[attr-defined]
        answer = await self.hook(seen) if self.hook is not None else None
        if answer is None:
            status, body, headers = await self.forward(seen)
            answer = web.Response(status=status, body=body, headers=headers)
        self.seen.append((request.method, request.path, answer.status))
        return answer

    async def _relay(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-")}
        headers["Content-Type"] = "application/json"
        status: int | None = None
        if self.bot_url is not None:
            assert self._http is not None
            with contextlib.suppress(httpx.TransportError):
                answer = await self._http.post(
                    f"{self.bot_url}/semaphore/webhook", content=body, headers=headers
                )
                status = answer.status_code
        payload = json.loads(body)
        self.webhooks.append((payload, status))
        if self.on_webhook is not None:
            await self.on_webhook(payload, status)
        return web.json_response({"relayed": status}, status=status or 502)


_HOP = {"host", "content-length", "transfer-encoding", "connection", "content-encoding"}


# -- asking what happened ---------------------------------------------------------------------


async def promoted(control: httpx.AsyncClient) -> list[tuple[str, str]]:
    """(promoted pipeline file, commit) of every pipeline a promotion started, in order."""
    events = (await control.get("/_sim/events")).json()["events"]
    return [
        (e["pipeline_file"].rsplit("/", 1)[-1], e["commit_sha"])
        for e in events
        if e["type"] == "pipeline"
        and e["triggered_by"] in ("promotion", "auto_promotion")
        and e["state"] == "initializing"
    ]


async def sim_events(control: httpx.AsyncClient, type_: str) -> list[dict[str, Any]]:
    events = (await control.get("/_sim/events")).json()["events"]
    return [e for e in events if e["type"] == type_]


class Watch:
    """Reads the bot's state straight from Redis, as a second pair of eyes."""

    def __init__(self, redis_url: str, project: str = "demo") -> None:
        self.client = aioredis.Redis.from_url(redis_url, decode_responses=True)
        self.store = RedisStore(self.client)
        self.project = project

    async def deployed(self, stage: str, commit: str) -> bool:
        try:
            history = await self.store.history(self.project, stage, limit=1000)
        except (OSError, aioredis.RedisError):
            return False
        return any(d.change.sha == commit and d.state in GOOD for d in history)

    async def settled(self, stages: tuple[str, ...]) -> bool:
        """Nothing running, baking or queued, and every outbox empty."""
        for stage in stages:
            state = await self.store.load(self.project, stage)
            if state.current is not None or state.queue:
                return False
            if await self.store.outbox(self.project, stage):
                return False
        return True

    async def close(self) -> None:
        await self.client.aclose()


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)


def config_yaml(*, reconcile: str = "1h", beta_bake: str = "0s", extra: str = "") -> str:
    return f"""
roles: {{block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}}
reconcile_interval: {reconcile}
reconcile_idle: {reconcile}
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - {{name: beta, promotion: beta, bake: {beta_bake}}}
      - {{name: prod, promotion: prod, bake: 0s{extra}}}
"""


# -- everything together ----------------------------------------------------------------------


@dataclass
class Rig:
    """The simulator (in this process), the proxy in front of it, a Redis, and the bot
    process(es) pointed at the proxy; the simulator's webhooks go through the proxy's relay."""

    sim: Any
    proxy: FaultProxy
    control: httpx.AsyncClient
    redis_url: str
    config: Path
    tmp: Path
    watch: Watch
    bots: list[BotProcess] = field(default_factory=list)
    slack_api_url: str | None = None
    slack_signing_secret: str | None = None

    def bot(self, port: int | None = None, name: str = "bot") -> BotProcess:
        env = bot_env(
            config=self.config, semaphore_api_url=self.proxy.base_url, redis_url=self.redis_url,
            slack_api_url=self.slack_api_url, slack_signing_secret=self.slack_signing_secret,
        )  # fmt: skip
        process = BotProcess(env, port or free_port(), self.tmp / f"{name}-{len(self.bots)}.log")
        self.bots.append(process)
        return process

    async def push(self, commit: str, message: str = "change") -> None:
        body = {
            "project": "demo",
            "branch": "main",
            "commit_sha": commit,
            "commit_message": message,
        }
        (await self.control.post("/_sim/push", json=body)).raise_for_status()

    async def script(self, **outcome: Any) -> None:
        (await self.control.post("/_sim/outcomes", json=outcome)).raise_for_status()

    async def promoted(self) -> list[tuple[str, str]]:
        return await promoted(self.control)

    def output(self) -> str:
        return "\n".join(b.output() for b in self.bots)


@contextlib.asynccontextmanager
async def rig(
    tmp: Path,
    redis_url: str,
    config_text: str,
    *,
    default_duration: float = 0.2,
    webhooks: bool = True,
    slack_api_url: str | None = None,
    slack_signing_secret: str | None = None,
) -> Any:
    from semaphore_client.simulator import Simulator

    flush = aioredis.Redis.from_url(redis_url, decode_responses=True)
    await flush.flushdb()
    await flush.aclose()
    config = tmp / "deploybot.yml"
    config.write_text(config_text)
    async with Simulator(default_duration=default_duration) as sim:
        proxy = await FaultProxy(sim.url).start()
        control = httpx.AsyncClient(base_url=sim.url, timeout=10)
        watch = Watch(redis_url)
        the_rig = Rig(sim, proxy, control, redis_url, config, tmp, watch,
                      slack_api_url=slack_api_url, slack_signing_secret=slack_signing_secret)  # fmt: skip
        try:
            if webhooks:
                hook = {"url": proxy.hook_url, "secret": WEBHOOK_SECRET, "timeout": 5000}
                (await control.put("/_sim/webhook", json=hook)).raise_for_status()
            yield the_rig
        finally:
            for process in the_rig.bots:
                process.stop()
            await the_rig.watch.close()
            await control.aclose()
            await proxy.stop()
