"""Fixtures for the semaphore_client tests: the documented samples and a running simulator."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from semaphore_client import RetryPolicy, SemaphoreClient
from semaphore_client.simulator import ManualClock, Simulator, parse_world

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPO_ROOT / "tests" / "fixtures" / "semaphore"


@pytest.fixture
def reference_dir() -> Path:
    assert REFERENCE_DIR.is_dir(), f"documented samples not found at {REFERENCE_DIR}"
    return REFERENCE_DIR


@pytest.fixture
def sample(reference_dir: Path) -> Callable[[str], Any]:
    def load(name: str) -> Any:
        return json.loads((reference_dir / name).read_text())

    return load


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def fast_retry(sleeps: list[float]) -> RetryPolicy:
    """Four attempts whose delays are recorded instead of slept."""

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    return RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.1, sleep=record)


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """The built-in world on the wall clock; unscripted pipelines pass after 0.05 s."""
    async with Simulator(default_duration=0.05) as sim:
        yield sim


@pytest.fixture
async def sim_client(simulator: Simulator) -> AsyncIterator[SemaphoreClient]:
    retry = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)
    async with SemaphoreClient(token="any-token", base_url=simulator.base_url, retry=retry) as c:
        yield c


@pytest.fixture
async def control(simulator: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the simulator's root, for the /_sim/ control API."""
    async with httpx.AsyncClient(base_url=simulator.url, timeout=5.0) as http:
        yield http


@pytest.fixture
def manual_sim() -> Callable[[str], Simulator]:
    """Build (not start) a simulator of a world given as YAML, on a manual clock."""

    def build(world_yaml: str) -> Simulator:
        return Simulator(parse_world(world_yaml), clock=ManualClock(), default_duration=1.0)

    return build
