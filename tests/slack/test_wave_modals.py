"""An emergency deployment or a manual rollback of a whole wave (issue 18): one confirmation
modal lists every target, and its submission acts on each target on its own, through the real
Bolt app over HTTP, the Slack stand-in, the engine on a real redis-server and the Semaphore
simulator (a world made from the configuration)."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.config import load_config_text
from bot.core.model import DeploymentKind, DeploymentState
from bot.demo.world import demo_world
from bot.scenarios.harness import Harness
from tests.slack.live import BASE, A, C, ask, opened_view, parts, reason, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE], emergency: [U0EMERGENCY]}
reconcile_interval: 1h
projects:
  - name: demo
    channel: C0DEMO
    stages:
      - name: beta
        promotion: beta
      - name: prod
        targets:
          - {name: us-east-1, promotion: prod-us-east-1}
          - {name: eu-west-1, promotion: prod-eu-west-1}
"""
TARGETS = ("prod/us-east-1", "prod/eu-west-1")
WORLD = demo_world(load_config_text(CONFIG))


async def everywhere(h: Harness, sha: str) -> None:
    async def done() -> bool:
        return all([await h.deployed(t, sha) for t in TARGETS])

    await h.until(done)


async def of_kind(h: Harness, stage: str, kind: DeploymentKind, sha: str) -> bool:
    history = await h.store.history("demo", stage)
    good = (DeploymentState.SUCCEEDED, DeploymentState.DONE)
    return any(d.kind is kind and d.change.sha == sha and d.state in good for d in history)


async def test_a_rollback_of_a_wave_rolls_back_every_target_in_one_confirmation(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG, world=WORLD) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await everywhere(h, BASE)
        await h.push(A, "suspect")
        await everywhere(h, A)
        ack = await slack.command("rollback prod", "U0APPROVE")
        assert (ack.status_code, ack.text) == (200, "")
        view = await opened_view(h, 1)
        shown = json.dumps(view["blocks"])
        assert "2 targets, each on its own" in shown
        assert "prod/us-east-1: `aaaaaaa` suspect" in shown
        assert "prod/eu-west-1: `aaaaaaa` suspect" in shown
        assert "to the last good deployment, `bbbbbbb`" in shown
        submitted = await slack.submit(view, "U0APPROVE", reason("error rate up everywhere"))
        assert (submitted.status_code, submitted.text) == (200, "")

        async def both() -> bool:
            return all([await of_kind(h, t, DeploymentKind.ROLLBACK, BASE) for t in TARGETS])

        await h.until(both)
        again = await slack.submit(view, "U0APPROVE", reason("error rate up everywhere"))
        assert again.status_code == 200
        await asyncio.sleep(0.5)
        for target in TARGETS:  # the same form twice rolls back once per target
            rollbacks = [
                d for d in await h.store.history("demo", target)
                if d.kind is DeploymentKind.ROLLBACK
            ]  # fmt: skip
            assert len(rollbacks) == 1


async def test_a_wave_modal_that_went_stale_on_one_target_changes_only_the_others(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG, world=WORLD) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await everywhere(h, BASE)
        await h.push(A, "suspect")
        await everywhere(h, A)
        await slack.command("rollback prod", "U0APPROVE")
        view = await opened_view(h, 1)
        # Meanwhile eu-west-1 alone is rolled back from its own modal.
        await slack.command("rollback prod/eu-west-1", "U0APPROVE")
        own = await opened_view(h, 2)
        await slack.submit(own, "U0APPROVE", reason("eu-west-1 first"))

        async def west() -> bool:
            return await of_kind(h, TARGETS[1], DeploymentKind.ROLLBACK, BASE)

        await h.until(west)
        await slack.submit(view, "U0APPROVE", reason("everywhere"))

        async def east() -> bool:
            return await of_kind(h, TARGETS[0], DeploymentKind.ROLLBACK, BASE)

        await h.until(east)

        async def told() -> bool:
            return any("prod/eu-west-1: Nothing was done" in c.text() for c in
                       standin.of("chat.postEphemeral"))  # fmt: skip

        await h.until(told)
        said = [
            c.text() for c in standin.of("chat.postEphemeral") if "Nothing was done" in c.text()
        ]
        assert "moved on since the rollback was asked for" in said[-1]


async def test_an_emergency_to_a_blocked_wave_deploys_every_target_and_nothing_follows(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG, world=WORLD) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await everywhere(h, BASE)
        await slack.command("block prod Launch freeze", "U0BLOCK")
        await h.push(C, "hotfix")

        async def held() -> bool:
            states = [await h.store.load("demo", t) for t in TARGETS]
            return all(any(d.change.sha == C for d in s.queue) for s in states)

        await h.until(held)
        await slack.command("emergency prod ccccccc checkout is down", "U0EMERGENCY")
        view = await opened_view(h, 1)
        shown = json.dumps(view["blocks"])
        assert "2 targets, each on its own" in shown and "Launch freeze" in shown
        await slack.submit(view, "U0EMERGENCY", reason("checkout is down"))

        async def both() -> bool:
            return all([await of_kind(h, t, DeploymentKind.EMERGENCY, C) for t in TARGETS])

        await h.until(both)
        for target in TARGETS:  # still blocked: the emergency went past, it lifted nothing
            assert [b.reason for b in (await h.store.load("demo", target)).blockers] == [
                "Launch freeze"
            ]


async def test_a_refusal_on_a_wave_is_logged_on_a_target_never_on_the_waves_name(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG, world=WORLD) as h:
        _, reply = await ask(h, "rollback prod", "U0BLOCK")
        assert "You need the *approve* role" in json.dumps(reply.blocks)
        _, reply = await ask(h, "unblock prod", "U0APPROVE")
        assert "You need the *block* role" in json.dumps(reply.blocks)
        refused = [e for e in await h.audit_log() if e.action == "refused"]
        assert [e.stage for e in refused] == ["prod/us-east-1", "prod/us-east-1"]
        # Nothing is kept under the wave's name, which would read as a stage left behind.
        assert ("demo", "prod") not in await h.store.stored_stages()


async def test_a_block_of_a_wave_holds_every_target_and_says_so(redis_server: str) -> None:
    async with started(redis_server, CONFIG, world=WORLD) as h:
        _, reply = await ask(h, "block prod Launch freeze", "U0BLOCK")
        assert "Blocked demo/prod (its 2 targets): Launch freeze" in reply.text()
        for target in TARGETS:
            state = await h.store.load("demo", target)
            assert [b.reason for b in state.blockers] == ["Launch freeze"]
        _, reply = await ask(h, "unblock prod", "U0BLOCK")
        assert "Lifted 2 on demo/prod: Launch freeze" in reply.text()
        for target in TARGETS:
            assert (await h.store.load("demo", target)).blockers == ()
