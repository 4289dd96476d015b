"""`deploybot dev [--config FILE] [--port N] [--semaphore-port N] [--slack-port N] …`

A local rehearsal over real HTTP on loopback: the Semaphore simulator (its webhooks signed and
sent to the bot), the Slack stand-in (bot.standins.slack, with a page showing what the bot
posted) and the bot's own HTTP server, the one `deploybot serve` runs (bot.runtime). Secrets
are generated for the run. State is in the embedded store, or in the Redis at REDIS_URL; no
other setting is read from the environment. Prints where everything is and lines to paste
into a shell (bot.dev.instructions), then runs until SIGTERM or SIGINT and stops within
seconds. Bad arguments, configuration or a busy port: one sentence on stderr, exit status 2.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot import lifecycle
from bot.config.errors import ConfigError
from bot.config.loader import load_config
from bot.config.models import DeploybotConfig
from bot.dev.instructions import Rehearsal, Secrets, lines
from bot.errors import DeploybotError
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.standins.slack import SlackStandIn
from semaphore_client.simulator import Simulator
from semaphore_client.simulator.world import World, default_world, load_world

log = logging.getLogger("deploybot")

PROG = "deploybot dev"
HOST = "127.0.0.1"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "demo.yml"
#: How long a Redis at REDIS_URL may take to answer its first ping.
REDIS_WAIT = 5.0


class DevError(DeploybotError):
    """Something `deploybot dev` cannot start with, said in one sentence."""


@dataclass(frozen=True)
class Ports:
    bot: int = 8080
    semaphore: int = 9000
    slack: int = 9100


FLAGS = {"bot": "--port", "semaphore": "--semaphore-port", "slack": "--slack-port"}


@dataclass(frozen=True)
class Options:
    config: str | None = None
    world: str | None = None
    ports: Ports = Ports()
    pipeline_seconds: float = 2.0


def dev_command(options: Options) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # httpx logs each of the bot's calls to the simulator at INFO: the terminal is for people.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        config, shown = _config(options.config)
        world = _world(options.world, config)
        _check(options)
        _free(options.ports)
        env = Settings()
    except ValidationError as exc:
        return _refuse(f"bad environment: {exc.errors()[0]['msg']}")
    except DevError as exc:
        return _refuse(str(exc))
    try:
        return lifecycle.run(_run(options, config, shown, world, env))
    except DevError as exc:
        return _refuse(str(exc))


def _refuse(why: str) -> int:
    print(f"{PROG}: {why}", file=sys.stderr)
    return 2


def _config(option: str | None) -> tuple[DeploybotConfig, str]:
    path = Path(option) if option else DEFAULT_CONFIG
    shown = option or _relative(DEFAULT_CONFIG)
    try:
        return load_config(path), shown
    except ConfigError as exc:
        problems = "\n".join(f"  {problem}" for problem in exc.problems)
        raise DevError(f"{shown} is not valid:\n{problems}") from None


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _world(option: str | None, config: DeploybotConfig) -> World:
    try:
        world = load_world(option) if option else default_world()
    except OSError as exc:
        raise DevError(f"cannot read the world {option}: {exc.strerror or exc}") from None
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise DevError(f"{option} is not YAML: {exc.problem}{where}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "the file"
        raise DevError(f"{option} is not a simulator world: {where}: {error['msg']}") from None
    except (yaml.YAMLError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DevError(f"{option} is not a simulator world: {first}") from None
    for project in config.projects:
        if world.project(project.semaphore_project) is None:
            where = option or "the simulator's built-in world"
            raise DevError(
                f"project {project.name} deploys Semaphore project "
                f"{project.semaphore_project!r}, which {where} does not have; "
                "give one that has it with --world FILE"
            )
    return world


def _check(options: Options) -> None:
    if not math.isfinite(options.pipeline_seconds) or options.pipeline_seconds < 0:
        raise DevError("--pipeline-seconds must be a number of seconds, 0 or more")
    seen: dict[int, str] = {}
    for part, flag in FLAGS.items():
        port = getattr(options.ports, part)
        if not 0 <= port <= 65535:
            raise DevError(f"{flag} must be between 0 and 65535 (0: any free port), not {port}")
        if port and port in seen:
            raise DevError(f"{seen[port]} and {flag} are both {port}: give each its own port")
        seen[port] = flag


def _free(ports: Ports) -> None:
    """Refuse a port already taken before anything starts (a part that fails to bind later,
    in a race, is refused the same way by `_busy`)."""
    names = {
        "bot": "the bot",
        "semaphore": "the Semaphore simulator",
        "slack": "the Slack stand-in",
    }
    for part in FLAGS:
        port = getattr(ports, part)
        if not port:
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                raise _busy(names[part], part, port, exc) from None


@dataclass
class _Parts:
    """What has been started so far, so that a stop at any moment stops just that."""

    standin: SlackStandIn | None = None
    sim: Simulator | None = None
    runtime: Runtime | None = None

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
        if self.sim is not None:
            await lifecycle.bounded(self.sim.stop(), "the Semaphore simulator", within=1.5)
        if self.standin is not None:
            await lifecycle.bounded(self.standin.stop(), "the Slack stand-in", within=1.5)


async def _run(
    options: Options, config: DeploybotConfig, shown: str, world: World, env: Settings
) -> int:
    """Run until SIGTERM or SIGINT, obeyed at any time, even while starting."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    parts = _Parts()
    starting = asyncio.create_task(_start(parts, options, config, shown, world, env), name="start")
    signalled = asyncio.create_task(stop.wait(), name="signal")
    try:
        await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            print("\n".join(lines(starting.result())), flush=True)
            await signalled
        log.info("deploybot dev is stopping")
    finally:
        await lifecycle.end_tasks([starting, signalled], "the start", within=1.0)
        await parts.stop()
    return 0


