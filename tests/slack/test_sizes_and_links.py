"""Issue 14 item 6: what people type is capped at 500 characters with a message saying so, and
a bare URL someone typed (or an alert carried) is never turned into a link in deploybot's
voice: every mrkdwn text deploybot sends is `verbatim`, so Slack leaves plain text alone,
while deploybot's own `<url|label>` links still work."""

from __future__ import annotations

from typing import Any

import pytest
from builders import change, deployment

from bot.config.loader import ConfigError, load_config_text
from bot.core.decision import Notice, NoticeKind
from bot.settings import Settings
from bot.slack.render import change_thread, notice_reply
from tests.slack.support import NOW, two_projects

CONFIG = two_projects()
SHOP = CONFIG.project("shop")


def mrkdwn_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        found = [node] if node.get("type") == "mrkdwn" else []
        return found + [o for value in node.values() for o in mrkdwn_objects(value)]
    if isinstance(node, list):
        return [o for item in node for o in mrkdwn_objects(item)]
    return []


def test_a_bare_url_in_a_reason_is_sent_verbatim_so_slack_does_not_link_it() -> None:
    typed = "see https://evil.example/login and #general"
    notice = Notice(kind=NoticeKind.BLOCKER_ADDED, project="shop", stage="prod", text=typed)
    reply = notice_reply(notice, "UTC", NOW)
    texts = mrkdwn_objects(reply["blocks"])
    assert texts and all(t["verbatim"] is True for t in texts)
    assert any("https://evil.example/login" in t["text"] for t in texts)
    assert not any("<https://evil.example" in t["text"] for t in texts)


def test_deploybots_own_links_still_work_in_verbatim_text() -> None:
    shipped = change(1, message="fix https://evil.example")
    thread = change_thread(SHOP, shipped, {"prod": deployment(1, change=shipped)}, {}, NOW, "acme")
    texts = mrkdwn_objects(thread["blocks"])
    assert all(t["verbatim"] is True for t in texts)
    assert any("<https://acme.semaphoreci.com/workflows/" in t["text"] for t in texts)


@pytest.mark.parametrize("length, ok", [(500, True), (501, False)])
def test_a_configured_freeze_reason_is_capped_at_500_characters(length: int, ok: bool) -> None:
    text = f"""
roles: {{block: [U0BLOCK]}}
projects:
  - name: demo
    channel: C0DEMO
    freezes:
      - {{start: 2026-12-20 09:00, end: 2027-01-04 09:00, reason: {"x" * length}}}
    stages:
      - {{name: prod, promotion: prod}}
"""
    if ok:
        assert load_config_text(text, "<test>").project("demo")
        return
    with pytest.raises(ConfigError) as refused:
        load_config_text(text, "<test>")
    assert "500 characters" in str(refused.value)


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"SEMAPHORE_ORG": "acme"}, "https://acme.semaphoreci.com/workflows/wf-1"),
        (
            {
                "SEMAPHORE_ORG": "acme",
                "SEMAPHORE_API_URL": "https://ci.example.com:8443/api/v1alpha",
            },
            "https://ci.example.com:8443/workflows/wf-1",
        ),
        ({"SEMAPHORE_API_URL": "http://127.0.0.1:8001/api/v1alpha"}, None),
    ],
    ids=["semaphoreci.com", "self-hosted", "plain-http"],
)
def test_workflow_links_follow_the_configured_semaphore(
    env: dict[str, str], expected: str | None
) -> None:
    """Issue 15 item 10: a self-hosted Semaphore's links go to it, not to semaphoreci.com;
    an address that is not https gives no link at all."""
    settings = Settings.model_validate({k.lower(): v for k, v in env.items()})
    shipped = change(1)
    thread = change_thread(SHOP, shipped, {"prod": deployment(1, change=shipped)}, {}, NOW,
                           settings.semaphore_web_url)  # fmt: skip
    text = " ".join(t["text"] for t in mrkdwn_objects(thread["blocks"]))
    if expected is None:
        assert "/workflows/" not in text
    else:
        assert f"<{expected}|" in text
        assert "semaphoreci.com" not in text or "acme.semaphoreci.com" in expected
