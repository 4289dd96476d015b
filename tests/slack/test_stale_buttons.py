"""Buttons act only on what they were made for (DESIGN.md rule 10): a click after the stage
moved on changes nothing, tells the clicker what changed, and marks the old message outdated.
Signed block_actions through the real Bolt app over HTTP, the Slack stand-in recording every
call, the real engine on a real redis-server and the Semaphore simulator behind."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.harness import Harness
from bot.scenarios.holds import alert
from bot.scenarios.slack_driver import buttons
from bot.slack.render import decode_value, encode_value
from bot.standins.slack import Call, SlackStandIn
from tests.slack.live import BASE, A, C, parts, posted_ts, responses, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE, U0APPROVE2], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
      - name: prod
        promotion: prod
        bake: 1s
        rollback: {policy: approve}
"""


def alert_messages(standin: SlackStandIn) -> list[dict[str, Any]]:
    """Every message posted with an Approve rollback button, as a click carries it."""
    found = []
    for call in standin.of("chat.postMessage"):
        if any(b["action_id"] == "rollback_approve" for b in buttons(call.blocks)):
            found.append(
                {"ts": posted_ts(call), "text": call.args.get("text", ""), "blocks": call.blocks}
            )
    return found


def updates_of(standin: SlackStandIn, ts: str) -> list[Call]:
    return [c for c in standin.of("chat.update") if c.args.get("ts") == ts]


async def rollbacks(h: Harness) -> list[Any]:
    state = await h.store.load("demo", "prod")
    live = [*state.queue, *([state.current] if state.current else [])]
    history = await h.store.history("demo", "prod")
    return [d for d in [*live, *history] if d.kind is DeploymentKind.ROLLBACK]


async def deployed(h: Harness, sha: str) -> None:
    async def done() -> bool:
        return await h.deployed("prod", sha)

    await h.until(done)


async def reply_after(h: Harness, before: int) -> Call:
    _, standin = parts(h)

    async def replied() -> bool:
        return len(responses(standin)) > before

    await h.until(replied)
    return responses(standin)[before]


async def alarm_after_the_bake(h: Harness) -> tuple[dict[str, Any], datetime]:
    """BASE then A deployed and baked on prod; then an alarm fires: its alert message (with
    Approve rollback to BASE) and when the alarm began."""
    _, standin = parts(h)
    await h.push(BASE, "first")
    await deployed(h, BASE)
    await h.push(A, "second")
    await deployed(h, A)
    fired = datetime.now(UTC) + timedelta(seconds=0.1)
    await asyncio.sleep(0.2)
    response = await h.alert(alert("firing", fired))
    assert response.status_code == 200, response.text

    async def alerted() -> bool:
        return bool(alert_messages(standin))

    await h.until(alerted)
    [message] = alert_messages(standin)
    assert "Roll back to: `bbbbbbb`" in json.dumps(message["blocks"])
    return message, fired


async def test_a_stale_approve_from_an_alarm_alert_rolls_nothing_back(redis_server: str) -> None:
    """Issue 13 item 3: Approve clicked after the alarm resolved and a newer change deployed
    and baked rolls nothing back (it used to roll prod back two changes, past blockers)."""
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, fired = await alarm_after_the_bake(h)
        await h.alert(alert("resolved", fired, datetime.now(UTC)))

        async def resolved() -> bool:
            return not (await h.store.load("demo", "prod")).blockers

        await h.until(resolved)
        await h.push(C, "third")
        await deployed(h, C)
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hands off prod")

        approve = buttons(message["blocks"])[0]
        before = len(responses(standin))
        ack = await slack.click(approve, "U0APPROVE", message=message)
        assert ack.status_code == 200
        await asyncio.sleep(1.5)  # time for a rollback to be queued and promoted, were there one
        assert await rollbacks(h) == []
        told = await reply_after(h, before)
        assert told.args["response_type"] == "ephemeral"
        assert told.args["replace_original"] is False
        said = told.text()
        assert "Nothing was done" in said and "ccccccc" in said, said

        async def outdated() -> bool:
            return bool(updates_of(standin, message["ts"]))

        await h.until(outdated)
        [update] = updates_of(standin, message["ts"])
        assert buttons(update.blocks) == []
        assert "Outdated" in json.dumps(update.blocks), update.blocks
        assert await rollbacks(h) == []
        prod = await h.store.load("demo", "prod")
        assert prod.good[0].change.sha == C and prod.current is None
        assert [b.reason for b in prod.blockers] == ["hands off prod"]
        assert ("deploy-prod.yml", BASE) not in (await h.promotions())[2:]


