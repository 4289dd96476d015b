"""Serving an application on a TCP port, and stopping it again."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


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


async def start_server(
    app: web.Application, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = True
) -> RunningServer:
    """Serve `app`; port 0 picks a free port (see `.port`). Access lines name no bodies."""
    runner = web.AppRunner(app) if access_log else web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if port == 0 else port
    return RunningServer(runner, host, int(bound))
