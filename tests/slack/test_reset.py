"""`/deploy reset STAGE` (issue 13 item 12): the manual door out of a deployment deploybot
believes is running. Signed slash commands and view submissions through the real Bolt app on
loopback, the Slack stand-in, a real redis-server and the Semaphore simulator (which accepts
A's beta promotion and never schedules it)."""

from __future__ import annotations

import json

import pytest

from bot.core.model import DeploymentState
from tests.slack.live import BASE, A, parts, started
from tests.slack.test_modal_checks import CONFIG, ask, opened, reason

pytestmark = pytest.mark.redis


async def test_reset_forgets_a_stuck_deployment_and_the_queue_goes_on(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.script(promotion="beta", never_scheduled="deadline", commit_sha=BASE)
        await h.push(BASE, "stuck")

        async def stuck() -> bool:
            current = (await h.store.load("demo", "beta")).current
            return current is not None and current.state is DeploymentState.RUNNING

        await h.until(stuck)
        await h.push(A, "next")  # queued behind the stuck one

        async def queued() -> bool:
            return bool((await h.store.load("demo", "beta")).queue)

        await h.until(queued)

        refused = await ask(h, "reset beta", "U0BLOCK")
        assert "You need the emergency role" in refused.text()
        nothing = await ask(h, "reset prod", "U0EMERGENCY")
        assert "Nothing is running on demo/prod" in nothing.text()
        assert standin.of("views.open") == []

        view = await opened(h, "reset beta", "U0EMERGENCY")
        shown = json.dumps(view)
        assert "Reset demo/beta" in shown and "Semaphore shows no pipeline for it" in shown
        answer = await slack.submit(view, "U0EMERGENCY", reason("Gofer dropped it"))
        assert answer.status_code == 200 and answer.text == ""

        async def went_on() -> bool:
            current = (await h.store.load("demo", "beta")).current
            return current is not None and current.change.sha == A

        await h.until(went_on)  # the queue went on with A
        [forgotten] = [d for d in await h.store.history("demo", "beta") if d.change.sha == BASE]
        assert forgotten.state is DeploymentState.CANCELLED
        assert forgotten.outcome == "reset by U0EMERGENCY: Gofer dropped it"
        audit = await h.store.audit("demo", "beta")
        assert any(e.action == "reset_requested" and e.actor == "U0EMERGENCY" for e in audit)

        before = len(standin.of("chat.postEphemeral"))
        await slack.submit(view, "U0EMERGENCY", reason("again"))  # the same modal, later

        async def told_stale() -> bool:
            return len(standin.of("chat.postEphemeral")) > before

        await h.until(told_stale)
        said = standin.of("chat.postEphemeral")[-1].args["text"]
        assert "Nothing was done" in said and "moved on since" in said, said
        assert (await h.store.load("demo", "beta")).current is not None  # A still runs
