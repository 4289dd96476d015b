"""Approval gates end to end (issue 16): the approval message and its buttons through the real
Bolt app over HTTP, `/deploy approve|reject`, the Slack stand-in recording every call, the
real engine on a real redis-server and the Semaphore simulator behind."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.model import DeploymentState
from bot.scenarios.harness import Harness
from bot.scenarios.slack_driver import buttons
from bot.standins.slack import Call
from tests.slack.live import BASE, A, C, ask, parts, posted_ts, responses, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE, U0APPROVE2, U0APPROVE3], emergency: [U0EMERGENCY]}
authors: {U0APPROVE: [bob], U0APPROVE2: [erin]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
      - name: prod
        promotion: prod
        approval: {required: 2, allow_author: false, expires: 1h}
"""


def approval_messages(h: Harness, sha: str) -> list[Call]:
    _, standin = parts(h)
    return [
        c
        for c in standin.of("chat.postMessage")
        if any(b["action_id"] == "approval_approve" for b in buttons(c.blocks))
        and f"`{sha[:7]}`" in c.text()
    ]


async def asked(h: Harness, sha: str) -> dict[str, Any]:
    async def posted() -> bool:
        return bool(approval_messages(h, sha))

    await h.until(posted)
    [call] = approval_messages(h, sha)
    return {"ts": posted_ts(call), "text": call.args.get("text", ""), "blocks": call.blocks}


def latest(h: Harness, message: dict[str, Any]) -> str:
    """What the approval message shows now (its last update, else as posted)."""
    _, standin = parts(h)
    updates = [c for c in standin.of("chat.update") if c.args.get("ts") == message["ts"]]
    return updates[-1].text() if updates else json.dumps(message["blocks"])


async def click(h: Harness, message: dict[str, Any], label: str, user: str) -> str:
    """Click Approve or Reject as `user`: the answer only they see."""
    slack, standin = parts(h)
    [button] = [b for b in buttons(message["blocks"]) if b["text"]["text"] == label]
    before = len(responses(standin))
    ack = await slack.click(button, user, message=message)
    assert ack.status_code == 200 and ack.text == ""

    async def answered() -> bool:
        return len(responses(standin)) > before

    await h.until(answered, timeout=10)
    reply = responses(standin)[before]
    assert reply.args.get("response_type") == "ephemeral"
    return reply.text()


async def command(h: Harness, text: str, user: str) -> str:
    """`/deploy text` as `user`: the answer only they see."""
    return (await ask(h, text, user))[1].text()


