"""Every state-changing `/deploy` command, button and confirmation modal, tried against a real
`deploybot serve` by a user without the role: refused, and nothing changes.

Every refusal is written to the audit log, and a confirmation modal submitted without the
role gets an ephemeral refusal too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.scenarios.slack_driver import SlackDriver
from bot.slack.render import CONFIRM_EMERGENCY, CONFIRM_ROLLBACK, REASON_ACTION, REASON_BLOCK
from bot.slack.render.alerts import BLOCKER_UNBLOCK, ROLLBACK_APPROVE, ROLLBACK_DISMISS
from bot.slack.render.blocks import encode_value
from tests.faults.support import sha

pytestmark = [pytest.mark.faults, pytest.mark.redis]

STAGES = ("beta", "prod")
NOBODY = "U0NOBODY"
COMMANDS = [
    "block beta DB migration",
    "block demo whole project",
    "block all the big red button",
    "unblock beta",
    "unblock beta b-123",
    "freeze beta 2026-12-20 09:00 .. 2027-01-04 09:00 year end",
    "freeze cancel beta f-1",
    "rollback beta",
    f"rollback prod to {sha(1)[:7]}",
    f"emergency prod {sha(1)[:7]} hotfix",
]
BUTTONS = [ROLLBACK_APPROVE, ROLLBACK_DISMISS, BLOCKER_UNBLOCK]


async def try_everything(slack: SlackDriver) -> list[str]:
    """Each command, button and modal once as NOBODY; the names of their response calls."""
    for text in COMMANDS:
        assert (await slack.command(text, NOBODY)).status_code == 200
    for action_id in BUTTONS:
        value = encode_value({"project": "demo", "stage": "beta", "blocker": "b-1", "to": sha(1)})
        action = {"type": "button", "action_id": action_id, "value": value}
        assert (await slack.click(action, NOBODY)).status_code == 200
    for callback in (CONFIRM_EMERGENCY, CONFIRM_ROLLBACK):
        meta = encode_value(
            {"project": "demo", "stage": "prod", "sha": sha(1), "live": "demo/prod/1.1", "past": ""}
        )  # the shape deploybot's modals carry
        view = {"type": "modal", "callback_id": callback, "private_metadata": meta}
        values = {REASON_BLOCK: {REASON_ACTION: {"type": "plain_text_input", "value": "because"}}}
        assert (await slack.submit(view, NOBODY, values)).status_code == 200
    return [f"response:cmd{n}" for n in range(1, len(COMMANDS) + 1)] + [
        f"response:act{n}" for n in range(len(COMMANDS) + 1, len(COMMANDS) + len(BUTTONS) + 1)
    ]


async def test_every_state_changing_command_and_button_is_refused_without_the_role(
    bot: Any,
) -> None:
    r, process, slack = bot
    expected = await try_everything(slack)
    await asyncio.sleep(1.5)  # the work after the ack, and anything it might wrongly do
    replies = {c.method: c for c in slack.standin.calls if c.method.startswith("response:")}
    assert sorted(replies) == sorted(expected)
    for name in expected:
        text = replies[name].text()
        # A response_url reply without response_type is ephemeral (Slack's default).
        kind = replies[name].args.get("response_type", "ephemeral")
        assert "You need the" in text and kind == "ephemeral", (name, text)
    for stage in STAGES:
        assert (await r.watch.store.load("demo", stage)).version == 0
    assert await r.promoted() == []
    assert [
        c.method for c in slack.standin.calls if c.method in ("views.open", "chat.postMessage")
    ] == []
    assert "Traceback" not in process.output()


async def test_refusals_are_written_to_the_audit_log(bot: Any) -> None:
    r, _, slack = bot
    await try_everything(slack)
    await asyncio.sleep(1.5)
    audit = [e for s in STAGES for e in await r.watch.store.audit("demo", s)]
    assert [e for e in audit if e.actor == NOBODY], json.dumps(
        [e.model_dump(mode="json") for e in audit]
    )


async def test_a_confirmation_modal_without_the_role_is_refused_in_words(bot: Any) -> None:
    _, _, slack = bot
    await try_everything(slack)
    await asyncio.sleep(1.5)
    ephemeral = [c for c in slack.standin.calls if c.method == "chat.postEphemeral"]
    assert len(ephemeral) == 2, [c.text() for c in ephemeral]
