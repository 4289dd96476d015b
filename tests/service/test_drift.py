"""Stages the store holds work for that the configuration no longer names are reported at
startup, in the log and in the project's channel, instead of being orphaned in silence."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import deployment

from bot.config.loader import load_config
from bot.core.model import DeploymentState, StageState
from bot.runtime import build_runtime
from bot.service.drift import DriftReport, orphans
from bot.settings import Settings
from bot.standins.slack import SlackStandIn
from bot.store import MemoryStore, Store
from bot.store.base import Commit
from bot.store.inbox import MemoryInbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deploybot.yml"


async def _put(store: Store, project: str, stage: str, state: StageState) -> None:
    await store.apply(
        Commit(
            project=project,
            stage=stage,
            event_id=f"e-{project}-{stage}",
            expected_version=0,
            state=state.model_copy(update={"version": 1}),
        )
    )


async def _drifted(store: Store) -> None:
    running = deployment(1, DeploymentState.RUNNING)
    await _put(store, "shop", "prod", StageState(current=running))  # configured: fine
    await _put(store, "shop", "qa", StageState(queue=(deployment(2), deployment(3))))
    await _put(store, "legacy", "prod", StageState(current=running))
    await _put(store, "shop", "canary", StageState())  # nothing waits there: not reported


async def test_stages_with_work_that_the_configuration_does_not_name_are_found(
    store: Store,
) -> None:
    await _drifted(store)
    found = await orphans(load_config(EXAMPLE), store)
    assert [(o.project, o.stage, o.queued, o.project_known) for o in found] == [
        ("legacy", "prod", 0, False),
        ("shop", "qa", 2, True),
    ]
    assert "shop/qa is not in the configuration" in found[1].describe()
    assert "2 queued" in found[1].describe()


async def test_startup_reports_drift_in_the_log_and_the_projects_channel(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    await _drifted(store)
    config = load_config(EXAMPLE)
    slack = await SlackStandIn().start()
    settings = Settings(
        semaphore_api_url="http://127.0.0.1:9/api/v1alpha", semaphore_api_token="t",
        slack_bot_token="xoxb-test", slack_signing_secret="s", slack_api_url=slack.api_url,
    )  # fmt: skip
    runtime = build_runtime(settings, config, store=store, inbox=MemoryInbox())
    try:
        with caplog.at_level(logging.WARNING, logger="bot.runtime"):
            await runtime.start(reconcile=False)
        [post] = await slack.wait_for("chat.postMessage")
    finally:
        await runtime.stop()
        await slack.stop()
    drift = [r.getMessage() for r in caplog.records if "configuration drift" in r.getMessage()]
    assert len(drift) == 2 and "legacy/prod" in drift[0] and "shop/qa" in drift[1]
    assert post.args["channel"] == config.project("shop").channel
    assert "shop/qa is not in the configuration" in post.args["text"]


async def test_status_reads_a_drift_report_at_most_a_minute_old(store: Store) -> None:
    """Finding drift scans every key of the store: `/deploy status` does it once a minute,
    not for every request, and sees drift that came later once the minute has passed."""
    report = DriftReport(load_config(EXAMPLE), store)
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    assert await report.orphans(start) == []
    await _drifted(store)
    assert await report.orphans(start + timedelta(seconds=59)) == []
    later = await report.orphans(start + timedelta(minutes=1))
    assert [(o.project, o.stage) for o in later] == [("legacy", "prod"), ("shop", "qa")]
    assert await report.orphans(start) == later  # a clock set back reads again, same answer
