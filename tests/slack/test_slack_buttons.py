"""Buttons and the App Home end to end: signed block_actions and app_home_opened requests
through the real Bolt app over HTTP, the Slack Web API stand-in recording every call, and the
real engine, a real redis-server and the Semaphore simulator behind."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.harness import Harness
from bot.scenarios.slack_driver import SlackDriver, buttons
from bot.standins.slack import Call, SlackStandIn
from tests.slack.live import BASE, A, parts, posted_ts, responses, started

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
        rollback: {policy: approve}
"""


def every_button(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Buttons in actions blocks and as section accessories."""
    found = buttons(blocks)
    for block in blocks:
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            found.append({**accessory, "block_id": block.get("block_id", "")})
    return found


def as_message(standin: SlackStandIn, call: Call) -> dict[str, Any]:
    """The message a chat.postMessage call became, as a block_actions payload carries it."""
    return {
        "ts": posted_ts(call),
        "text": call.args.get("text", ""),
        "blocks": call.blocks,
    }


async def failed_on_prod(h: Harness) -> tuple[dict[str, Any], dict[str, Any]]:
    """BASE good everywhere, then A fails on prod: the alert message and its posted call."""
    _, standin = parts(h)
    await h.push(BASE, "base")

    async def base_done() -> bool:
        return await h.deployed("prod", BASE)

    await h.until(base_done)
    await h.script(pipeline_file="deploy-prod.yml", commit_sha=A, result="failed")
    await h.push(A, "bad change")

    def alert() -> Call | None:
        for call in standin.of("chat.postMessage"):
            if any(b["action_id"] == "rollback_approve" for b in buttons(call.blocks)):
                return call
        return None

    async def alerted() -> bool:
        return alert() is not None

    await h.until(alerted)
    call = alert()
    assert call is not None and call.args["channel"] == "C0DEMO"
    return as_message(standin, call), call.args


async def rollback_promotions(h: Harness) -> list[tuple[str, str]]:
    promotions = await h.promotions()
    after_a = promotions[promotions.index(("deploy-prod.yml", A)) + 1 :]
    return [p for p in after_a if p == ("deploy-prod.yml", BASE)]


async def rolled_back(h: Harness) -> bool:
    history = await h.store.history("demo", "prod")
    return any(
        d.kind is DeploymentKind.ROLLBACK and d.state is DeploymentState.SUCCEEDED for d in history
    )


def updates_of(standin: SlackStandIn, ts: str) -> list[Call]:
    return [c for c in standin.of("chat.update") if c.args.get("ts") == ts]


# -- rollback approval -----------------------------------------------------------------------


async def test_approve_rolls_back_and_the_alert_shows_who_acted(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, _ = await failed_on_prod(h)
        [approve, dismiss] = buttons(message["blocks"])
        assert (approve["action_id"], dismiss["action_id"]) == (
            "rollback_approve",
            "rollback_dismiss",
        )
        assert "Roll back to: `bbbbbbb`" in json.dumps(message["blocks"])
        # What the rollback would take away, so the people affected know (issue 16 item 2).
        [reverts] = [b for b in message["blocks"] if b.get("block_id", "").endswith(":reverts:0")]
        said = reverts["text"]["text"]
        assert said.startswith(":rewind: reverts 1 change, back to `bbbbbbb`")
        assert "`aaaaaaa` bad change (by simulator)" in said
        assert (await h.store.load("demo", "prod")).pending_rollback is not None
        ack = await slack.click(approve, "U0APPROVE", message=message)
        assert (ack.status_code, ack.text) == (200, "")
        await h.until(lambda: rolled_back(h))
        assert await rollback_promotions(h) == [("deploy-prod.yml", BASE)]

        async def updated() -> bool:
            return bool(updates_of(standin, message["ts"]))

        await h.until(updated)
        [update] = updates_of(standin, message["ts"])
        assert update.args["channel"] == "C0DEMO"
        assert every_button(update.blocks) == []
        assert "<@U0APPROVE> approved the rollback" in json.dumps(update.blocks)
        assert (await h.store.load("demo", "prod")).pending_rollback is None


async def test_dismiss_keeps_the_stage_as_it_is_and_says_who(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, _ = await failed_on_prod(h)
        dismiss = buttons(message["blocks"])[1]
        ack = await slack.click(dismiss, "U0APPROVE2", message=message)
        assert ack.status_code == 200

        async def updated() -> bool:
            return bool(updates_of(standin, message["ts"]))

        await h.until(updated)
        [update] = updates_of(standin, message["ts"])
        assert every_button(update.blocks) == []
        assert "<@U0APPROVE2> dismissed the rollback" in json.dumps(update.blocks)
        assert (await h.store.load("demo", "prod")).pending_rollback is None
        await asyncio.sleep(0.5)
        assert await rollback_promotions(h) == []


async def test_a_click_without_the_role_is_refused_ephemerally(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, _ = await failed_on_prod(h)
        approve = buttons(message["blocks"])[0]
        before = len(responses(standin))
        ack = await slack.click(approve, "U0BLOCK", message=message)
        assert ack.status_code == 200

        async def refused() -> bool:
            return len(responses(standin)) > before

        await h.until(refused)
        refusal = responses(standin)[before]
        assert refusal.args["response_type"] == "ephemeral"
        assert refusal.args["replace_original"] is False
        assert "You need the *approve* role" in json.dumps(refusal.blocks)
        await asyncio.sleep(0.5)
        assert updates_of(standin, message["ts"]) == []
        assert (await h.store.load("demo", "prod")).pending_rollback is not None
        assert await rollback_promotions(h) == []
        refused = [e for e in await h.store.audit("demo", "prod") if e.action == "refused"]
        assert [(e.actor, e.detail) for e in refused] == [
            ("U0BLOCK", "needs the approve role to click rollback_approve")
        ]


@pytest.mark.parametrize("clickers", [("U0APPROVE", "U0APPROVE"), ("U0APPROVE", "U0APPROVE2")])
async def test_clicks_at_once_act_once(redis_server: str, clickers: tuple[str, str]) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        message, _ = await failed_on_prod(h)
        approve = buttons(message["blocks"])[0]
        acks = await asyncio.gather(*(slack.click(approve, u, message=message) for u in clickers))
        assert [a.status_code for a in acks] == [200, 200]
        await h.until(lambda: rolled_back(h))
        await asyncio.sleep(1.0)  # time for a second rollback, were there one
        assert await rollback_promotions(h) == [("deploy-prod.yml", BASE)]
        rollbacks = [
            d for d in await h.store.history("demo", "prod") if d.kind is DeploymentKind.ROLLBACK
        ]
        assert len(rollbacks) == 1
        assert len(updates_of(standin, message["ts"])) == 1


# -- Unblock -----------------------------------------------------------------------------------


async def test_unblock_button_on_a_blocker_message(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await slack.command("block prod DB migration", "U0BLOCK")
        [posted] = await standin.wait_for("chat.postMessage")
        [unblock] = every_button(posted.blocks)
        assert unblock["action_id"] == "blocker_unblock"
        message = as_message(standin, posted)
        ts = message["ts"]
        refused = await slack.click(unblock, "U0APPROVE", message=message)
        assert refused.status_code == 200
        await asyncio.sleep(0.3)
        assert len((await h.store.load("demo", "prod")).blockers) == 1

        ack = await slack.click(unblock, "U0BLOCK", message=message)
        assert ack.status_code == 200

        async def lifted() -> bool:
            return not (await h.store.load("demo", "prod")).blockers

        await h.until(lifted)

        async def updated() -> bool:
            return bool(updates_of(standin, ts))

        await h.until(updated)
        [update, *_] = updates_of(standin, ts)
        assert "<@U0BLOCK> lifted the blocker" in json.dumps(update.blocks)
        assert every_button(update.blocks) == [], update.blocks

        async def says_lifted() -> bool:  # issue 15 item 3: the headline too, not "is blocked"
            return any("*demo/prod* was blocked" in json.dumps(u.blocks)
                       for u in updates_of(standin, ts))  # fmt: skip

        await h.until(says_lifted)
        assert "is blocked" not in json.dumps(updates_of(standin, ts)[-1].blocks)


async def test_unblock_from_the_app_home_and_the_board_is_republished(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")

        async def base_done() -> bool:
            return await h.deployed("prod", BASE)

        await h.until(base_done)
        opened = await slack.open_home("U0BLOCK")
        assert opened.status_code == 200
        [first] = await standin.wait_for("views.publish")
        assert first.args["user_id"] == "U0BLOCK"
        board = json.dumps(first.blocks)
        for seen in ("*beta*", "*prod*", "`bbbbbbb` base"):
            assert seen in board, board
        assert every_button(first.blocks) == []

        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hold prod")
        # A recent viewer gets the board again after a change, with the blocker's button.
        published = await standin.wait_for("views.publish", 2)
        again = published[1]
        assert "hold prod" in json.dumps(again.blocks)
        [unblock] = every_button(again.blocks)
        assert unblock["action_id"].startswith("blocker_unblock")

        view = {"id": "V0HOME", "type": "home", "blocks": again.blocks}
        ack = await slack.click(unblock, "U0BLOCK", view=view)
        assert ack.status_code == 200

        async def lifted() -> bool:
            return not (await h.store.load("demo", "prod")).blockers

        await h.until(lifted)

        async def without_button() -> bool:
            latest = standin.of("views.publish")[-1]
            return len(standin.of("views.publish")) > 2 and every_button(latest.blocks) == []

        await h.until(without_button)
        assert "hold prod" not in json.dumps(standin.of("views.publish")[-1].blocks)


async def test_a_viewer_of_one_replica_gets_the_board_after_a_change_decided_by_another(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        first = h.runtime
        assert first.server is not None and h.standin is not None
        async with httpx.AsyncClient(base_url=first.server.url, timeout=10) as http:
            await SlackDriver(http, h.standin).open_home("U0VIEWER")  # on the first replica
        await h.standin.wait_for("views.publish")
        second = await h.start_bot()  # another replica on the same Redis
        await second.orchestrator.block("demo", "prod", "U0BLOCK", "hold prod")
        published = await h.standin.wait_for("views.publish", 2)
        assert published[1].args["user_id"] == "U0VIEWER"
        assert "hold prod" in json.dumps(published[1].blocks)


async def test_the_app_home_shows_each_projects_figures_and_counts_a_new_deployment(
    redis_server: str,
) -> None:
    """Issue 17: the board shows the last stage's figures of the last 30 days; a deployment
    that ends there shows in the next board this replica publishes, not five minutes later."""
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")

        async def deployed(sha: str) -> bool:
            return await h.deployed("prod", sha)

        await h.until(lambda: deployed(BASE))
        await slack.open_home("U0VIEWER")
        [first] = await standin.wait_for("views.publish")
        board = json.dumps(first.blocks, ensure_ascii=False)
        assert "_last 30 days:_ 0.03/day · lead time p50 " in board, board
        assert "failure rate 0% · nothing to restore" in board
        await h.push(A, "second change")
        await h.until(lambda: deployed(A))

        async def counted() -> bool:
            latest = json.dumps(standin.of("views.publish")[-1].blocks, ensure_ascii=False)
            return "_last 30 days:_ 0.07/day" in latest

        await h.until(counted)