async def test_two_people_approve_and_it_deploys_the_same_person_twice_is_told_why(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        message = await asked(h, BASE)
        shown = json.dumps(message["blocks"])
        assert "waits for approval: 0 of 2 approvals" in shown
        assert "`bbbbbbb` base (by simulator)" in shown  # what ships, next to the buttons
        assert not await h.deployed("prod", BASE)
        no_role = await click(h, message, "Approve", "U0NOBODY")
        assert "approve" in no_role and "1 of 2" not in no_role
        first = await click(h, message, "Approve", "U0APPROVE")
        assert "You approved `bbbbbbb` (1 of 2); it waits for 1 more." in first
        again = await click(h, message, "Approve", "U0APPROVE")
        assert "You approved bbbbbbb already; it needs 1 more from someone else" in again

        async def counted() -> bool:
            return "1 of 2 approvals (approved by &lt;@U0APPROVE&gt;)" in latest(
                h, message
            ) or "1 of 2 approvals (approved by <@U0APPROVE>)" in latest(h, message)

        await h.until(counted)
        assert not await h.deployed("prod", BASE)
        second = await click(h, message, "Approve", "U0APPROVE2")
        assert "(2 of 2)" in second and "deploys to demo/prod" in second

        async def deployed() -> bool:
            return await h.deployed("prod", BASE)

        await h.until(deployed)

        async def closed() -> bool:
            return "Approved: it deploys" in latest(h, message)

        await h.until(closed)
        _, standin = parts(h)
        final = [c for c in standin.of("chat.update") if c.args.get("ts") == message["ts"]][-1]
        assert buttons(final.blocks) == []
        actions = [e.action for e in await h.audit_log() if e.stage == "prod"]
        assert actions.count("approval_given") == 3  # two approvals, and the repeat refused


async def test_an_author_cannot_approve_and_a_stale_button_changes_nothing(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        await h.push(A, "bob's change", author="bob")
        message = await asked(h, A)
        refused = await command(h, "approve prod", "U0APPROVE")
        assert "you wrote `aaaaaaa`, which this deployment ships" in refused
        unknown = await command(h, "approve prod", "U0APPROVE3")  # no authors: entry
        assert "has no `authors:` entry" in unknown
        state = await h.store.load("demo", "prod")
        assert state.queue[0].approvals == ()
        refusals = [e for e in await h.audit_log() if e.action == "approval_refused"]
        assert [e.actor for e in refusals] == ["U0APPROVE", "U0APPROVE3"]  # in the audit log
        assert "You approved `aaaaaaa` (1 of 2)" in await command(h, "approve prod", "U0APPROVE2")
        await h.push(C, "newer change", author="erin")
        newer = await asked(h, C)  # a newer change asks again: nothing carries over
        assert "0 of 2 approvals" in json.dumps(newer["blocks"])
        stale = await click(h, message, "Approve", "U0APPROVE3")
        assert "no longer waits for approval" in stale

        async def superseded() -> bool:
            return "Superseded by a newer change" in latest(h, message)

        await h.until(superseded)
        rejected = await command(h, "reject prod Fails the load test", "U0APPROVE")
        assert "You rejected `ccccccc` for demo/prod: Fails the load test" in rejected
        history = await h.store.history("demo", "prod")
        assert history[0].change.sha == C and history[0].state is DeploymentState.CANCELLED
        nothing = await command(h, "approve prod", "U0APPROVE2")
        assert "Nothing on demo/prod waits for approval." in nothing


WAVE_CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE, U0APPROVE2], emergency: [U0EMERGENCY]}
authors: {U0APPROVE: [bob], U0APPROVE2: [erin]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
      - name: prod
        approval: {required: 1, allow_author: false, expires: 1h}
        targets:
          - {name: us-east-1, promotion: prod-us-east-1}
          - {name: eu-west-1, promotion: prod-eu-west-1}
"""


async def test_a_wave_needs_one_approval_given_on_any_of_its_targets(redis_server: str) -> None:
    from bot.config import load_config_text
    from bot.demo.world import demo_world

    world = demo_world(load_config_text(WAVE_CONFIG))
    async with started(redis_server, WAVE_CONFIG, world=world) as h:
        await h.push(BASE, "base")

        async def both_asked() -> bool:  # each target asks; one approval answers both
            return len(approval_messages(h, BASE)) == 2

        await h.until(both_asked)

        async def both_wait() -> bool:
            states = [await h.store.load("demo", f"prod/{t}") for t in ("us-east-1", "eu-west-1")]
            return all(s.queue and s.queue[0].approval_until for s in states)

        await h.until(both_wait)
        answer = await command(h, "approve prod", "U0APPROVE")
        assert "You approved `bbbbbbb` (1 of 1)" in answer
        assert "The same on prod's eu-west-1" in answer or "The same on prod's us-east-1" in answer

        async def deployed() -> bool:
            return all([await h.deployed(f"prod/{t}", BASE) for t in ("us-east-1", "eu-west-1")])

        await h.until(deployed)
        given = [e for e in await h.audit_log() if e.action == "approval_given"]
        assert sorted(e.stage for e in given) == ["prod/eu-west-1", "prod/us-east-1"]
        assert {e.actor for e in given} == {"U0APPROVE"}
