"""The status thread, and Slack's failure modes, end to end: the real bot (engine, a real
redis-server, the Semaphore simulator) telling a Slack Web API stand-in on loopback, which
records every call and can answer 429 or 500; plus signed (and badly signed) requests."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import pytest

from bot.core.model import DeploymentKind, DeploymentState
from bot.scenarios.harness import Harness
from bot.service.inbox_worker import Unit
from bot.standins.slack import Call, SlackStandIn
from bot.store.inbox import InboxItem
from tests.slack.live import BASE, A, parts, posted_ts, started

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
        promotion: prod
        bake: 1s
        rollback: {policy: auto}
"""
INJECTION = "<!channel> see <https://evil.example|docs>"


def parents(standin: SlackStandIn, sha: str) -> list[Call]:
    """Top-level messages of `sha`'s status thread."""
    return [
        c
        for c in standin.of("chat.postMessage")
        if "thread_ts" not in c.args and c.args.get("text", "").startswith(f"demo `{sha[:7]}`")
    ]


def replies(standin: SlackStandIn, ts: str) -> list[Call]:
    return [c for c in standin.of("chat.postMessage") if c.args.get("thread_ts") == ts]


async def prod_has(h: Harness, sha: str) -> None:
    async def done() -> bool:
        return await h.deployed("prod", sha)

    await h.until(done)


# -- the status thread --------------------------------------------------------------------------


