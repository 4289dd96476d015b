"""Serving an application on a TCP port, and stopping it again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.errors import DeploybotError

SHUTDOWN_GRACE = 1.0


@dataclass
class RunningServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


class CannotListen(DeploybotError):
    """The HTTP server could not bind its address."""


async def start_server(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = True
) -> RunningServer:
    """Serve `app`; port 0 picks a free port (see `.port`). Access lines name no bodies. At a
    stop, requests still being handled get `SHUTDOWN_GRACE` seconds."""
    logs: dict[str, Any] = {} if access_log else {"access_log": None}
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_GRACE, **logs)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:  # the port is taken, or the address is not this machine's
        await runner.cleanup()
        raise CannotListen(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = runner.addresses[0][1] if port == 0 else port
    return RunningServer(runner, host, int(bound))
