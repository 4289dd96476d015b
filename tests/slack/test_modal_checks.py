"""The confirmation modals of manual rollbacks and emergency deployments: checked before they
open (issue 13 item 5), and again when submitted: the submitter's role, what the modal
carries, and the stage (item 4); a second emergency of a change is told it is already on its
way (item 20). Signed slash commands and view submissions through the real Bolt app over HTTP,
the Slack stand-in recording every call, the real engine on a real redis-server and the
Semaphore simulator behind."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.core.model import Deployment, DeploymentKind
from bot.scenarios.harness import Harness
from bot.slack.render import encode_value
from bot.standins.slack import Call
from semaphore_client import TransportError
from tests.slack.live import BASE, A, C, parts, reason, responses, started

pytestmark = pytest.mark.redis

D = "d" * 40
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
        promotion: prod
"""


async def ask(h: Harness, text: str, user: str) -> Call:
    """`/deploy text` as `user`: the ephemeral reply that follows its empty ack."""
    slack, standin = parts(h)
    before = len(responses(standin))
    ack = await slack.command(text, user)
    assert (ack.status_code, ack.text) == (200, "")

    async def replied() -> bool:
        return len(responses(standin)) > before

    await h.until(replied)
    return responses(standin)[before]


async def opened(h: Harness, text: str, user: str) -> dict[str, Any]:
    """`/deploy text` as `user`, which opens a modal: the view."""
    slack, standin = parts(h)
    before = len(standin.of("views.open"))
    await slack.command(text, user)
    [*_, call] = await standin.wait_for("views.open", before + 1)
    view = call.args["view"]
    return dict(json.loads(view) if isinstance(view, str) else view)


async def told(h: Harness, user: str, before: int) -> str:
    """The next ephemeral message posted to `user` after `before` of them."""
    _, standin = parts(h)
    [*_, call] = await standin.wait_for("chat.postEphemeral", before + 1)
    assert call.args["user"] == user
    return str(call.args["text"])


async def deployed_everywhere(h: Harness, sha: str) -> None:
    async def done() -> bool:
        return await h.deployed("prod", sha)

    await h.until(done)


async def of_kind(h: Harness, stage: str, kind: DeploymentKind) -> list[Deployment]:
    state = await h.store.load("demo", stage)
    live = [*state.queue, *([state.current] if state.current else [])]
    history = await h.store.history("demo", stage)
    return [d for d in [*live, *history] if d.kind is kind]