async def test_one_parent_per_change_updated_in_place_with_threaded_replies(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        await h.push(BASE, "base")
        await prod_has(h, BASE)

        async def finished_baking() -> bool:
            [parent] = parents(standin, BASE) or [None]
            if parent is None:
                return False
            thread = replies(standin, posted_ts(parent))
            return any("prod*: rollforward of bbbbbbb to prod finished baking" in c.text()
                       for c in thread)  # fmt: skip

        await h.until(finished_baking)
        [parent] = parents(standin, BASE)
        ts = posted_ts(parent)
        assert parent.args["channel"] == "C0DEMO"
        thread = [c.args["text"] for c in replies(standin, ts)]
        for expected in (
            "*beta*: bbbbbbb queued for beta",
            "*beta*: rollforward of bbbbbbb to beta started",
            "*prod*: bbbbbbb queued for prod",
            "*prod*: rollforward of bbbbbbb to prod started",
        ):
            assert any(expected in line for line in thread), (expected, thread)
        assert not any(c.args.get("reply_broadcast") for c in replies(standin, ts))
        updates = [c for c in standin.of("chat.update") if "bbbbbbb" in c.args.get("text", "")]
        assert updates and {c.args["ts"] for c in updates} == {ts}
        assert {c.args["channel"] for c in updates} == {"C0DEMO"}
        # The parent moved stage by stage: at some point deploying prod, and last, done there.
        states = [
            next(b for b in c.blocks if b.get("block_id") == "change:bbbbbbb:stages")["text"][
                "text"
            ]
            for c in updates
        ]
        assert any("*prod*  :arrows_counterclockwise: deploying" in s for s in states), states
        assert "*beta*  :white_check_mark: done" in states[-1], states[-1]
        assert "*prod*  :white_check_mark: done" in states[-1], states[-1]
        # SEMAPHORE_ORG is not set here: no link at all rather than a broken one.
        for call in [parent, *updates, *replies(standin, ts)]:
            assert "semaphoreci.com" not in call.text() and "None" not in call.text()
            assert "<|" not in call.text() and "|workflow>" not in call.text()


async def test_the_deploying_line_links_to_the_semaphore_workflow(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        slack = h.runtime.slack
        assert slack is not None
        slack.notifier.org = "demo-org"
        pushed = await h.push(BASE, "base")
        await prod_has(h, BASE)
        link = f"<https://demo-org.semaphoreci.com/workflows/{pushed['workflow_id']}|workflow>"

        async def linked() -> bool:
            return any(link in c.text() for c in standin.of("chat.update"))

        await h.until(linked)
        started_replies = [c for c in standin.of("chat.postMessage") if "started" in c.text()]
        assert started_replies and all(link in c.text() for c in started_replies)
        # A failure links the workflow too: Semaphore's page shows which job failed.
        await h.script(pipeline_file="deploy-beta.yml", commit_sha=A, result="failed")
        bad = await h.push(A, "bad")
        bad_link = f"<https://demo-org.semaphoreci.com/workflows/{bad['workflow_id']}|workflow>"

        async def failure_linked() -> bool:
            return any(
                "failed: a job failed" in c.text() and bad_link in c.text()
                for c in standin.of("chat.postMessage")
            )

        await h.until(failure_linked)


async def test_failures_and_rollbacks_are_broadcast_to_the_channel(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        await h.push(BASE, "base")
        await prod_has(h, BASE)
        await h.script(pipeline_file="deploy-prod.yml", commit_sha=A, result="failed")
        await h.push(A, "bad")

        async def rolled_back() -> bool:
            return any(
                d.kind is DeploymentKind.ROLLBACK and d.state is DeploymentState.SUCCEEDED
                for d in await h.store.history("demo", "prod")
            )

        await h.until(rolled_back)

        def broadcast(ts: str, words: str) -> list[Call]:
            return [c for c in replies(standin, ts) if words in c.args["text"]]

        async def told() -> bool:
            bad = parents(standin, A)
            good = parents(standin, BASE)
            return bool(
                bad
                and good
                and broadcast(posted_ts(bad[0]), "failed")
                and broadcast(posted_ts(good[0]), "Rollback to")
            )

        await h.until(told)
        [bad_parent] = parents(standin, A)
        [good_parent] = parents(standin, BASE)
        failed = broadcast(posted_ts(bad_parent), "failed")
        assert failed and all(c.args["reply_broadcast"] is True for c in failed)
        # Issue 15 item 8: Semaphore's `result_reason` in words, not `(test)`.
        [failure] = [c for c in failed if "to prod failed" in c.args["text"]]
        assert failure.args["text"].endswith("failed: deploy pipeline failed: a job failed")
        rollback = broadcast(posted_ts(good_parent), "Rollback to")
        assert rollback and all(c.args["reply_broadcast"] is True for c in rollback)
        queued = broadcast(posted_ts(bad_parent), "queued for beta")
        assert queued and all(c.args["reply_broadcast"] is False for c in queued)

        # Issue 15 item 2: the failed change's own message and thread follow its rollback.
        bad_ts = posted_ts(bad_parent)

        async def followed() -> bool:
            edits = [c for c in standin.of("chat.update") if c.args.get("ts") == bad_ts]
            done = bool(edits) and f"rolled back to `{BASE[:7]}`" in edits[-1].text()
            return done and bool(broadcast(bad_ts, "succeeded"))

        await h.until(followed)
        [*_, last] = [c for c in standin.of("chat.update") if c.args.get("ts") == bad_ts]
        assert "rollback waits" not in last.text()
        told = [c.args["text"] for c in replies(standin, bad_ts)]
        assert any(f"rollback of {BASE[:7]} to prod started" in t for t in told), told
        assert any(f"rollback of {BASE[:7]} to prod succeeded" in t for t in told), told


def mrkdwn(node: object) -> list[str]:
    """Every mrkdwn text object's text in `node` (blocks, a view, ...)."""
    if isinstance(node, list):
        return [text for item in node for text in mrkdwn(item)]
    if not isinstance(node, dict):
        return []
    own = [str(node["text"])] if node.get("type") == "mrkdwn" else []
    return own + [text for value in node.values() for text in mrkdwn(value)]


# -- security and robustness ------------------------------------------------------------------


async def test_a_bad_signature_or_a_stale_timestamp_is_refused_and_changes_nothing(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        forged = await slack.command("block prod forged", "U0BLOCK", secret="not-the-secret")
        assert forged.status_code == 401
        stale = await slack.command(
            "block prod stale", "U0BLOCK", timestamp=int(time.time()) - 6 * 60
        )
        assert stale.status_code == 401
        await asyncio.sleep(0.3)
        assert not (await h.store.load("demo", "prod")).blockers
        assert [c.method for c in standin.calls] == []
        fresh = await slack.command("block prod fresh", "U0BLOCK", timestamp=int(time.time()) - 60)
        assert fresh.status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (urlencode({"payload": "{not json"}), "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
    ],
)
async def test_a_malformed_payload_gets_a_4xx_without_a_traceback(
    redis_server: str, body: str, content_type: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        answer = await slack.post(body, content_type)
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
        assert "Traceback" not in answer.text
        assert not [r for r in caplog.records if r.exc_info]


async def test_people_text_is_escaped_in_every_message_that_carries_it(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await prod_has(h, BASE)
        home = await slack.open_home("U0BLOCK")
        assert home.status_code == 200
        await slack.command(f"block prod {INJECTION}", "U0BLOCK")

        async def blocked() -> bool:
            return bool((await h.store.load("demo", "prod")).blockers)

        await h.until(blocked)
        await h.push(A, "held")  # its thread says what it waits on

        async def held() -> bool:
            return any(d.change.sha == A for d in (await h.store.load("demo", "prod")).queue)

        await h.until(held)
        await slack.command("status", "U0BLOCK")
        await slack.command("queue prod", "U0BLOCK")
        # The modal lists the blocker it goes past.
        await slack.command("emergency prod aaaaaaa to test escaping", "U0EMERGENCY")
        await slack.command(f"block prod {INJECTION} for 2h", "U0STRANGER")

        def carrying() -> list[Call]:
            return [c for c in standin.calls if "evil.example" in c.text()]

        async def everywhere() -> bool:
            kinds = {c.method.split(":")[0] for c in carrying()}
            waiting = any("Queue held" in c.text() for c in carrying())
            return {"response", "chat.postMessage", "views.publish", "views.open"} <= kinds and (
                waiting
            )

        await h.until(everywhere)
        for call in carrying():
            # Slack reads mrkdwn (and a message's fallback text) for mentions and links;
            # plain_text (button labels, titles) can neither ping nor link.
            read = [str(call.args.get("text", "")), *mrkdwn(call.blocks)]
            shown = [t for t in read if "evil.example" in t]
            assert shown, call
            for text in shown:
                assert "<!channel>" not in text and "<https://evil.example" not in text, call
                assert "&lt;!channel&gt; see &lt;https://evil.example|docs&gt;" in text, call


async def test_a_rate_limited_post_arrives_once_and_never_delays_a_deployment(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        standin.fail("chat.postMessage", 429, times=1, retry_after=3)
        began = time.monotonic()
        await h.push(BASE, "base")
        await prod_has(h, BASE)
        assert time.monotonic() - began < 3.0
        # Slack was still telling the bot to wait, and the deployment went on regardless.
        assert standin.of("chat.postMessage") == []
        assert [c.status for c in standin.calls if c.method == "chat.postMessage"] == [429]

        async def told() -> bool:
            return any("finished baking" in c.text() and "prod" in c.text()
                       for c in standin.of("chat.postMessage"))  # fmt: skip

        await h.until(told)
        assert len(parents(standin, BASE)) == 1
        posted = [(c.args.get("thread_ts"), c.args["text"]) for c in standin.of("chat.postMessage")]
        assert len(posted) == len(set(posted)), posted


async def test_messages_wait_out_a_slack_outage_in_the_inbox(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        slack = h.runtime.slack
        assert slack is not None
        slack.worker.retry_after_ms = 300  # retry failed deliveries sooner than in production
        standin.fail("chat.postMessage", 500, times=8)
        await h.push(BASE, "base")
        await prod_has(h, BASE)

        async def recovered() -> bool:
            failures = [c for c in standin.calls if c.method == "chat.postMessage"]
            return len(failures) >= 8 and any(
                "prod*: rollforward of bbbbbbb to prod finished baking" in c.text()
                for c in standin.of("chat.postMessage")
            )

        await h.until(recovered, timeout=60)
        assert [c.status for c in standin.calls if c.method == "chat.postMessage"][:8] == [500] * 8
        [parent] = parents(standin, BASE)
        thread = [c.args["text"] for c in replies(standin, posted_ts(parent))]
        for expected in ("queued for beta", "to beta started", "queued for prod", "prod started"):
            assert any(expected in line for line in thread), (expected, thread)
        assert len(thread) == len(set(thread)), thread


def hold_slack(h: Harness) -> asyncio.Event:
    """Hold the Slack worker's next pass (what it took, and all that comes meanwhile, waits)
    until the event returned is set: a burst, as a busy channel sees it."""
    assert h.bot is not None and h.bot.slack is not None
    worker, gate = h.bot.slack.worker, asyncio.Event()
    fold = worker.fold
    assert fold is not None

    async def held(items: list[InboxItem]) -> list[Unit]:
        await gate.wait()
        return await fold(items)

    worker.fold = held
    return gate


async def test_each_notice_is_acknowledged_once_posted_even_when_taken_together(
    redis_server: str,
) -> None:
    """Notices waiting together are taken together, and each is acknowledged once Slack took
    it: a crash re-posts at most the one being posted."""
    async with started(redis_server, CONFIG) as h:
        assert h.bot is not None and h.bot.slack is not None
        notifier, inbox = h.bot.slack.notifier, h.bot.slack.worker.inbox
        deliver, waiting_at_each = notifier.deliver, []

        async def slow(item: InboxItem) -> None:
            waiting_at_each.append(await inbox.length())
            await asyncio.sleep(0.2)
            await deliver(item)

        notifier.deliver = slow  # type: ignore[method-assign]
        gate = hold_slack(h)
        for n in range(3):
            await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", f"reason {n}")
        gate.set()

        async def all_posted() -> bool:
            return len(waiting_at_each) == 3 and await inbox.length() == 0

        await h.until(all_posted, timeout=10)
        assert waiting_at_each == [3, 2, 1]


async def test_a_changes_notices_that_waited_are_one_edit_and_one_reply(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        gate = hold_slack(h)
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "held")
        await h.push(BASE, "base")

        async def beta_done() -> bool:
            return await h.deployed("beta", BASE)

        await h.until(beta_done)
        assert parents(standin, BASE) == []  # everything waited
        gate.set()

        async def told() -> bool:
            return bool(parents(standin, BASE)) and bool(
                replies(standin, posted_ts(parents(standin, BASE)[0]))
            )

        await h.until(told)
        [parent] = parents(standin, BASE)
        [reply] = replies(standin, posted_ts(parent))
        lines = reply.args["text"].splitlines()
        expected = ["bbbbbbb queued for beta", "rollforward of bbbbbbb to beta started",
                    "rollforward of bbbbbbb to beta succeeded", "bbbbbbb queued for prod"]  # fmt: skip
        found = [next((n for n, line in enumerate(lines) if e in line), None) for e in expected]
        assert None not in found and found == sorted(found), "\n".join(lines)
        # The message was posted as it is now (done on beta, waiting on prod), not step by step.
        stages = next(b for b in parent.blocks if b.get("block_id") == "change:bbbbbbb:stages")
        assert "*beta*  :white_check_mark: done" in stages["text"]["text"]
        assert "*prod*  :double_vertical_bar: waiting on" in stages["text"]["text"]
        assert [c for c in standin.of("chat.update") if "bbbbbbb" in c.args.get("text", "")] == []


async def test_changes_superseded_while_waiting_are_one_line_in_the_thread_of_the_newest(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        gate = hold_slack(h)
        await h.runtime.orchestrator.block("demo", "beta", "U0BLOCK", "release freeze")
        burst = [str(n) * 40 for n in range(1, 6)]
        for sha in burst:
            await h.push(sha, f"change {sha[:3]}")

        async def all_decided() -> bool:
            history = (await h.histories())["beta"]
            return len([d for d in history if d.state is DeploymentState.SUPERSEDED]) == 4

        await h.until(all_decided)
        gate.set()
        newest = burst[-1]

        async def folded() -> bool:
            return any(
                "superseded while waiting" in c.text() for c in standin.of("chat.postMessage")
            )

        await h.until(folded)
        for sha in burst[:-1]:
            assert parents(standin, sha) == [], sha  # no message of their own
        [parent] = parents(standin, newest)
        thread = [c.args["text"] for c in replies(standin, posted_ts(parent))]
        [line] = [t for t in thread if "superseded while waiting" in t]
        assert line.startswith(
            ":fast_forward: *beta*: 4 changes superseded while waiting, not deployed:"
        )
        assert all(f"`{sha[:7]}`" in line for sha in burst[:-1]), line
        queued = next(n for n, t in enumerate(thread) if "5555555 queued for beta" in t)
        assert queued < thread.index(line)  # the newest's own news first, then the line
        [blocker] = (await h.runtime.store.load("demo", "beta")).blockers
        await h.runtime.orchestrator.unblock("demo", "beta", "U0BLOCK", blocker.id)
        await prod_has(h, newest)
