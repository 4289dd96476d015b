"""The suite's guard against hangs, tried on tests made to hang (run in a pytest of their own
with this project's configuration and conftest, and a short timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HANGING_TEST = """
import asyncio

async def never_ends():
    await asyncio.Event().wait()

async def test_waits_forever():
    await asyncio.create_task(never_ends(), name="the-stuck-task")

def test_after_it_still_runs():
    pass
"""

HANGING_TEARDOWN = """
import time
import pytest

@pytest.fixture
def stubborn():
    yield
    time.sleep(600)  # blocks the thread: no signal can end it

async def test_times_out(stubborn):
    time.sleep(600)
"""


def _pytest(
    tmp_path: Path, source: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    test_file = tmp_path / "test_made_to_hang.py"
    test_file.write_text(source)
    args = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
            "--rootdir", str(ROOT), "-p", "conftest", "--timeout", "2", "-q", "-p",
            "no:cacheprovider", str(test_file)]  # fmt: skip
    started = time.monotonic()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=90,
                          env={**os.environ, **env})  # fmt: skip
    return done, time.monotonic() - started


def test_a_test_that_hangs_fails_with_the_stack_of_the_stuck_task_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    done, _ = _pytest(tmp_path, HANGING_TEST)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "1 failed, 1 passed" in out
    assert "Timeout (>2.0s) from pytest-timeout" in out
    assert "--- task the-stuck-task (pending) ---" in out
    assert "await asyncio.Event().wait()" in out  # where it waits


def test_a_teardown_that_hangs_after_a_timeout_ends_the_run_with_the_stacks(
    tmp_path: Path,
) -> None:
    done, took = _pytest(tmp_path, HANGING_TEARDOWN, TEST_TEARDOWN_BACKSTOP="3")
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert took < 60, f"the backstop did not end the run ({took:.0f} s)"
    assert "time.sleep(600)  # blocks the thread" in out  # the stack of the stuck teardown
