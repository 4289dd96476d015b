"""Issue 13 item 18: `/deploy status` names the stages the configuration no longer has that
still hold queued or running work (through the real Bolt app, a real redis-server)."""

from __future__ import annotations

import pytest
from builders import deployment

from bot.core.model import DeploymentState, StageState
from bot.store.base import Commit
from tests.slack.live import started
from tests.slack.test_modal_checks import CONFIG, ask

pytestmark = pytest.mark.redis


async def test_status_names_a_removed_stage_that_still_holds_work(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        left = StageState(
            version=1, queue=(deployment(2),), current=deployment(1, DeploymentState.RUNNING)
        )
        await h.store.apply(
            Commit(project="demo", stage="qa", event_id="e-qa", expected_version=0, state=left)
        )
        for text in ("status", "status demo"):
            said = (await ask(h, text, "U0NOBODY")).text()
            assert "demo/qa is not in the configuration" in said, said
            assert "1 queued and 0101010 running or baking" in said
            assert "Put the stage back" in said
