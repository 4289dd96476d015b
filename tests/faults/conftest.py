"""Fixtures of the fault suite (its tools are in support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.scenarios.slack_driver import SIGNING_SECRET, SlackDriver
from bot.standins.slack import SlackStandIn
from tests.faults.support import BotProcess, Rig, config_yaml, rig


@pytest.fixture
async def bot(
    tmp_path: Path, redis_server: str
) -> AsyncIterator[tuple[Rig, BotProcess, SlackDriver]]:
    """A real `deploybot serve` with Slack on, the Slack stand-in, and a driver for it."""
    standin = await SlackStandIn().start()
    try:
        async with rig(tmp_path, redis_server, config_yaml(), slack_api_url=standin.api_url,
                       slack_signing_secret=SIGNING_SECRET) as r:  # fmt: skip
            process = await r.bot().start()
            async with httpx.AsyncClient(base_url=process.url, timeout=10) as http:
                yield r, process, SlackDriver(http, standin)
    finally:
        await standin.stop()
