"""The Bolt app, built explicitly from settings: the token and signing secret are passed in,
Web API calls go to `SLACK_API_URL` through one `AsyncWebClient` (with slack_sdk's retry
handlers for rate limits and server errors), and OAuth mode can never switch itself on.
`mount(app, bolt, secret)` adds `POST /slack/events` to deploybot's aiohttp server (the
signature checked first, bot.slack.verify), and while that
server runs gives the client one HTTP session (`share_session`): Web API calls and replies to
`response_url` reuse its connections instead of opening a session and a connection each."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import DeploybotError
from bot.settings import Settings
from bot.slack.pacing import PacedRateLimitRetryHandler
from bot.slack.verify import RefusalLog, refusal

#: Hidden from Bolt while it is built: OAuth's (see `_no_oauth_environment`), and the bot
#: token, which reaches Bolt through its client (read again, it only warns that it is unused).
OAUTH_ENV = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN")


class SlackNotConfigured(DeploybotError):
    """SLACK_BOT_TOKEN or SLACK_SIGNING_SECRET is missing."""


def web_client(
    settings: Settings, on_limited: Callable[[str, float, str | None], Any] | None = None
) -> AsyncWebClient:
    """The client; `on_limited(method, retry_after, channel)` hears of every 429 (the pacer)."""
    if settings.slack_bot_token is None:
        raise SlackNotConfigured("set SLACK_BOT_TOKEN (the bot token, xoxb-...)")
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )
    client.retry_handlers.extend(
        [
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            PacedRateLimitRetryHandler(on_limited or _ignore, max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def _ignore(*_: object) -> None:
    return None


def build_bolt_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    if settings.slack_signing_secret is None:
        raise SlackNotConfigured("set SLACK_SIGNING_SECRET (the app's signing secret)")
    with _no_oauth_environment():
        return AsyncApp(
            client=client,
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            name="deploybot",
            # Every listener acks first and hands slow work to a task of its own, so Bolt may
            # answer when the listener returns instead of polling for the ack every 10 ms.
            process_before_response=True,
            # `mount` checks the signature before Bolt parses anything (bot.slack.verify);
            # Bolt's own check would compute the same HMAC a second time. Socket mode carries
            # no signatures (Bolt skips the check there anyway).
            request_verification_enabled=False,
            # Installation, tokens and secrets come only from Settings: no OAuth flow.
            oauth_settings=None,
            oauth_flow=None,
            installation_store=None,
        )


def mount(app: web.Application, bolt: AsyncApp, signing_secret: str) -> None:
    refused = RefusalLog()

    async def slack_events(request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        why = refusal(
            headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature"), body,
            signing_secret,
        )  # fmt: skip
        if why is not None:  # checked before Bolt parses (or logs) anything of it
            refused(request.path, why, len(body))
            return web.json_response({"error": why}, status=401)
        # Bolt parses the body while building the request and its context: a body that is
        # not a Slack payload (not JSON, not a form, JSON that is not an object) fails there.
        try:
            bolt_request = await to_bolt_request(request)
            response = await bolt.async_dispatch(bolt_request)
        except (ValueError, AttributeError, TypeError, KeyError, RecursionError):
            return web.json_response({"error": "the body is not a Slack request"}, status=400)
        return await to_aiohttp_response(response)

    app.router.add_post("/slack/events", slack_events)
    share_session(app, bolt.client)


def share_session(app: web.Application, client: AsyncWebClient) -> None:
    """While `app` runs, `client` has an `aiohttp.ClientSession` of its own (made at startup,
    in the server's event loop; closed at cleanup), so its calls, and the replies sent with
    `bot.slack.listeners.context.SlackContext.respond`, share one connection pool. Without it
    (a client that was never mounted, or after cleanup) slack_sdk makes a session per call."""
    made: list[aiohttp.ClientSession] = []

    async def open_session(_: web.Application) -> None:
        if client.session is None or client.session.closed:
            # As slack_sdk makes its own per call: the client's timeout and trust_env.
            client.session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=client.timeout),
                trust_env=client.trust_env_in_session,
            )
            made.append(client.session)

    async def close_session(_: web.Application) -> None:
        while made:
            session = made.pop()
            if client.session is session:
                client.session = None
            await session.close()

    app.on_startup.append(open_session)
    app.on_cleanup.append(close_session)


@contextlib.contextmanager
def _no_oauth_environment() -> Iterator[None]:
    """Bolt turns OAuth mode on by itself when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are in
    the environment; deploybot is a single-workspace app, so they are hidden while it is built."""
    saved = {name: os.environ.pop(name) for name in OAUTH_ENV if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)