async def test_approve_from_an_alarm_alert_still_current_rolls_back(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, _ = await alarm_after_the_bake(h)
        approve = buttons(message["blocks"])[0]
        await slack.click(approve, "U0APPROVE", message=message)

        async def rolled_back() -> bool:
            return any(d.state is DeploymentState.SUCCEEDED for d in await rollbacks(h))

        await h.until(rolled_back)
        [rollback] = await rollbacks(h)
        assert (rollback.change.sha, rollback.triggered_by) == (BASE, "U0APPROVE")
        assert rollback.force is False

        async def acted() -> bool:
            return bool(updates_of(standin, message["ts"]))

        await h.until(acted)
        assert "<@U0APPROVE> approved the rollback" in json.dumps(
            updates_of(standin, message["ts"])[0].blocks
        )


async def failed_on_prod(h: Harness, sha: str, stamp: str) -> dict[str, Any]:
    """`sha` fails on prod (policy approve): its alert message."""
    _, standin = parts(h)
    before = len(alert_messages(standin))
    await h.script(pipeline_file="deploy-prod.yml", commit_sha=sha, result="failed")
    await h.push(sha, stamp)

    async def alerted() -> bool:
        return len(alert_messages(standin)) > before

    await h.until(alerted)
    return alert_messages(standin)[before]


async def test_an_old_alerts_approve_never_approves_a_newer_pending_rollback(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "first")
        await deployed(h, BASE)
        old = await failed_on_prod(h, A, "bad one")
        await h.runtime.orchestrator.dismiss_rollback("demo", "prod", "U0APPROVE2", "elsewhere")
        new = await failed_on_prod(h, C, "bad two")
        pending = (await h.store.load("demo", "prod")).pending_rollback
        assert pending is not None and pending.bad_sha == C

        before = len(responses(standin))
        await slack.click(buttons(old["blocks"])[0], "U0APPROVE", message=old)
        said = (await reply_after(h, before)).text()
        assert "Nothing was done" in said, said
        await asyncio.sleep(0.5)
        assert await rollbacks(h) == []
        assert (await h.store.load("demo", "prod")).pending_rollback == pending
        [update] = updates_of(standin, old["ts"])
        assert buttons(update.blocks) == [] and "Outdated" in json.dumps(update.blocks)

        await slack.click(buttons(new["blocks"])[0], "U0APPROVE", message=new)

        async def rolled_back() -> bool:
            return any(d.state is DeploymentState.SUCCEEDED for d in await rollbacks(h))

        await h.until(rolled_back)
        assert [d.change.sha for d in await rollbacks(h)] == [BASE]


async def test_approve_never_forces_past_a_manual_blocker(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "first")
        await deployed(h, BASE)
        message = await failed_on_prod(h, A, "bad one")
        decision = await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hands off")
        assert decision is not None
        before = len(responses(standin))
        await slack.click(buttons(message["blocks"])[0], "U0APPROVE", message=message)
        said = (await reply_after(h, before)).text()
        assert "rollback is queued and waits for: hands off" in said, said

        async def queued() -> bool:
            return bool(await rollbacks(h))

        await h.until(queued)
        await asyncio.sleep(0.5)
        [rollback] = await rollbacks(h)
        assert (rollback.state, rollback.force) == (DeploymentState.QUEUED, False)
        blocker = decision.state.blockers[-1].id
        await h.runtime.orchestrator.unblock("demo", "prod", "U0BLOCK", blocker)

        async def rolled_back() -> bool:
            return any(d.state is DeploymentState.SUCCEEDED for d in await rollbacks(h))

        await h.until(rolled_back)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda v: {**v, "deployment": "demo/prod/forged.1"}, id="other-deployment"),
        pytest.param(lambda v: {**v, "stage": "nowhere"}, id="unknown-stage"),
        pytest.param(lambda v: {k: x for k, x in v.items() if k != "deployment"}, id="no-target"),
        pytest.param(lambda v: {**v, "to": "b" * 7}, id="other-target"),
        pytest.param(lambda v: "not json", id="garbage"),
    ],
)
async def test_a_tampered_button_value_does_nothing(redis_server: str, tamper: Any) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "first")
        await deployed(h, BASE)
        message = await failed_on_prod(h, A, "bad one")
        approve = buttons(message["blocks"])[0]
        value = decode_value(approve["value"])
        assert value is not None and value["deployment"]
        changed = tamper(value)
        forged = {
            **approve,
            "value": changed if isinstance(changed, str) else encode_value(changed),
        }
        before = len(responses(standin))
        await slack.click(forged, "U0APPROVE", message=message)
        told = await reply_after(h, before)
        assert told.args["response_type"] == "ephemeral"
        assert "Nothing was done" in told.text(), told.text()
        await asyncio.sleep(0.5)
        assert await rollbacks(h) == []
        assert (await h.store.load("demo", "prod")).pending_rollback is not None


