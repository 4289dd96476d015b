"""Keeps bench/ from rotting: its modules import, and the smallest webhook-to-promotion run
works end to end on a real redis-server. Timing is never asserted here (DESIGN: bench/ only)."""

from __future__ import annotations

import shutil

import pytest

from bench import ack, promotion, run, scale, stats, throughput
from bench.env import redis_server

pytestmark = pytest.mark.redis


def test_the_modules_import() -> None:
    assert callable(run.main) and ack.CONFIG and throughput.CONFIG and scale.seed
    assert stats.percentile([3.0, 1.0, 2.0], 50) == 2.0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
async def test_the_tiniest_webhook_to_promotion_run() -> None:
    async with redis_server() as url:
        figures = await promotion.measure(url, samples=2)
    assert figures["n"] == 2
