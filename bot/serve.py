"""`deploybot serve` (HTTP: Slack events, Semaphore webhooks, Alertmanager, /healthz, /metrics)
and `deploybot socket` (Slack over Socket Mode, no public URL: Semaphore is then reached by
reconciliation only). Both run until SIGTERM or SIGINT and refuse, with a sentence, to start
on a missing or invalid setting."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pydantic import ValidationError
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot import lifecycle, logs
from bot.config.errors import ConfigError
from bot.config.loader import load_config
from bot.config.models import DeploybotConfig
from bot.errors import DeploybotError
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings

log = logging.getLogger("deploybot")


def serve_command(
    host: str, port: int, *, socket_mode: bool = False, log_level: str = "info"
) -> int:
    name = "socket" if socket_mode else "serve"
    logs.configure(log_level)
    try:
        settings = Settings()
    except ValidationError as exc:
        return _refuse(name, f"bad environment: {exc.errors()[0]['msg']}")
    if settings.deploybot_config is None:
        return _refuse(name, "set DEPLOYBOT_CONFIG to the configuration file")
    slack = (settings.slack_app_token, settings.slack_bot_token, settings.slack_signing_secret)
    if socket_mode and None in slack:
        return _refuse(
            name,
            "set SLACK_APP_TOKEN (xapp-..., with connections:write), SLACK_BOT_TOKEN and "
            "SLACK_SIGNING_SECRET",
        )
    try:
        config = load_config(settings.deploybot_config)
    except ConfigError as exc:
        problems = "\n".join(f"  {problem}" for problem in exc.problems)
        return _refuse(name, f"{settings.deploybot_config} is not valid:\n{problems}")
    try:
        return lifecycle.run(_run(settings, config, host, port, socket_mode))
    except DeploybotError as exc:
        return _refuse(name, str(exc))


def _refuse(name: str, why: str) -> int:
    print(f"deploybot {name}: {why}", file=sys.stderr)
    return 2


async def _run(
    settings: Settings, config: DeploybotConfig, host: str, port: int, socket_mode: bool
) -> int:
    """Run until SIGTERM or SIGINT. A signal is obeyed at any time, even while starting (a
    Redis that accepts connections and never answers holds the start), and every part of the
    stop is bounded (bot.lifecycle), so the process ends within seconds of it."""
    runtime = build_runtime(settings, config)
    if socket_mode:  # no webhook ever comes: every project is asked about on every pass
        runtime.timers.idle_every = runtime.timers.interval
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    starting = asyncio.create_task(_start(runtime, settings, host, port, socket_mode), name="start")
    signalled = asyncio.create_task(stop.wait(), name="signal")
    socket: AsyncSocketModeHandler | None = None
    try:
        await asyncio.wait({starting, signalled}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            socket = starting.result()
        await signalled
        log.info("deploybot is stopping")
    finally:
        await lifecycle.end_tasks([starting, signalled], "the start", within=1.0)
        if socket is not None:
            closing = socket.close_async()  # type: ignore[no-untyped-call]
            await lifecycle.bounded(closing, "Socket Mode", within=1.0)
        await runtime.stop()
    log.info("deploybot stopped cleanly")
    return 0


async def _start(
    runtime: Runtime, settings: Settings, host: str, port: int, socket_mode: bool
) -> AsyncSocketModeHandler | None:
    await runtime.start(host, port)
    return await _connect(runtime, settings) if socket_mode else None


async def _connect(runtime: Runtime, settings: Settings) -> AsyncSocketModeHandler:
    assert runtime.slack is not None and settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(
        runtime.slack.bolt,
        settings.slack_app_token.get_secret_value(),
        web_client=runtime.slack.client,
    )
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected to Slack over Socket Mode")
    return handler