async def test_a_repeated_stale_click_does_nothing_and_says_so(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "first")
        await deployed(h, BASE)
        message = await failed_on_prod(h, A, "bad one")
        await h.runtime.orchestrator.dismiss_rollback("demo", "prod", "U0APPROVE2", "elsewhere")
        approve = buttons(message["blocks"])[0]
        for _ in range(2):
            before = len(responses(standin))
            await slack.click(approve, "U0APPROVE", message=message)
            assert "Nothing was done" in (await reply_after(h, before)).text()
        await asyncio.sleep(0.5)
        assert await rollbacks(h) == []
        # A person without the role learns nothing about the state: only that they need it.
        before = len(responses(standin))
        await slack.click(approve, "U0BLOCK", message=message)
        refusal = (await reply_after(h, before)).text()
        assert "approve" in refusal and "Nothing was done" not in refusal


async def test_unblock_in_the_app_home_after_the_blocker_was_lifted_does_nothing(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        decision = await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hold prod")
        assert decision is not None
        await slack.open_home("U0BLOCK")
        [board] = await standin.wait_for("views.publish")
        [unblock] = [b for b in buttons(board.blocks) if b["action_id"].startswith("blocker_")]
        await h.runtime.orchestrator.unblock(
            "demo", "prod", "U0BLOCK", decision.state.blockers[-1].id
        )
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hold it again")
        published = len(standin.of("views.publish"))
        view = {"id": "V0HOME", "type": "home", "blocks": board.blocks}
        await slack.click(unblock, "U0BLOCK", view=view)

        async def told() -> bool:
            return any(c.args.get("channel") == "U0BLOCK" for c in standin.of("chat.postMessage"))

        await h.until(told)
        [dm] = [c for c in standin.of("chat.postMessage") if c.args.get("channel") == "U0BLOCK"]
        assert "Nothing was done" in dm.text() and "hold prod" not in dm.text()
        await asyncio.sleep(0.5)
        assert [b.reason for b in (await h.store.load("demo", "prod")).blockers] == [
            "hold it again"
        ]
        assert len(standin.of("views.publish")) > published  # the board, drawn again
