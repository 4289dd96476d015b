"""Processes the benchmarks measure from outside: `python -m bot serve` (deploybot as it runs in
production, configured only through its environment) and the bare Bolt reference
(`python -m bench.bare_bolt`).

Each runs on a free loopback port with its output in a temp log file; it is ready once
`/healthz` answers 200, and is stopped with SIGTERM (SIGKILL after a timeout). When it died on
its own, failed to start or the benchmark failed while it ran, the tail of its log is printed
to stderr and the log is kept; otherwise the log is removed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.env import free_port
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
#: Variables of the bench's own environment a child must not inherit (its settings come from us).
OWN_PREFIXES = ("SLACK_", "SEMAPHORE_", "DEPLOYBOT_", "REDIS_URL")
TAIL_LINES = 40


class ProcessFailed(RuntimeError):
    """A measured process did not start, or died while it was measured."""


@dataclass
class Served:
    """A running child process that serves HTTP on `port`."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = TAIL_LINES) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def child_env(values: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without deploybot's settings, plus `values`."""
    kept = {k: v for k, v in os.environ.items() if not k.upper().startswith(OWN_PREFIXES)}
    return {**kept, "PYTHONUNBUFFERED": "1", **values}


def slack_env(settings: Settings) -> dict[str, str]:
    """SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_API_URL from `settings`."""
    assert settings.slack_bot_token is not None and settings.slack_signing_secret is not None
    return {
        "SLACK_BOT_TOKEN": settings.slack_bot_token.get_secret_value(),
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret.get_secret_value(),
        "SLACK_API_URL": settings.slack_api_url,
    }


def bot_env(settings: Settings, redis_url: str, config: Path) -> dict[str, str]:
    """What `deploybot serve` needs, by the names in bot/settings.py: Redis, the Semaphore
    endpoint, token and webhook secret, Slack's, and the configuration file."""
    assert settings.semaphore_api_url is not None
    assert settings.semaphore_api_token is not None
    assert settings.semaphore_webhook_secret is not None
    return {
        "REDIS_URL": redis_url,
        "SEMAPHORE_API_URL": settings.semaphore_api_url,
        "SEMAPHORE_API_TOKEN": settings.semaphore_api_token.get_secret_value(),
        "SEMAPHORE_WEBHOOK_SECRET": settings.semaphore_webhook_secret.get_secret_value(),
        "DEPLOYBOT_CONFIG": str(config),
        **slack_env(settings),
    }


@asynccontextmanager
async def served(
    name: str, module: Sequence[str], env: Mapping[str, str], *, timeout: float = 30.0
) -> AsyncIterator[Served]:
    """`python -m <module...> --host 127.0.0.1 --port N` with `env` (on top of `child_env`),
    ready once /healthz answers 200 within `timeout` seconds; stopped on exit."""
    workdir = Path(tempfile.mkdtemp(prefix=f"deploybot-bench-{name}-"))
    port = free_port()
    log = workdir / f"{name}.log"
    args = [sys.executable, "-m", *module, "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env=child_env(env), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    child = Served(name, proc, port, log)
    trouble: str | None = f"{name} did not become healthy"
    try:
        await _healthy(child, timeout)
        trouble = f"the benchmark failed while {name} ran"
        yield child
        trouble = None
    finally:
        died = not child.alive()
        code = await stop(child)
        if died:
            trouble = f"{name} exited by itself with code {code}"
        elif trouble is None and code != 0:
            trouble = f"{name} stopped with exit code {code}"
        if trouble is None:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"bench: {trouble}; its log is {log}, ending:\n{child.tail()}", file=sys.stderr)


@asynccontextmanager
async def bot_serve(settings: Settings, redis_url: str, config_text: str) -> AsyncIterator[Served]:
    """`deploybot serve` (`python -m bot serve`) with `config_text` as its configuration file
    and its settings (Redis, Semaphore, Slack) from `settings` and `redis_url`."""
    with tempfile.TemporaryDirectory(prefix="deploybot-bench-config-") as tmp:
        config = Path(tmp) / "deploybot.yml"
        config.write_text(config_text)
        env = bot_env(settings, redis_url, config)
        async with served("deploybot-serve", ["bot", "serve"], env) as child:
            yield child


@asynccontextmanager
async def bare_bolt(settings: Settings) -> AsyncIterator[Served]:
    """The bare Bolt reference app (`python -m bench.bare_bolt`) with Slack's settings."""
    async with served("bare-bolt", ["bench.bare_bolt"], slack_env(settings)) as child:
        yield child


def check(*children: Served) -> None:
    """Raise `ProcessFailed` when any of `children` is not running (`served` then prints the
    tail of its log on the way out)."""
    for child in children:
        if not child.alive():
            raise ProcessFailed(f"{child.name} exited with code {child.proc.returncode}")


async def stop(child: Served, timeout: float = 15.0) -> int | None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds; its exit code."""
    if child.alive():
        child.proc.terminate()
        try:
            await asyncio.to_thread(child.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            await asyncio.to_thread(child.proc.wait, timeout)
    return child.proc.returncode


async def _healthy(child: Served, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    probe = aiohttp.ClientTimeout(total=2)
    async with aiohttp.ClientSession(timeout=probe) as session:
        while True:
            check(child)
            try:
                async with session.get(f"{child.url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            if loop.time() > deadline:
                raise ProcessFailed(f"{child.name}: /healthz not 200 within {timeout:g} s")
            await asyncio.sleep(0.05)
