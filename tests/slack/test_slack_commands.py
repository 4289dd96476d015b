"""`/deploy` end to end: signed slash commands and modal submissions through the real Bolt app
over HTTP, the Slack Web API stand-in recording every call, and the real engine, a real
redis-server and the Semaphore simulator behind. Each test checks what a person would notice:
the ack, the replies and views Slack was asked to show, and the state in the store."""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest

from bot.core.model import BlockerKind, DeploymentKind, DeploymentState
from bot.scenarios.harness import Harness
from bot.standins.slack import Call
from tests.slack.live import BASE, A, answered, ask, opened_view, parts, reason, responses, started

pytestmark = pytest.mark.redis

CONFIG = """
roles: {block: [U0BLOCK], approve: [U0APPROVE, S0APPROVERS], emergency: [U0EMERGENCY]}
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


async def deployed_everywhere(h: Harness, sha: str) -> None:
    async def done() -> bool:
        return await h.deployed("prod", sha)

    await h.until(done)


async def blockers(h: Harness, stage: str) -> list[Any]:
    return list((await h.store.load("demo", stage)).blockers)


def blocks_text(call: Call) -> str:
    return json.dumps(call.blocks)


# -- reading ----------------------------------------------------------------------------------


async def test_diff_says_what_ships_to_a_stage_for_anyone_and_only_to_them(
    redis_server: str,
) -> None:
    """Issue 16 item 3: `/deploy diff STAGE [SHA]`, ephemeral, no role needed."""
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        _, nothing = await ask(h, "diff prod", "U0NOBODY")  # only base, live: what it shipped
        assert "`bbbbbbb` base: :package: 1 change, the first deployment here" in nothing.text()
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hold it")
        third = "c" * 40
        await h.push(A, "<b>held</b> change", author="alice")
        await h.push(third, "another change", author="bob")

        async def both_queued_on_prod() -> bool:
            queue = (await h.store.load("demo", "prod")).queue
            return [d.change.sha for d in queue] == [third]

        await h.until(both_queued_on_prod)
        _, queued = await ask(h, "diff prod", "U0NOBODY")
        said = queued.text()
        assert (
            "*demo/prod* with `ccccccc` another change: :package: 2 changes since `bbbbbbb`" in said
        )
        assert said.index("`ccccccc` another change (by bob)") < said.index("`aaaaaaa`")
        assert "`aaaaaaa` &lt;b&gt;held&lt;/b&gt; change (by alice)" in said
        assert "https://github.com/demo-org/demo/compare/" + BASE + "..." + third in said
        _, one = await ask(h, "diff prod aaaaaaa", "U0NOBODY")
        assert ":package: 1 change since `bbbbbbb`" in one.text()
        _, old = await ask(h, "diff prod bbbbbbb", "U0NOBODY")
        assert "`bbbbbbb` ships nothing new to demo/prod" in old.text()
        _, unknown = await ask(h, "diff prod 0123456", "U0NOBODY")
        assert "No change `0123456` passed CI on the deploy branch of demo" in unknown.text()
        assert [c for c in standin_posts(h) if "ships" in c.text()] == []  # never in the channel


async def test_stats_shows_the_four_delivery_metrics_of_the_last_stage(redis_server: str) -> None:
    """Issue 17: `/deploy stats`, for anyone, ephemeral; a typo in the window is explained."""
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "second change")
        await deployed_everywhere(h, A)
        _, reply = await ask(h, "stats", "U0NOBODY")
        said = reply.text()
        assert "*demo/prod*, the last 30 days" in said
        assert "*Deployment frequency:* 0.07/day (2 deployments)" in said
        assert "*Change failure rate:* 0% (0 of 2)" in said
        assert "*Time to restore:* no failure to restore from" in said
        assert "Lead time for changes:* p50" in said and "(2 changes)" in said
        _, beta = await ask(h, "stats demo beta 7d", "U0NOBODY")
        assert "*demo/beta*, the last 7 days" in beta.text()
        assert "against the 7 days before" in beta.text()
        _, quarter = await ask(h, "stats 90d", "U0NOBODY")  # the 90 days before are not kept
        read = json.dumps(quarter.blocks, ensure_ascii=False)
        assert "no trend: the 90 days before are older than the history kept" in read
        assert "↑" not in read and "↓" not in read and "0.02/day (2 deployments)" in read
        typo = await answered(h, "stats 12d", "U0NOBODY")
        assert "'12d' is not a window; use 7d, 30d or 90d" in typo


def standin_posts(h: Harness) -> list[Call]:
    _, standin = parts(h)
    return [c for c in standin.of("chat.postMessage") if "diff" in json.dumps(c.blocks)]


async def test_status_shows_each_stage_with_its_real_version(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "second change")
        await deployed_everywhere(h, A)
        _, reply = await ask(h, "status", "U0NOBODY")
        shown = blocks_text(reply)
        for stage in ("beta", "prod"):
            line = next(b for b in reply.blocks if b.get("block_id") == f"status:demo:{stage}")
            assert f"*{stage}*" in line["text"]["text"]
            assert "`aaaaaaa` second change" in line["text"]["text"], line
        assert "bbbbbbb" not in shown  # the version now, not the one before
        assert "0 blocked" in reply.args["text"]
        _, one = await ask(h, "status demo prod", "U0NOBODY")
        assert "`aaaaaaa`" in blocks_text(one)


async def test_queue_and_history_show_what_waits_and_what_ran(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.runtime.orchestrator.block("demo", "prod", "U0BLOCK", "hold it")
        await h.push(A, "held change")

        async def queued_on_prod() -> bool:
            return any(d.change.sha == A for d in (await h.store.load("demo", "prod")).queue)

        await h.until(queued_on_prod)
        _, queue = await ask(h, "queue prod", "U0NOBODY")
        assert "aaaaaaa" in queue.text() and "hold it" in queue.text(), queue.text()
        _, history = await ask(h, "history prod", "U0NOBODY")
        text = blocks_text(history)
        assert "rollforward `bbbbbbb` done" in text, text
        assert "aaaaaaa" not in text  # still waiting: not history yet
        _, empty = await ask(h, "queue beta", "U0NOBODY")
        assert "Nothing queued on *demo/beta*" in blocks_text(empty)


async def test_help_and_empty_text_are_answered_in_the_ack(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        for text in ("help", "", "help block"):
            ack = await slack.command(text, "U0NOBODY")
            assert ack.status_code == 200
            body = ack.json()
            assert body.get("response_type", "ephemeral") == "ephemeral"
            if text == "help block":
                assert "/deploy block [project] stage|wave|PROJECT|all REASON" in body["text"]
            else:
                assert body["text"] == "deploybot commands"
                every = json.dumps(body["blocks"])
                for word in ("status", "block", "unblock", "freeze", "rollback", "emergency"):
                    assert f"/deploy {word}" in every
        await asyncio.sleep(0.1)
        assert responses(standin) == []  # nothing more was sent


@pytest.mark.parametrize(
    ("text", "wrong", "form"),
    [
        (
            "blokc prod x",
            "unknown command 'blokc'; did you mean 'block'",
            "/deploy block [project]",
        ),
        ("block prod", "", "/deploy block [project] stage|wave|PROJECT|all REASON"),
        ("rollback nowhere", "nowhere", "/deploy rollback [project] stage|wave [to SHA]"),
    ],
)
async def test_a_typo_gets_an_ephemeral_reply_naming_the_problem_and_the_form(
    redis_server: str, text: str, wrong: str, form: str
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        ack = await slack.command(text, "U0BLOCK")
        assert ack.status_code == 200
        body = ack.json()
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert wrong in body["text"] and form in body["text"], body["text"]
        assert "Usage:" in body["text"]
        # It reads well: no doubled punctuation such as "?." or "..".
        assert not re.search(r"[?.!][.?!]", body["text"].split("Usage:")[0]), body["text"]
        assert body["blocks"][0]["text"]["text"].startswith(":warning:")
        await asyncio.sleep(0.1)
        assert await blockers(h, "prod") == []
        assert [c.method for c in standin.calls if c.method != "auth.test"] == []


# -- blocking ---------------------------------------------------------------------------------


async def test_block_a_stage_holds_it_and_tells_the_channel(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        _, reply = await ask(h, "block prod DB migration", "U0BLOCK")
        assert reply.args["text"] == ":no_entry: Blocked demo/prod: DB migration"
        [blocker] = await blockers(h, "prod")
        assert (blocker.kind, blocker.reason, blocker.author) == (
            BlockerKind.MANUAL,
            "DB migration",
            "U0BLOCK",
        )
        assert blocker.until is None
        assert await blockers(h, "beta") == []
        [posted] = await standin.wait_for("chat.postMessage")
        assert posted.args["channel"] == "C0DEMO"
        assert "demo/prod* is blocked" in blocks_text(posted)
        assert blocker.id in blocks_text(posted)


async def test_block_for_a_while_and_until_a_time_expire(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        start = h.runtime.orchestrator.stages.clock()
        await ask(h, "block prod short one for 2h", "U0BLOCK")
        await ask(h, "block beta evening until 23:59", "U0BLOCK")
        [short] = await blockers(h, "prod")
        assert short.until is not None
        assert abs(short.until - (start + timedelta(hours=2))) < timedelta(seconds=30)
        [evening] = await blockers(h, "beta")
        assert evening.until is not None
        assert timedelta(0) < evening.until - start <= timedelta(hours=24)
        assert (evening.until.hour, evening.until.minute) == (23, 59)  # UTC is the zone here


async def test_block_a_project_and_block_all_block_every_stage(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, reply = await ask(h, "block demo release train", "U0BLOCK")
        assert "Blocked demo/beta, demo/prod: release train" in reply.args["text"]
        _, big = await ask(h, "block all incident", "U0BLOCK")
        assert "Blocked demo/beta, demo/prod: incident" in big.args["text"]
        for stage in ("beta", "prod"):
            reasons = sorted(b.reason for b in await blockers(h, stage))
            assert reasons == ["incident", "release train"]


async def test_a_block_by_someone_without_the_role_is_refused(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, reply = await ask(h, "block prod mine", "U0STRANGER")
        assert "You need the *block* role" in blocks_text(reply)
        assert await blockers(h, "prod") == []
        refused = [e for e in await h.store.audit("demo", "prod") if e.action == "refused"]
        assert [(e.actor, e.detail) for e in refused] == [
            ("U0STRANGER", "needs the block role to block")
        ]


async def test_unblock_by_id_and_all_manual(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await ask(h, "block prod one", "U0BLOCK")
        await ask(h, "block prod two", "U0BLOCK")
        one = next(b for b in await blockers(h, "prod") if b.reason == "one")
        await h.push(A, "waiting")

        async def held() -> bool:
            return any(d.change.sha == A for d in (await h.store.load("demo", "prod")).queue)

        await h.until(held)
        _, reply = await ask(h, f"unblock prod {one.id}", "U0BLOCK")
        assert reply.args["text"] == ":large_green_circle: Lifted 1 on demo/prod: one"
        assert [b.reason for b in await blockers(h, "prod")] == ["two"]
        _, missing = await ask(h, "unblock prod nosuchid", "U0BLOCK")
        assert "No blocker nosuchid on demo/prod" in missing.args["text"]
        assert not await h.deployed("prod", A)  # "two" still holds the queue
        _, rest = await ask(h, "unblock prod", "U0BLOCK")
        assert rest.args["text"] == ":large_green_circle: Lifted 1 on demo/prod: two"
        assert await blockers(h, "prod") == []
        await deployed_everywhere(h, A)  # the queue drained by itself
        _, none = await ask(h, "unblock prod", "U0BLOCK")
        assert none.args["text"] == "No manual blocker on demo/prod."


async def test_unblock_by_command_changes_every_blocker_message_in_place(
    redis_server: str,
) -> None:
    """Issue 15 item 3: `/deploy unblock prod` lifting four blockers edits the four messages
    that announced them (buttons gone, lifted by whom) and posts nothing new."""
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        for n in range(4):
            await ask(h, f"block prod reason {n}", "U0BLOCK")

        async def announced() -> bool:
            return len([c for c in standin.of("chat.postMessage") if "is blocked" in c.text()]) == 4

        await h.until(announced)
        messages = [c for c in standin.of("chat.postMessage") if "is blocked" in c.text()]
        posts_before = len(standin.of("chat.postMessage"))
        _, reply = await ask(h, "unblock prod", "U0BLOCK")
        assert reply.args["text"].startswith(":large_green_circle: Lifted 4 on demo/prod: ")

        async def all_edited() -> bool:
            edited = {c.args["ts"] for c in standin.of("chat.update") if "was blocked" in c.text()}
            return edited == {str(m.answer["ts"]) for m in messages}

        await h.until(all_edited)
        for update in [c for c in standin.of("chat.update") if "was blocked" in c.text()]:
            assert "<@U0BLOCK> lifted the blocker" in blocks_text(update)
            assert '"button"' not in blocks_text(update)
        await asyncio.sleep(0.3)  # nothing else is on its way
        assert len(standin.of("chat.postMessage")) == posts_before


async def test_freeze_then_list_then_cancel(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, reply = await ask(
            h, "freeze prod 2030-12-20 09:00 .. 2031-01-04 09:00 Holidays", "U0BLOCK"
        )
        [freeze] = await blockers(h, "prod")
        assert freeze.kind is BlockerKind.FREEZE and freeze.reason == "Holidays"
        assert freeze.starts_at is not None and freeze.starts_at.year == 2030
        # Issue 15 item 1: when, what and who; nothing is "blocked" yet.
        scheduled = (
            ":snowflake: Freeze on demo/prod scheduled: Fri 20 Dec 09:00 UTC → Sat 04 Jan "
            f"09:00 UTC, Holidays (by <@U0BLOCK>), id `{freeze.id}`"
        )
        assert reply.blocks[0]["text"]["text"] == scheduled

        async def announced() -> bool:
            _, standin = parts(h)
            posts = [c for c in standin.of("chat.postMessage") if "Freeze on" in c.text()]
            return bool(posts)

        await h.until(announced)
        _, standin = parts(h)
        [post] = [c for c in standin.of("chat.postMessage") if "Freeze on" in c.text()]
        assert post.args["channel"] == "C0DEMO" and post.blocks[0]["text"]["text"] == scheduled
        assert not any("Blocked" in c.text() for c in standin.of("chat.postMessage"))
        _, listed = await ask(h, "freeze list", "U0NOBODY")
        text = blocks_text(listed)
        assert "*demo/prod*" in text and f"`{freeze.id}`" in text and "Holidays" in text
        _, cancelled = await ask(h, f"freeze cancel prod {freeze.id}", "U0BLOCK")
        assert "Lifted 1 on demo/prod: Holidays" in cancelled.args["text"]
        assert await blockers(h, "prod") == []
        _, empty = await ask(h, "freeze list", "U0NOBODY")
        assert freeze.id not in blocks_text(empty)


# -- modals: rollback and emergency --------------------------------------------------------------


async def test_rollback_opens_a_modal_and_its_submission_rolls_back_to_last_good(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, standin = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)
        ack = await slack.command("rollback prod", "U0APPROVE")
        assert (ack.status_code, ack.text) == (200, "")
        view = await opened_view(h, 1)
        assert standin.of("views.open")[0].args["trigger_id"].startswith("trigger-")
        assert view["callback_id"] == "confirm_rollback"
        assert "to the last good deployment" in json.dumps(view["blocks"])
        assert "Now on demo/prod: `aaaaaaa` suspect" in json.dumps(view["blocks"])
        assert await h.promotions() == [
            ("deploy-beta.yml", BASE),
            ("deploy-prod.yml", BASE),
            ("deploy-beta.yml", A),
            ("deploy-prod.yml", A),
        ]  # opening the modal did nothing yet

        empty = await slack.submit(view, "U0APPROVE", reason("  "))
        assert empty.status_code == 200
        assert empty.json() == {
            "response_action": "errors",
            "errors": {"reason": "Say why, for the audit log."},
        }
        submitted = await slack.submit(view, "U0APPROVE", reason("error rate up"))
        assert (submitted.status_code, submitted.text) == (200, "")

        async def rolled_back() -> bool:
            history = await h.store.history("demo", "prod")
            return any(
                d.kind is DeploymentKind.ROLLBACK and d.state is DeploymentState.SUCCEEDED
                for d in history
            )

        await h.until(rolled_back)
        assert (await h.promotions())[-1] == ("deploy-prod.yml", BASE)
        assert (await h.store.load("demo", "prod")).current is None
        rollback = (await h.store.history("demo", "prod"))[0]
        assert (rollback.kind, rollback.change.sha) == (DeploymentKind.ROLLBACK, BASE)
        assert (rollback.triggered_by, rollback.reason) == ("U0APPROVE", "error rate up")
        assert any(e.actor == "U0APPROVE" for e in await h.audit_log())
        assert (await h.store.history("demo", "beta"))[0].change.sha == A  # beta untouched


async def test_rollback_by_someone_without_the_role_opens_nothing(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        _, reply = await ask(h, "rollback prod", "U0BLOCK")
        assert "You need the *approve* role" in blocks_text(reply)
        assert standin.of("views.open") == []


async def test_emergency_deploys_past_a_blocker_and_nothing_cascades(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await ask(h, "block beta frozen for the demo", "U0BLOCK")
        await h.push(A, "hotfix")

        async def held() -> bool:
            return any(d.change.sha == A for d in (await h.store.load("demo", "beta")).queue)

        await h.until(held)
        ack = await slack.command("emergency beta aaaaaaa customers are down", "U0EMERGENCY")
        assert (ack.status_code, ack.text) == (200, "")
        view = await opened_view(h, 1)
        assert view["callback_id"] == "confirm_emergency"
        shown = json.dumps(view["blocks"])
        assert "This goes past 1 blocker(s)" in shown and "frozen for the demo" in shown
        assert "Nothing cascades" in shown
        # The reason typed in the command is offered in the modal.
        field = next(b for b in view["blocks"] if b.get("block_id") == "reason")
        assert field["element"]["initial_value"] == "customers are down"
        submitted = await slack.submit(view, "U0EMERGENCY", reason("customers are down"))
        assert (submitted.status_code, submitted.text) == (200, "")

        async def emergency_done() -> bool:
            history = await h.store.history("demo", "beta")
            return any(
                d.kind is DeploymentKind.EMERGENCY and d.change.sha == A and d.state in (
                    DeploymentState.SUCCEEDED, DeploymentState.DONE)
                for d in history
            )  # fmt: skip

        await h.until(emergency_done)
        assert ("deploy-beta.yml", A) in await h.promotions()
        assert [b.reason for b in await blockers(h, "beta")] == ["frozen for the demo"]
        await asyncio.sleep(1.0)  # time enough to cascade, were it to
        assert ("deploy-prod.yml", A) not in await h.promotions()
        assert not any(d.change.sha == A for d in (await h.store.load("demo", "prod")).queue)


async def test_emergency_needs_the_emergency_role(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        _, reply = await ask(h, "emergency beta aaaaaaa because", "U0APPROVE")
        assert "You need the *emergency* role" in blocks_text(reply)
        assert standin.of("views.open") == []


# -- the 3 seconds, and roles by user group ------------------------------------------------------


async def test_acks_come_back_within_slacks_three_seconds_when_busy(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        slack, _ = parts(h)
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        orchestrator = h.runtime.orchestrator
        for n in range(20):
            await orchestrator.block("demo", "prod", "U0BLOCK", f"reason {n}")
        for n in range(5):
            await h.push(f"{n:x}" * 40, f"change {n}")
        for text in ("status", "block prod one more", "status demo prod"):
            began = time.monotonic()
            ack = await slack.command(text, "U0BLOCK")
            took = time.monotonic() - began
            assert ack.status_code == 200
            assert took < 3.0, f"/deploy {text} acked after {took:.2f}s"


async def test_a_member_of_a_configured_user_group_may_act(redis_server: str) -> None:
    async with started(redis_server, CONFIG) as h:
        _, standin = parts(h)
        standin.groups["S0APPROVERS"] = ["U0GROUPIE"]
        await h.push(BASE, "base")
        await deployed_everywhere(h, BASE)
        await h.push(A, "suspect")
        await deployed_everywhere(h, A)  # something to roll back
        ack = await parts(h)[0].command("rollback prod", "U0GROUPIE")
        assert ack.status_code == 200
        await standin.wait_for("views.open")
        assert standin.of("usergroups.users.list")[0].args["usergroup"] == "S0APPROVERS"
        _, refused = await ask(h, "rollback prod", "U0OUTSIDER")
        assert "You need the *approve* role" in blocks_text(refused)
        assert len(standin.of("views.open")) == 1


async def test_when_too_many_requests_wait_a_command_is_told_busy_and_not_run(
    redis_server: str,
) -> None:
    async with started(redis_server, CONFIG) as h:
        assert h.bot is not None and h.bot.slack is not None
        work = h.bot.slack.context.work
        work.limit = 0  # as if a thousand requests were waiting
        slack, standin = parts(h)
        ack = await slack.command("block demo prod DB migration", "U0BLOCK")
        assert ack.status_code == 200
        assert "deploybot is busy" in ack.text and "Nothing was done" in ack.text
        await asyncio.sleep(0.3)
        assert await blockers(h, "prod") == []
        assert responses(standin) == []
        work.limit = 1000
        await ask(h, "block demo prod DB migration", "U0BLOCK")
        assert [b.reason for b in await blockers(h, "prod")] == ["DB migration"]
