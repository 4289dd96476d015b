"""The ack benchmark's reference, in a process of its own like the bot: a bare Bolt app built by
deploybot's own factory (`build_bolt_app` over `web_client`), mounted the same way (`mount`) on
the same aiohttp server (`bot.http.server.start_server`, access log on, logging set up as
`deploybot serve` does), whose one command, `/deploy`, only acks; and `/healthz`.

    python -m bench.bare_bolt --port N    (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL)

It serves until SIGTERM or SIGINT, then exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.http.server import start_server
from bot.settings import Settings
from bot.slack.app import build_bolt_app, mount, web_client


def build_app(settings: Settings) -> web.Application:
    bolt: AsyncApp = build_bolt_app(settings, web_client(settings))

    @bolt.command("/deploy")
    async def deploy(ack: AsyncAck) -> None:
        await ack()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    assert settings.slack_signing_secret is not None  # build_bolt_app refuses without it
    mount(app, bolt, settings.slack_signing_secret.get_secret_value())
    app.router.add_get("/healthz", healthz)
    return app


async def serve(settings: Settings, host: str, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    server = await start_server(build_app(settings), host, port)
    logging.getLogger("bench.bare_bolt").info("bare Bolt app serves on %s", server.url)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_bolt", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, required=True, help="port to listen on")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(serve(Settings(), args.host, args.port))


if __name__ == "__main__":
    raise SystemExit(main())
