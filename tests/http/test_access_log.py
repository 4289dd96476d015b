"""aiohttp's access line per request is chatter at `info` (issue 19: formatting it was 15% of
the CPU spent answering Slack commands under load) and shown at `debug`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web

from bot import logs
from bot.http.server import start_server


@pytest.fixture
def restored() -> Iterator[None]:
    names = ("", *logs.CHATTY)
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def _served_once(caplog: pytest.LogCaptureFixture) -> list[str]:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/hello", hello)
    server = await start_server(app)
    try:
        caplog.clear()
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{server.url}/hello")
        assert answer.text == "hi"
    finally:
        await server.stop()
    return [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]


@pytest.mark.usefixtures("restored")
async def test_requests_served_are_logged_at_debug_only(caplog: pytest.LogCaptureFixture) -> None:
    logs.configure("info")
    assert await _served_once(caplog) == []
    logs.configure("debug")
    [line] = await _served_once(caplog)
    assert '"GET /hello HTTP/1.1" 200' in line
