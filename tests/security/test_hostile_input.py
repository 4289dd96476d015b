"""Hostile input against a real `deploybot serve` (Slack on, pointed at the Slack stand-in):
bad and missing signatures, Slack requests replayed after 5 minutes, oversized bodies,
malformed JSON and form bodies, unknown projects and stages, 200 random `/deploy` texts over
HTTP (and 10,000 through the parser), and mrkdwn injection in reasons. Each gets a 4xx or a
clear ephemeral reply; nothing changes state; the process never prints a traceback."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config.loader import load_config_text
from bot.scenarios.slack_driver import signed_headers
from bot.slack.commands import USAGE, ParseError
from bot.slack.parser import parse
from semaphore_client import sign_webhook
from tests.faults.support import ALERTMANAGER_TOKEN, WEBHOOK_SECRET, Rig, config_yaml

pytestmark = [pytest.mark.faults, pytest.mark.redis]

STAGES = ("beta", "prod")
NOBODY = "U0NOBODY"
INJECTION = "<!channel> <!here> see <https://evil.example|docs> & <@U999> *bold*"
WORDS = [*USAGE, "demo", "beta", "prod", "all", "for", "until", "to", "..", "list", "cancel",
         "2h", "17:00", "2026-12-20", "09:00", "abc1234", "f" * 40, "x" * 3000, "\u202e", "\x00",
         "<!channel>", "`", "*", "\n", "-1h", "99:99"]  # fmt: skip


async def unchanged(r: Rig) -> None:
    for stage in STAGES:
        assert (await r.watch.store.load("demo", stage)).version == 0, stage
        # Only refusals are audited (a user without the role trying to change something).
        audit = await r.watch.store.audit("demo", stage)
        assert {e.action for e in audit} <= {"refused"}, stage


async def test_hostile_semaphore_webhooks_get_4xx_and_change_nothing(bot: Any) -> None:
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    body = json.dumps({"pipeline": {"id": "p1"}}).encode()
    url = "/semaphore/webhook"
    assert (await http.post(url, content=body)).status_code == 401
    bad = {"X-Semaphore-Signature-256": "0" * 64}
    assert (await http.post(url, content=body, headers=bad)).status_code == 401
    for junk in (b"{", b"[]", b'{"pipeline": 5}', "\u00ff".encode("latin-1"), b""):
        signed = {"X-Semaphore-Signature-256": sign_webhook(junk, WEBHOOK_SECRET)}
        answer = await http.post(url, content=junk, headers=signed)
        assert answer.status_code == 400, (junk, answer.text)
        assert "error" in answer.json()
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    signed = {"X-Semaphore-Signature-256": sign_webhook(huge, WEBHOOK_SECRET)}
    assert (await http.post(url, content=huge, headers=signed)).status_code == 413
    alert = "/alerts/alertmanager"
    assert (await http.post(alert, content=b"{nope")).status_code == 401  # no credentials
    forged = {"Authorization": "Bearer guessed"}
    assert (await http.post(alert, content=b"{}", headers=forged)).status_code == 401
    token = {"Authorization": f"Bearer {ALERTMANAGER_TOKEN}"}
    assert (await http.post(alert, content=b"{nope", headers=token)).status_code == 400
    await unchanged(r)
    assert "Traceback" not in process.output()


async def test_hostile_slack_requests_get_4xx_and_change_nothing(bot: Any) -> None:
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    form = "command=%2Fdeploy&text=block+beta+x&user_id=U0BLOCK"
    plain = {"Content-Type": "application/x-www-form-urlencoded"}
    assert (await http.post("/slack/events", content=form, headers=plain)).status_code == 401
    wrong = {**plain, **signed_headers(form, "not-the-secret")}
    assert (await http.post("/slack/events", content=form, headers=wrong)).status_code == 401
    # A correctly signed request replayed after more than 5 minutes.
    replayed = await slack.command(
        "block beta replayed", "U0BLOCK", timestamp=int(time.time()) - 301
    )
    assert replayed.status_code == 401
    huge = "text=" + "x" * (2 * 1024 * 1024)
    assert (await slack.post(huge, "application/x-www-form-urlencoded")).status_code == 413
    for text in ("block nowhere because", "status nowhere", "queue demo nostage", "rollback moon"):
        answer = await slack.command(text, "U0BLOCK")
        assert answer.status_code == 200, answer.text
        assert answer.json().get("response_type", "ephemeral") == "ephemeral"
        assert "Usage" in answer.json()["text"] or "no " in answer.json()["text"].lower()
    await unchanged(r)
    assert "Traceback" not in process.output()


MALFORMED = (("{not json", "application/json"), ("[]", "application/json"), ("", "application/json"),
             ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
             ("payload=[1,2]", "application/x-www-form-urlencoded"),
             ("%%%", "application/x-www-form-urlencoded"))  # fmt: skip


async def test_malformed_slack_bodies_get_4xx_signed_or_not(bot: Any) -> None:
    r, process, slack = bot
    statuses: dict[tuple[str, bool], int] = {}
    for junk, kind in MALFORMED:
        signed = await slack.post(junk, kind)
        statuses[(junk, True)] = signed.status_code
        unsigned = await slack.http.post(
            "/slack/events", content=junk, headers={"Content-Type": kind}
        )
        statuses[(junk, False)] = unsigned.status_code
    await unchanged(r)
    assert {k: c for k, c in statuses.items() if not 400 <= c < 500} == {}
    assert "Traceback" not in process.output()


async def test_two_hundred_random_deploy_texts_over_http_get_a_clear_answer(bot: Any) -> None:
    r, process, slack = bot
    rng = random.Random(20261126)
    for n in range(200):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 8))]
        if n % 4 == 0:
            words.append("".join(chr(rng.randint(0, 0x2FFF)) for _ in range(rng.randint(1, 30))))
        text = " ".join(words)
        answer = await slack.command(text, NOBODY)
        assert answer.status_code == 200, (text, answer.status_code)
        if answer.content:
            assert answer.json().get("response_type", "ephemeral") == "ephemeral", text
    await process.wait_health(200)
    await unchanged(r)
    assert "Traceback" not in process.output()


async def test_mrkdwn_in_a_reason_is_shown_escaped(bot: Any) -> None:
    r, process, slack = bot
    answer = await slack.command(f"block beta {INJECTION}", "U0BLOCK")
    assert answer.status_code == 200
    calls = await slack.standin.wait_for("response:cmd1", timeout=10)
    shown = calls[0].text()
    assert "<!channel>" not in shown and "<!here>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown
    blockers = (await r.watch.store.load("demo", "beta")).blockers
    assert [b.reason for b in blockers] == [INJECTION]  # kept verbatim, escaped when shown
    assert "Traceback" not in process.output()


CONFIG = load_config_text(config_yaml(), "<faults>")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.one_of(st.text(max_size=200), st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join))
)
def test_ten_thousand_random_deploy_texts_through_the_parser(text: str) -> None:
    parsed = parse(text, CONFIG, NOW)
    if isinstance(parsed, ParseError):
        assert parsed.message and parsed.usage


async def test_unsigned_or_badly_signed_slack_requests_never_reach_the_log_or_a_500(
    bot: Any,
) -> None:
    """Bolt logged the whole body of a request with a bad signature (a forged log line, MBs
    of log, and with a wrong secret every real request's token) and parsed bodies before
    verifying them (a deep JSON gave a 500 with a traceback)."""
    r, process, slack = bot
    http: httpx.AsyncClient = slack.http
    marker = "FORGED-LINE\n2026-12-01 00:00:00 INFO deploybot: all good token=xoxb-LEAK"
    form = f"command=%2Fdeploy&text={marker}&user_id=U0BLOCK"
    kind = {"Content-Type": "application/x-www-form-urlencoded"}
    deep = "[" * 50_000 + "]" * 50_000
    now = str(int(time.time()))
    attempts = [
        (form, {**kind, **signed_headers(form, "not-the-secret")}),
        (deep, {"Content-Type": "application/json"}),
        (deep, {"Content-Type": "application/json", **signed_headers(deep, "nope")}),
        (form, {**kind, "X-Slack-Request-Timestamp": "123.0", "X-Slack-Signature": "v0=00"}),
        (form, {**kind, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}),
        (form, {**kind, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "v0=ü".encode()}),
        ("x" * 1_000_000, {**kind, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": "x"}),
    ]
    for body, headers in attempts:
        answer = await http.post("/slack/events", content=body.encode(), headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
    await unchanged(r)
    log = process.output()
    assert "Traceback" not in log
    assert "FORGED-LINE" not in log and "xoxb-LEAK" not in log
    assert "[[[[" not in log and "xxxxxxxx" not in log
    assert log.count("/slack/events refused with 401") == len(attempts)
