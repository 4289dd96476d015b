"""`deploybot serve`: run the HTTP server, the inbox worker and the timers until SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from pydantic import ValidationError

from bot.config.errors import ConfigError
from bot.config.loader import load_config
from bot.config.models import DeploybotConfig
from bot.runtime import MissingSetting, build_runtime
from bot.settings import Settings


def serve_command(host: str, port: int) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"deploybot serve: bad environment: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    if settings.deploybot_config is None:
        print("deploybot serve: set DEPLOYBOT_CONFIG to the configuration file", file=sys.stderr)
        return 2
    try:
        config = load_config(settings.deploybot_config)
    except ConfigError as exc:
        print(f"deploybot serve: {settings.deploybot_config} is not valid:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(settings, config, host, port))
    except MissingSetting as exc:
        print(f"deploybot serve: {exc}", file=sys.stderr)
        return 2


async def _serve(settings: Settings, config: DeploybotConfig, host: str, port: int) -> int:
    runtime = build_runtime(settings, config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await runtime.start(host, port)
    try:
        await stop.wait()
    finally:
        await runtime.stop()
    return 0
