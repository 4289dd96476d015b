"""Issue 14 item 7: buttons, modals and commands that name a project or stage the
configuration does not have are refused in words, by a person with every role as by one with
none, and leave nothing behind: no Redis key is created for a name deploybot never had."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.slack.render import CONFIRM_EMERGENCY, CONFIRM_ROLLBACK, REASON_ACTION, REASON_BLOCK
from bot.slack.render.alerts import BLOCKER_UNBLOCK, ROLLBACK_APPROVE, ROLLBACK_DISMISS
from bot.slack.render.blocks import encode_value
from tests.faults.support import sha

pytestmark = [pytest.mark.faults, pytest.mark.redis]

#: Names no configuration has; each is looked for in every Redis key afterwards.
STRANGERS = [("evilproj", "beta"), ("demo", "evilstage"), ("evilproj", "evilstage")]
PEOPLE = ["U0APPROVE", "U0BLOCK", "U0EMERGENCY", "U0NOBODY"]
COMMANDS = ["unblock {project} {stage}", "rollback {project} {stage}"]


async def keys(redis_url: str) -> list[str]:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        return [key async for key in client.scan_iter(count=1000)]
    finally:
        await client.aclose()


async def test_unconfigured_projects_and_stages_are_refused_and_leave_no_key(bot: Any) -> None:
    r, process, slack = bot
    answers = []
    for user in PEOPLE:
        for project, stage in STRANGERS:
            for action_id in (ROLLBACK_APPROVE, ROLLBACK_DISMISS, BLOCKER_UNBLOCK):
                value = encode_value(
                    {"project": project, "stage": stage, "blocker": "b-1", "to": sha(1),
                     "deployment": f"{project}/{stage}/1.1"}
                )  # fmt: skip
                action = {"type": "button", "action_id": action_id, "value": value}
                assert (await slack.click(action, user)).status_code == 200
            meta = encode_value(
                {"project": project, "stage": stage, "sha": sha(1), "live": "", "past": ""}
            )
            for callback in (CONFIRM_EMERGENCY, CONFIRM_ROLLBACK):
                view = {"type": "modal", "callback_id": callback, "private_metadata": meta}
                reason = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": "x"}}}
                answer = await slack.submit(view, user, reason)
                assert answer.status_code == 200
                assert "not made by this deploybot" in answer.text, answer.text
            for text in COMMANDS:
                answer = await slack.command(text.format(project=project, stage=stage), user)
                assert answer.status_code == 200
                answers.append(answer.text)
    await asyncio.sleep(1.5)  # the work after the acks

    replies = [c for c in slack.standin.calls if c.method.startswith("response:")]
    clicks = [c.text() for c in replies if "does not name anything deploybot knows" in c.text()]
    assert len(clicks) == len(PEOPLE) * len(STRANGERS) * 3
    assert len(answers) == len(PEOPLE) * len(STRANGERS) * len(COMMANDS)
    assert all("evil" in a and "Traceback" not in a for a in answers), answers
    assert not [c for c in slack.standin.calls if c.method in ("views.open", "chat.postMessage")]
    assert [k for k in await keys(r.redis_url) if "evil" in k] == []
    for stage in ("beta", "prod"):
        assert (await r.watch.store.load("demo", stage)).version == 0
    assert await r.promoted() == []
    assert "Traceback" not in process.output()
