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


async def test_a_stop_ends_even_when_the_running_work_loses_its_cancellation() -> None:
    """The hang of issue 20: on Python 3.11, `asyncio.wait_for` (which redis-py awaits on
    every write) returns the result and drops a cancellation that arrives just as the awaited
    future completes. The worker went back to its queue still 'cancelling', and the stop's
    unbounded gather waited forever."""
    work = AfterAck(workers=1)
    written: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    inside = asyncio.Event()
    after: list[str] = []

    async def write() -> None:
        inside.set()
        after.append(await asyncio.wait_for(written, 5))
        after.append("went on")  # the cancellation was lost: the work carries on

    work.submit(write(), "write")
    await inside.wait()
    worker = work._tasks[0]
    written.set_result("OK")  # completes in the same pass of the loop as the cancellation
    await asyncio.wait_for(work.stop(within=5), 10)
    assert worker.done()
    assert worker.cancelled()


async def test_a_stop_gives_up_on_work_that_never_ends_and_names_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = AfterAck(workers=1)
    inside = asyncio.Event()
    release = False

    async def stubborn() -> None:
        inside.set()
        while not release:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # swallows every cancellation until released

    work.submit(stubborn(), "stubborn")
    await inside.wait()
    worker = work._tasks[0]
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(work.stop(within=0.3), 5)
    assert any("slack-after-ack-0" in r.getMessage() for r in caplog.records)
    assert not worker.done()
    release = True
    worker.cancel()
    await asyncio.wait({worker}, timeout=5)
    assert worker.done()
