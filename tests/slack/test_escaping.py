"""People's text can never ping anyone or forge a link, in any renderer that shows it.

Every mrkdwn text (and the notification fallback) must show `<!channel>`, a forged link and a
mention literally: as `&lt;...&gt;`, never as Slack's control sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from builders import blocker, change, deployment

from bot.core.calendar import Freeze
from bot.core.decision import Notice, NoticeKind
from bot.core.model import DeploymentState, StageState
from bot.slack.commands import USAGE, ParseError
from bot.slack.render import (
    blocker_message,
    change_thread,
    confirm_modal,
    freeze_announcement,
    freeze_list_message,
    history_message,
    home_view,
    notice_reply,
    overview,
    parse_error_message,
    project_status,
    queue_message,
    refusal_message,
    rollback_alert,
    window_opened,
)
from tests.slack.support import INJECTION, NOW, two_projects

CONFIG = two_projects()
SHOP = CONFIG.project("shop")
ZONE = "Europe/Berlin"
BAD = blocker(id="b-1", reason=INJECTION)
BAD_FREEZE = blocker(
    id="f-1",
    kind="freeze",
    reason=INJECTION,
    starts_at=NOW + timedelta(days=1),
    until=NOW + timedelta(days=2),
)
BAD_CHANGE = change(5, message=f"{INJECTION}\nsecond line", author=INJECTION)
BAD_DEPLOYMENT = deployment(
    5,
    DeploymentState.FAILED,
    change=BAD_CHANGE,
    outcome=INJECTION,
    triggered_by=INJECTION,
    finished_at=NOW,
)
STATE = StageState(
    current=deployment(6, DeploymentState.RUNNING, change=BAD_CHANGE, started_at=NOW),
    queue=(deployment(7, change=BAD_CHANGE, triggered_by=INJECTION),),
    blockers=(BAD, BAD_FREEZE),
    good=(deployment(8, DeploymentState.DONE, change=BAD_CHANGE, finished_at=NOW),),
)
NOTICE = Notice(
    kind=NoticeKind.WAITING,
    project="shop",
    stage="prod",
    text=INJECTION,
    actor=INJECTION,
    deployment=BAD_DEPLOYMENT,
    blockers=(BAD,),
    rollback_target=BAD_DEPLOYMENT,
)
FREEZE = Freeze(
    id="f", start=NOW + timedelta(hours=1), end=NOW + timedelta(days=1), reason=INJECTION
)

RENDERERS: dict[str, Callable[[], dict[str, Any]]] = {
    "parse_error": lambda: parse_error_message(
        ParseError(f"unknown command {INJECTION!r}", USAGE["help"])
    ),
    "refusal": lambda: refusal_message("approve", INJECTION),
    "project_status": lambda: project_status(SHOP, {"prod": STATE}, NOW, org="acme"),
    "overview": lambda: overview(CONFIG, {"shop": {"prod": STATE}}, NOW),
    "queue": lambda: queue_message(SHOP, "prod", STATE, NOW),
    "history": lambda: history_message(SHOP, "prod", [BAD_DEPLOYMENT], NOW),
    "change_thread": lambda: change_thread(
        SHOP,
        BAD_CHANGE,
        {"beta": BAD_DEPLOYMENT, "prod": deployment(7, change=BAD_CHANGE)},
        {"prod": STATE},
        NOW,
        org="acme",
    ),
    "notice_reply": lambda: notice_reply(NOTICE, ZONE, NOW, org="acme"),
    "notice_reply_refused": lambda: notice_reply(
        NOTICE.model_copy(update={"kind": NoticeKind.REFUSED}), ZONE, NOW
    ),
    "rollback_alert": lambda: rollback_alert(NOTICE, ZONE, NOW),
    "blocker_message": lambda: blocker_message("shop", "prod", BAD, ZONE, NOW),
    "confirm_modal": lambda: confirm_modal(
        "emergency", "shop", "prod", "abcdef1", (BAD, BAD_FREEZE), ZONE, NOW, current=BAD_DEPLOYMENT
    ),
    "freeze_announcement": lambda: freeze_announcement(
        "shop", ["prod"], FREEZE, "in 1h", ZONE, NOW
    ),
    "freeze_started": lambda: freeze_announcement("shop", ["prod"], FREEZE, "started", ZONE, NOW),
    "freeze_list": lambda: freeze_list_message(CONFIG, {"shop": {"prod": STATE}}, NOW),
    "window_opened": lambda: window_opened("shop", "prod", BAD_DEPLOYMENT, 1, ZONE, NOW),
    "home": lambda: home_view(CONFIG, {"shop": {"prod": STATE}}, NOW, org="acme"),
}


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    return []


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_peoples_text_shows_literally_and_pings_nobody(name: str) -> None:
    rendered = RENDERERS[name]()
    shown = [*mrkdwn_texts(rendered.get("blocks", [])), rendered.get("text", "")]
    joined = "\n".join(shown)
    assert "&lt;!channel&gt;" in joined
    for forbidden in ("<!channel>", "<https://evil.example", "<@U999>", "<!"):
        assert forbidden not in joined


@pytest.mark.parametrize("name", ["project_status", "change_thread", "notice_started"])
def test_deploybots_own_workflow_link_survives_next_to_escaped_text(name: str) -> None:
    renderers = {
        **RENDERERS,
        "notice_started": lambda: notice_reply(
            NOTICE.model_copy(update={"kind": NoticeKind.STARTED}), ZONE, NOW, org="acme"
        ),
    }
    shown = "\n".join(mrkdwn_texts(renderers[name]()["blocks"]))
    assert "<https://acme.semaphoreci.com/workflows/wf-" in shown
