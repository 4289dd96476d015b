"""The work Slack requests leave after their ack: a few workers, in arrival order, a bounded
queue, and a stop that drops (and counts) what still waits."""

from __future__ import annotations

import asyncio
import logging
import warnings

import pytest

from bot.slack.work import AfterAck


async def test_at_most_the_workers_run_at_once_and_everything_runs() -> None:
    work = AfterAck(workers=3)
    running, most, done = 0, 0, []

    async def piece(n: int) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        done.append(n)

    for n in range(12):
        work.submit(piece(n), f"piece {n}")
    assert work.waiting == 12
    while len(done) < 12:
        await asyncio.sleep(0.01)
    assert most == 3
    assert sorted(done) == list(range(12))
    await work.stop()


async def test_a_failing_piece_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = AfterAck(workers=1)
    ran = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("boom")

    async def after() -> None:
        ran.set()

    work.submit(fails(), "/deploy status")
    work.submit(after(), "/deploy queue")
    await asyncio.wait_for(ran.wait(), 5)
    assert "slack: /deploy status failed" in caplog.text
    await work.stop()


async def test_full_once_the_limit_waits() -> None:
    work = AfterAck(workers=1, limit=2)
    gate = asyncio.Event()

    async def held() -> None:
        await gate.wait()

    work.submit(held(), "running")
    await asyncio.sleep(0)  # the worker took it
    assert not work.full
    work.submit(held(), "waiting 1")
    work.submit(held(), "waiting 2")
    assert (work.waiting, work.full) == (2, True)
    gate.set()
    await work.stop()


async def test_stop_cancels_what_runs_and_drops_what_waits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = AfterAck(workers=1)
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    work.submit(forever(), "running")
    await asyncio.sleep(0)
    for n in range(3):
        work.submit(forever(), f"waiting {n}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "coroutine was never awaited"
        with caplog.at_level(logging.WARNING):
            await work.stop()
    assert cancelled.is_set()
    assert "3 requests were still waiting at shutdown" in caplog.text


async def test_after_stop_new_work_is_dropped_without_starting_workers() -> None:
    work = AfterAck(workers=2)
    await work.stop()
    ran: list[bool] = []

    async def late() -> None:
        ran.append(True)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        work.submit(late(), "a re-publish due after the stop")
    await asyncio.sleep(0.01)
    assert ran == [] and work.waiting == 0
