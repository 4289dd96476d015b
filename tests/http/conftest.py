"""The real app on a loopback port, spoken to over HTTP with httpx."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.config.loader import load_config
from bot.http import HttpDeps, build_app, start_server
from bot.metrics import Metrics
from bot.store.inbox import MemoryInbox
from semaphore_client import SIGNATURE_HEADER, sign_webhook

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "deploybot.yml"
SAMPLES = REPO_ROOT / "tests" / "fixtures" / "semaphore"
SECRET = "webhook-secret"
ALERT_TOKEN = "alertmanager-token"


async def healthy() -> dict[str, bool]:
    return {"redis": True, "scheduler": True}


Sign = Callable[..., dict[str, str]]


@pytest.fixture
def signed() -> Sign:
    """Headers of a Semaphore delivery of `body`: signed with the server's secret by default."""

    def build(body: bytes, delivery: str | None = "d-1", secret: str = SECRET) -> dict[str, str]:
        found = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(body, secret)}
        if delivery is not None:
            found["X-Semaphore-Webhook-Id"] = delivery
        return found

    return build


@pytest.fixture
def sample_body() -> bytes:
    path = SAMPLES / "webhook-pipeline-done.json"
    assert path.is_file(), f"documented sample not found at {path}"
    return path.read_bytes()


@pytest.fixture
def deps() -> HttpDeps:
    return HttpDeps(
        inbox=MemoryInbox(),
        config=load_config(EXAMPLE),
        webhook_secret=SECRET,
        metrics=Metrics(),
        health=healthy,
        alertmanager_token=ALERT_TOKEN,
    )


Serve = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def serve(deps: HttpDeps) -> AsyncIterator[Serve]:
    """Start the app with `deps` (fields overridden by keyword) and return a client for it."""
    stops: list[Callable[[], Awaitable[None]]] = []

    async def start(headers: dict[str, str] | None = None, **changes: Any) -> httpx.AsyncClient:
        server = await start_server(build_app(replace(deps, **changes)), access_log=False)
        client = httpx.AsyncClient(base_url=server.url, timeout=10, headers=headers)
        stops.extend([client.aclose, server.stop])
        return client

    yield start
    for stop in reversed(stops):
        await stop()


@pytest.fixture
async def client(serve: Serve) -> httpx.AsyncClient:
    """A client of the app that authenticates as Alertmanager (ALERT_TOKEN) on every request."""
    return await serve(headers={"Authorization": f"Bearer {ALERT_TOKEN}"})


@pytest.fixture
async def dead() -> AsyncIterator[aioredis.Redis]:
    """A Redis client of a port nobody listens on, failing at once instead of retrying."""
    client = aioredis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    yield client
    await client.aclose()