def forged(callback_id: str, metadata: dict[str, str | None]) -> dict[str, Any]:
    """A view as deploybot might have opened it, with `metadata` as its private_metadata."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": encode_value(metadata),
        "title": {"type": "plain_text", "text": "Emergency deploy"},
        "blocks": [],
    }


# -- item 4: submissions are checked again ------------------------------------------------------


async def test_an_emergency_submission_without_a_sha_rolls_nothing_back(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        view = forged("confirm_emergency", {"project": "demo", "stage": "prod"})
        answer = await slack.submit(view, "U0EMERGENCY", reason("customers are down"))
        assert answer.status_code == 200
        body = answer.json()
        assert (
            body["response_action"] == "errors" and "Nothing was done" in body["errors"]["reason"]
        )
        await asyncio.sleep(1.0)  # time for a rollback, were there one
        assert await of_kind(h, "prod", DeploymentKind.ROLLBACK) == []
        assert (await h.store.load("demo", "prod")).good[0].change.sha == A
        assert standin.of("chat.postEphemeral") == []


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param({"project": "elsewhere", "stage": "prod", "sha": A}, id="unknown-project"),
        pytest.param({"project": "demo", "stage": "nowhere", "sha": A}, id="unknown-stage"),
        pytest.param({"project": "demo", "stage": "prod", "sha": "not-a-sha"}, id="bad-sha"),
    ],
)
async def test_a_submission_deploybot_never_made_gets_an_error_in_the_modal(
    redis_server: str, metadata: dict[str, str | None]
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        answer = await slack.submit(forged("confirm_emergency", metadata), "U0EMERGENCY",
                                    reason("because"))  # fmt: skip
        assert answer.json()["response_action"] == "errors"


async def test_a_reason_over_500_characters_gets_an_error_in_the_modal(redis_server: str) -> None:
    """Issue 14 item 6: the reason is capped; the modal says so and nothing is done."""
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        view = forged("confirm_emergency", {"project": "demo", "stage": "prod", "sha": A})
        answer = await slack.submit(view, "U0EMERGENCY", reason("x" * 501))
        body = answer.json()
        assert body["response_action"] == "errors"
        assert "Keep the reason to 500 characters (it has 501)" in body["errors"]["reason"]
        await asyncio.sleep(0.5)
        assert await of_kind(h, "prod", DeploymentKind.EMERGENCY) == []


async def test_a_rollback_submission_without_what_its_modal_showed_gets_an_error(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hands off")
        view = forged("confirm_rollback", {"project": "demo", "stage": "prod"})
        answer = await slack.submit(view, "U0APPROVE", reason("errors up"))
        assert answer.json()["response_action"] == "errors"
        await asyncio.sleep(1.0)
        assert await of_kind(h, "prod", DeploymentKind.ROLLBACK) == []


async def test_a_rollback_submitted_by_someone_without_the_approve_role_does_nothing(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        view = await opened(h, "rollback prod", "U0APPROVE")
        answer = await slack.submit(view, "U0EMERGENCY", reason("errors up"))
        assert (answer.status_code, answer.text) == (200, "")
        assert "You need the approve role" in await told(h, "U0EMERGENCY", 0)
        await asyncio.sleep(1.0)
        assert await of_kind(h, "prod", DeploymentKind.ROLLBACK) == []


async def test_a_rollback_submitted_after_prod_moved_on_does_nothing_and_says_why(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        view = await opened(h, "rollback prod", "U0APPROVE")
        assert "last good deployment, `bbbbbbb`" in json.dumps(view["blocks"])
        await h.push(C, "the fix")
        await deployed_everywhere(h, C)
        answer = await slack.submit(view, "U0APPROVE", reason("errors up"))
        assert (answer.status_code, answer.text) == (200, "")
        said = await told(h, "U0APPROVE", 0)
        assert "Nothing was done" in said and "moved on" in said and "ccccccc" in said, said
        await asyncio.sleep(1.0)
        assert await of_kind(h, "prod", DeploymentKind.ROLLBACK) == []
        assert (await h.store.load("demo", "prod")).good[0].change.sha == C


async def test_a_rollback_modal_goes_past_no_blocker_added_after_it_opened(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        view = await opened(h, "rollback prod", "U0APPROVE")
        assert "No blockers stand in the way" in json.dumps(view["blocks"])
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "DB migration running")
        await slack.submit(view, "U0APPROVE", reason("errors up"))
        said = await told(h, "U0APPROVE", 0)
        assert "blocked since" in said and "DB migration running" in said, said
        await asyncio.sleep(0.5)
        assert await of_kind(h, "prod", DeploymentKind.ROLLBACK) == []


# -- item 5: answered before the modal opens ----------------------------------------------------


async def test_an_emergency_of_a_commit_deploybot_does_not_know_opens_no_modal(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        reply = await ask(h, "emergency prod deadbee checkout is down", "U0EMERGENCY")
        said = reply.text()
        assert "Cannot deploy `deadbee` to prod" in said, said
        assert "knows no change deadbee" in said and "/deploy history beta" in said
        assert "no CI pipeline of it ran on main" in said
        assert standin.of("views.open") == []


async def test_an_emergency_of_a_commit_whose_ci_failed_opens_no_modal_and_deploys_nothing(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.script(pipeline_file="semaphore.yml", commit_sha=D, result="failed")
        await h.push(D, "broken build")

        async def ci_failed() -> bool:
            return any(
                e["commit_sha"] == D and e.get("result") == "failed"
                for e in await h.sim_events("pipeline")
            )

        await h.until(ci_failed)
        reply = await ask(h, "emergency prod ddddddd checkout is down", "U0EMERGENCY")
        assert "knows no change ddddddd" in reply.text()
        assert "its CI pipeline failed" in reply.text()  # issue 13 item 2: CI's state, said
        assert standin.of("views.open") == []
        # A modal opened for it anyway (an older deploybot's, say) deploys nothing either.
        view = forged("confirm_emergency", {"project": "demo", "stage": "prod", "sha": D[:7]})
        await slack.submit(view, "U0EMERGENCY", reason("checkout is down"))
        assert "no CI pipeline of `ddddddd` passed" in await told(h, "U0EMERGENCY", 0)
        await asyncio.sleep(0.5)
        assert await of_kind(h, "prod", DeploymentKind.EMERGENCY) == []


async def test_a_rollback_to_a_commit_never_deployed_there_opens_no_modal(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        reply = await ask(h, "rollback prod to 0000000", "U0APPROVE")
        said = reply.text()
        assert "Cannot roll prod back to `0000000`" in said, said
        assert "not a good deployment on prod" in said and "/deploy history prod" in said
        nothing = await ask(h, "rollback beta to aaaaaaa", "U0APPROVE")
        assert "aaaaaaa is what beta runs now" in nothing.text()
        assert standin.of("views.open") == []


# -- item 20: one emergency per change ------------------------------------------------------------


async def test_a_second_emergency_of_the_same_change_is_told_it_is_on_its_way(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.runtime.orchestrator.block("demo", "beta", "U0BLOCK", "release freeze")
        await h.script(pipeline_file="deploy-beta.yml", commit_sha=A, duration=30)
        await h.push(A, "hotfix")

        async def held() -> bool:
            return any(d.change.sha == A for d in (await h.store.load("demo", "beta")).queue)

        await h.until(held)
        first = await opened(h, "emergency beta aaaaaaa checkout is down", "U0EMERGENCY")
        second = await opened(h, "emergency beta aaaaaaa checkout is down", "U0EMERGENCY")
        await slack.submit(first, "U0EMERGENCY", reason("checkout is down"))

        async def running() -> bool:
            return bool(await of_kind(h, "beta", DeploymentKind.EMERGENCY))

        await h.until(running)
        await slack.submit(second, "U0EMERGENCY", reason("checkout is still down"))
        said = await told(h, "U0EMERGENCY", 0)
        assert "emergency deployment of aaaaaaa to beta is already" in said, said
        again = await ask(h, "emergency beta aaaaaaa checkout is down", "U0EMERGENCY")
        assert "is already running" in again.text() or "is already queued" in again.text()
        assert len(standin.of("views.open")) == 2
        await asyncio.sleep(0.5)
        assert len(await of_kind(h, "beta", DeploymentKind.EMERGENCY)) == 1


async def test_an_emergency_submitted_while_semaphore_does_not_answer_says_so(
    redis_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)

        async def unanswered(project: str, sha: str) -> None:
            raise TransportError("connection refused")

        monkeypatch.setattr(h.runtime.orchestrator, "ci_change", unanswered)
        view = forged("confirm_emergency", {"project": "demo", "stage": "prod", "sha": BASE})
        await slack.submit(view, "U0EMERGENCY", reason("checkout is down"))
        said = await told(h, "U0EMERGENCY", 0)
        assert "Semaphore did not answer" in said and "connection refused" in said, said
        assert await of_kind(h, "prod", DeploymentKind.EMERGENCY) == []
