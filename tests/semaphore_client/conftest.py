"""Fixtures for the semaphore_client tests: the documented samples and a running simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from semaphore_client import RetryPolicy

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "semaphore"


async def _no_sleep(_seconds: float) -> None:
    return None


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
