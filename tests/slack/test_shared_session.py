"""Replies to `response_url` and Web API calls share one HTTP session while the server runs:
`mount` gives the Slack client a session at startup and closes it at cleanup, and
`SlackContext.respond` sends each reply over it, once, with the message Bolt's `respond`
would have sent; without a shared session a reply still goes out (slack_sdk's own session)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import web
from pydantic import SecretStr
from slack_bolt.async_app import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.http.server import RunningServer, start_server
from bot.settings import Settings
from bot.slack.app import build_bolt_app, mount, web_client
from bot.slack.listeners.context import SharedRespond, SlackContext
from tests.slack.support import NOW, one_project


class Replies:
    """A response URL endpoint that records each body and the client's (host, port)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], Any]] = []
        self.server: RunningServer | None = None

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.received.append((json.loads(await request.text()), peer))
        return web.Response(text="ok")

    def url(self, name: str) -> str:
        assert self.server is not None
        return f"{self.server.url}/response/{name}"


@pytest.fixture
async def replies() -> AsyncIterator[Replies]:
    got = Replies()
    app = web.Application()
    app.router.add_post("/response/{name}", got.handle)
    got.server = await start_server(app, access_log=False)
    try:
        yield got
    finally:
        await got.server.stop()


def settings(api_url: str = "http://127.0.0.1:9/api/") -> Settings:
    return Settings(
        slack_bot_token=SecretStr("xoxb-test"),
        slack_signing_secret=SecretStr("secret"),
        slack_api_url=api_url,
    )


def context(client: AsyncWebClient) -> SlackContext:
    """Only the Slack client matters to replies: no orchestrator, store or roles."""
    unused = cast(Any, None)
    return SlackContext(one_project(), unused, unused, unused, lambda: NOW, client)


async def test_mount_gives_the_client_one_session_while_the_server_runs() -> None:
    client = web_client(settings())
    bolt = build_bolt_app(settings(), client)
    app = web.Application()
    mount(app, bolt, "unused")
    assert client.session is None
    server = await start_server(app, access_log=False)
    session = client.session
    assert session is not None and not session.closed
    assert session.timeout.total == client.timeout
    await server.stop()
    assert session.closed and client.session is None


async def test_replies_share_one_connection_and_each_is_posted_once(replies: Replies) -> None:
    client = web_client(settings())
    app = web.Application()
    mount(app, build_bolt_app(settings(), client), "unused")
    server = await start_server(app, access_log=False)
    try:
        slack = context(client)
        for i in range(3):
            bolt_respond = AsyncRespond(response_url=replies.url(f"r{i}"))
            respond = slack.respond(bolt_respond)
            assert isinstance(respond, SharedRespond)
            answer = await respond(text=f"reply {i}", response_type="ephemeral")
            assert answer.status_code == 200
        await slack.respond(AsyncRespond(response_url=replies.url("whole")))(
            cast(Any, {"text": "whole", "replace_original": False})
        )
        assert client.session is not None and not client.session.closed
    finally:
        await server.stop()
    bodies = [body for body, _ in replies.received]
    assert bodies == [
        {"text": "reply 0", "response_type": "ephemeral"},
        {"text": "reply 1", "response_type": "ephemeral"},
        {"text": "reply 2", "response_type": "ephemeral"},
        {"text": "whole", "replace_original": False},
    ]
    assert len({peer for _, peer in replies.received}) == 1, "one kept-alive connection"


async def test_without_a_shared_session_a_reply_still_goes_out_once(replies: Replies) -> None:
    client = web_client(settings())
    assert client.session is None
    respond = context(client).respond(AsyncRespond(response_url=replies.url("alone")))
    await respond(text="hi")
    await respond(text="again")
    assert [body for body, _ in replies.received] == [{"text": "hi"}, {"text": "again"}]
    assert client.session is None


async def test_a_reply_without_response_url_is_refused() -> None:
    respond = context(web_client(settings())).respond(AsyncRespond(response_url=None))
    with pytest.raises(ValueError, match="no response_url"):
        await respond(text="nowhere")