async def _start(
    parts: _Parts,
    options: Options,
    config: DeploybotConfig,
    shown: str,
    world: World,
    env: Settings,
) -> Rehearsal:
    ports, key = options.ports, Secrets.generate()
    try:
        parts.standin = SlackStandIn()
        await parts.standin.start(HOST, ports.slack)
    except OSError as exc:
        raise _busy("the Slack stand-in", "slack", ports.slack, exc) from None
    parts.sim = Simulator(
        world,
        token=key.semaphore_api_token,
        default_duration=options.pipeline_seconds,
        host=HOST,
        port=ports.semaphore,
    )
    try:
        await parts.sim.start()
    except OSError as exc:
        raise _busy("the Semaphore simulator", "semaphore", ports.semaphore, exc) from None
    settings = Settings(
        slack_bot_token=key.slack_bot_token,
        slack_signing_secret=key.slack_signing_secret,
        slack_app_token=None,
        slack_api_url=parts.standin.api_url,
        semaphore_org=None,
        semaphore_api_url=parts.sim.base_url,
        semaphore_api_token=key.semaphore_api_token,
        semaphore_webhook_secret=key.semaphore_webhook_secret,
        alertmanager_token=key.alertmanager_token,
        metrics_token=None,
        redis_url=env.redis_url,
        redis_cluster=env.redis_cluster,
        deploybot_config=Path(options.config) if options.config else DEFAULT_CONFIG,
    )
    parts.runtime = build_runtime(settings, config)
    if settings.redis_url is not None:
        await _reach_redis(parts.runtime, settings)
    try:
        server = await parts.runtime.start(HOST, ports.bot)
    except OSError as exc:
        raise _busy("the bot", "bot", ports.bot, exc) from None
    parts.sim.webhooks.configure(
        f"{server.url}/semaphore/webhook", key.semaphore_webhook_secret, timeout=5.0
    )
    where = "in memory, lost when dev stops"
    if settings.redis_url is not None:
        where = f"in Redis at {settings.redis_url_for_logs}"
    return Rehearsal(
        bot=server.url,
        slack=parts.standin.url,
        semaphore=parts.sim.url,
        semaphore_api=parts.sim.base_url,
        secrets=key,
        config_path=shown,
        config=config,
        store=where,
    )


async def _reach_redis(runtime: Runtime, settings: Settings) -> None:
    ping = asyncio.ensure_future(runtime.store.ping())
    done, _ = await asyncio.wait({ping}, timeout=REDIS_WAIT)
    if not done:
        await lifecycle.end_tasks([ping], "the Redis ping", within=1.0)
    if not done or ping.cancelled() or ping.exception() is not None or not ping.result():
        raise DevError(
            f"cannot reach Redis at {settings.redis_url_for_logs} (REDIS_URL); "
            "unset REDIS_URL to keep state in memory"
        )


def _busy(what: str, part: str, port: int, exc: OSError) -> DevError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return DevError(
        f"{what} cannot listen on {HOST}:{port} ({reason.lower()}); "
        f"choose another port with {FLAGS[part]} (0: any free port)"
    )
