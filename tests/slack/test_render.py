"""What people see: structure of representative messages, views, buttons and action ids."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from builders import blocker, change, deployment

from bot.core.calendar import Freeze
from bot.core.decision import BROADCAST, Notice, NoticeKind
from bot.core.model import BlockerKind, DeploymentKind, DeploymentState, PendingRollback, StageState
from bot.slack.commands import USAGE, ParseError
from bot.slack.render import (
    CONFIRM_EMERGENCY,
    CONFIRM_ROLLBACK,
    UNBLOCK_ACTION,
    Acted,
    blocker_message,
    change_thread,
    confirm_modal,
    decode_value,
    freeze_announcement,
    help_message,
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
from tests.slack.support import (
    NOW,
    elements,
    many_projects,
    texts,
    two_projects,
    valid_message,
    valid_view,
)

CONFIG = two_projects()
SHOP = CONFIG.project("shop")
ZONE = "Europe/Berlin"


def good(n: int, **kw: object):  # type: ignore[no-untyped-def]
    return deployment(n, DeploymentState.DONE, finished_at=NOW - timedelta(hours=2), **kw)


def busy_state() -> StageState:
    return StageState(
        current=deployment(
            3,
            DeploymentState.BAKING,
            started_at=NOW - timedelta(minutes=20),
            bake_until=NOW + timedelta(minutes=40),
        ),
        queue=(deployment(4), deployment(5)),
        blockers=(blocker(id="b-1", until=NOW + timedelta(hours=2)),),
        good=(good(2),),
    )


def test_help_lists_every_subcommands_form() -> None:
    shown = texts(valid_message(help_message()))
    for usage in USAGE.values():
        assert usage in shown


def test_help_on_one_topic_shows_its_forms() -> None:
    shown = texts(help_message("freeze"))
    assert (
        USAGE["freeze"] in shown and USAGE["freeze cancel"] in shown and USAGE["block"] not in shown
    )


def test_parse_error_says_what_was_wrong_and_the_correct_form() -> None:
    rendered = valid_message(
        parse_error_message(ParseError("say why: /deploy block prod DB migration", USAGE["block"]))
    )
    assert [blk["text"]["text"] for blk in rendered["blocks"]] == [
        ":warning: say why: /deploy block prod DB migration",
        f"Usage:\n```{USAGE['block']}```",
    ]


def test_refusal_names_the_role_needed() -> None:
    rendered = valid_message(refusal_message("approve", "approve this rollback"))
    assert rendered["text"] == "You need the approve role to approve this rollback."


def test_project_status_shows_version_activity_queue_blockers_and_next_window() -> None:
    states = {"prod": busy_state()}
    rendered = valid_message(project_status(SHOP, states, NOW, org="acme"))
    prod = next(blk for blk in rendered["blocks"] if blk.get("block_id") == "status:shop:prod")[
        "text"
    ]["text"]
    assert "*prod*  `030303` " not in prod
    assert "`0303030` change 3 since" in prod  # baking: that change is what runs there
    assert "baking until Tue 24 Nov 11:40 CET (40m left)" in prod
    assert "queued: `0404040`, `0505050`" in prod
    assert "DB migration (by <@U123>, until Tue 24 Nov 13:00 CET (in 2h)) · id `b-1`" in prod
    buttons = elements(rendered)
    assert [(e["text"]["text"], e["action_id"]) for e in buttons] == [
        ("Unblock prod: DB migration", "blocker_unblock:0")
    ]
    assert decode_value(buttons[0]["value"]) == {
        "project": "shop",
        "stage": "prod",
        "blocker": "b-1",
        "since": "2026-11-24T10:00:00+00:00",
    }
    beta = next(blk for blk in rendered["blocks"] if blk.get("block_id") == "status:shop:beta")[
        "text"
    ]["text"]
    assert beta == "*beta*  _nothing deployed yet_"


def test_status_of_a_closed_window_says_when_it_opens() -> None:
    late = NOW + timedelta(hours=6)  # 17:00 in Berlin, after the 09:00-16:00 window
    shown = texts(project_status(SHOP, {}, late, stage="prod"))
    assert "outside deploy windows" in shown
    assert ":calendar: window opens Wed 25 Nov 09:00 CET (in 16h)" in shown


def test_running_deployment_links_its_semaphore_workflow_when_the_org_is_known() -> None:
    running = StageState(
        current=deployment(7, DeploymentState.RUNNING, started_at=NOW - timedelta(minutes=3))
    )
    with_org = texts(project_status(SHOP, {"prod": running}, NOW, org="acme"))
    assert (
        "deploying `0707070` change 7 since Tue 24 Nov 10:57 CET (3m ago) automatically · <https://acme.semaphoreci.com/workflows/wf-7|workflow>"
        in with_org
    )
    assert "semaphoreci" not in texts(project_status(SHOP, {"prod": running}, NOW))


def test_overview_has_one_section_per_project() -> None:
    rendered = valid_message(overview(CONFIG, {"shop": {"prod": busy_state()}}, NOW))
    assert [blk.get("block_id") for blk in rendered["blocks"]][1:3] == [
        "overview:shop",
        "overview:billing",
    ]
    assert (
        "*prod* `0303030` · :hourglass_flowing_sand: baking until Tue 24 Nov 11:40 CET (40m left)"
        " · 2 queued · :no_entry: 1 blocker(s)" in texts(rendered)
    )


def test_queue_lists_in_order_and_names_what_holds_it() -> None:
    shown = texts(valid_message(queue_message(SHOP, "prod", busy_state(), NOW)))
    assert shown.index("1. `0404040`") < shown.index("2. `0505050`")
    assert "Held by: DB migration" in shown


def test_history_shows_kind_sha_state_when_and_by_whom_and_caps_the_rows() -> None:
    rows = [good(n, kind=DeploymentKind.ROLLBACK, triggered_by="U024BE7LH") for n in range(1, 30)]
    rendered = valid_message(history_message(SHOP, "prod", rows, NOW, limit=20))
    shown = texts(rendered)
    assert (
        ":white_check_mark: rollback `0101010` done · Tue 24 Nov 09:00 CET (2h ago) · by <@U024BE7LH>"
        in shown
    )
    assert "9 older not shown" in shown


@pytest.mark.parametrize(
    ("stage_deployment", "state", "line"),
    [
        (None, StageState(), ":white_circle: not yet"),
        (deployment(1), StageState(), ":inbox_tray: queued"),
        (
            deployment(1),
            StageState(blockers=(blocker(),)),
            ":double_vertical_bar: waiting on :no_entry: DB migration",
        ),
        (
            deployment(1, DeploymentState.RUNNING, started_at=NOW),
            StageState(),
            "deploying since Tue 24 Nov 11:00 CET (just now) · <https://acme.semaphoreci.com/workflows/wf-1|workflow>",
        ),
        (
            deployment(1, DeploymentState.BAKING, bake_until=NOW + timedelta(minutes=25)),
            StageState(),
            "baking until Tue 24 Nov 11:25 CET (25m left)",
        ),
        (
            deployment(1, DeploymentState.DONE, finished_at=NOW),
            StageState(),
            ":white_check_mark: done Tue 24 Nov 11:00 CET",
        ),
        (
            deployment(1, DeploymentState.FAILED, outcome="tests red", finished_at=NOW),
            StageState(),
            ":x: failed: tests red",
        ),
        (
            deployment(1, DeploymentState.FAILED, id="shop/prod/d1", finished_at=NOW),
            StageState(
                pending_rollback=PendingRollback(
                    failed_deployment_id="shop/prod/d1",
                    bad_sha="01" * 20,
                    target=None,
                    reason="x",
                    created_at=NOW,
                )
            ),
            "failed; rollback waits for approval",
        ),
        (
            deployment(1, DeploymentState.FAILED, finished_at=NOW),
            StageState(
                good=(
                    deployment(
                        9, DeploymentState.SUCCEEDED, kind=DeploymentKind.ROLLBACK, created_at=NOW
                    ),
                )
            ),
            ":x: failed; rolled back to `0909090`",
        ),
        (
            deployment(1, DeploymentState.SUPERSEDED, finished_at=NOW),
            StageState(),
            ":fast_forward: superseded",
        ),
        (
            deployment(1, DeploymentState.CANCELLED, outcome="refused"),
            StageState(),
            ":heavy_minus_sign: cancelled: refused",
        ),
    ],
    ids=[
        "not-yet",
        "queued",
        "waiting",
        "deploying",
        "baking",
        "done",
        "failed",
        "failed-approval",
        "rolled-back",
        "superseded",
        "cancelled",
    ],
)
def test_thread_parent_has_one_line_per_stage_saying_where_the_change_is(
    stage_deployment, state, line
) -> None:  # type: ignore[no-untyped-def]
    deployments = (
        {"beta": good(1), "prod": stage_deployment} if stage_deployment else {"beta": good(1)}
    )
    rendered = valid_message(
        change_thread(SHOP, change(1), deployments, {"prod": state}, NOW, org="acme")
    )
    stages = next(blk for blk in rendered["blocks"] if blk.get("block_id", "").endswith(":stages"))[
        "text"
    ]["text"].splitlines()
    assert [s.split("  ")[0] for s in stages] == ["*beta*", "*gamma*", "*prod*"]
    assert stages[1] == "*gamma*  :white_circle: not yet"
    assert line in stages[2]


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_kind_has_a_readable_reply_and_broadcasts_per_decision_broadcast(
    kind: NoticeKind,
) -> None:
    notice = Notice(
        kind=kind,
        project="shop",
        stage="prod",
        text="something happened",
        deployment=deployment(1),
        blockers=(blocker(),),
    )
    rendered = valid_message(notice_reply(notice, ZONE, NOW))
    assert rendered["reply_broadcast"] is (kind in BROADCAST)
    line = rendered["blocks"][0]["text"]["text"]
    assert line.startswith(":") and "*prod*: something happened" in line
    assert rendered["text"].endswith("*prod*: something happened")


def test_failures_and_rollbacks_are_broadcast() -> None:
    for kind in (NoticeKind.FAILED, NoticeKind.ROLLBACK_QUEUED, NoticeKind.ROLLBACK_FAILED):
        assert notice_reply(Notice(kind=kind, project="p", stage="s", text="t"), ZONE, NOW)[
            "reply_broadcast"
        ]
    assert not notice_reply(
        Notice(kind=NoticeKind.QUEUED, project="p", stage="s", text="t"), ZONE, NOW
    )["reply_broadcast"]


def rollback_notice() -> Notice:
    return Notice(
        kind=NoticeKind.ROLLBACK_NEEDS_APPROVAL,
        project="shop",
        stage="prod",
        text="rollforward of 0303030 to prod failed; approve a rollback",
        deployment=deployment(3, DeploymentState.FAILED, id="shop/prod/d3"),
        rollback_target=good(2),
    )


def test_rollback_alert_has_approve_and_dismiss_buttons_with_a_compact_value() -> None:
    rendered = valid_message(rollback_alert(rollback_notice(), ZONE, NOW))
    buttons = elements(rendered)
    assert [(e["text"]["text"], e["action_id"], e.get("style")) for e in buttons] == [
        ("Approve rollback", "rollback_approve", "danger"),
        ("Dismiss", "rollback_dismiss", None),
    ]
    value = buttons[0]["value"]
    assert decode_value(value) == {
        "project": "shop",
        "stage": "prod",
        "deployment": "shop/prod/d3",
        "to": "02" * 20,
    }
    assert len(value) <= 2000 and " " not in value
    assert "Roll back to: `0202020` change 2" in texts(rendered)


def test_acted_rollback_alert_says_who_did_what_and_has_no_buttons() -> None:
    acted = Acted(by="U024BE7LH", did="approved the rollback", at=NOW)
    rendered = valid_message(rollback_alert(rollback_notice(), ZONE, NOW, acted=acted))
    assert elements(rendered) == []
    assert (
        rendered["blocks"][-1]["elements"][0]["text"]
        == ":ballot_box_with_check: <@U024BE7LH> approved the rollback at Tue 24 Nov 11:00 CET"
    )


def test_blocker_message_has_an_unblock_button_and_its_acted_form_does_not() -> None:
    b = blocker(id="b-9", until=NOW + timedelta(hours=1))
    rendered = valid_message(blocker_message("shop", "prod", b, ZONE, NOW))
    (button,) = elements(rendered)
    assert (button["action_id"], button["text"]["text"]) == ("blocker_unblock", "Unblock")
    assert UNBLOCK_ACTION.match(button["action_id"])
    assert decode_value(button["value"]) == {
        "project": "shop",
        "stage": "prod",
        "blocker": "b-9",
        "since": b.created_at.isoformat(),
    }
    acted = valid_message(
        blocker_message("shop", "prod", b, ZONE, NOW, Acted("U024BE7LH", "unblocked", NOW))
    )
    assert elements(acted) == [] and "<@U024BE7LH> unblocked" in texts(acted)


@pytest.mark.parametrize(
    ("kind", "sha", "callback", "title", "bypassed"),
    [
        (
            "emergency",
            "abcdef1",
            CONFIRM_EMERGENCY,
            "Emergency deploy",
            "This goes past 3 blocker(s)",
        ),
        ("rollback", None, CONFIRM_ROLLBACK, "Roll back", "This goes past 1 blocker(s)"),
    ],
)
def test_confirm_modal_says_what_it_bypasses_and_that_nothing_cascades(
    kind, sha, callback, title, bypassed
) -> None:  # type: ignore[no-untyped-def]
    blockers = (
        blocker(),
        blocker(BlockerKind.WINDOW, reason="outside windows"),
        blocker(BlockerKind.FREEZE, reason="Year end"),
    )
    view = valid_view(
        confirm_modal(kind, "shop", "prod", sha, blockers, ZONE, NOW, reason="Checkout down")
    )
    assert (view["callback_id"], view["title"]["text"]) == (callback, title)
    assert json.loads(view["private_metadata"]) == {
        "project": "shop",
        "stage": "prod",
        **({"sha": sha} if sha else {}),
    }
    shown = texts(view)
    assert bypassed in shown and "DB migration" in shown
    assert "*Nothing cascades:* the change is not queued for the stages after prod." in shown
    (reason,) = [blk for blk in view["blocks"] if blk["type"] == "input"]
    assert (reason["block_id"], reason["element"]["action_id"]) == ("reason", "reason_input")
    assert reason["element"]["initial_value"] == "Checkout down" and not reason.get("optional")


def test_freeze_announcements_ahead_at_start_and_at_end() -> None:
    freeze = Freeze(
        id="year-end",
        start=NOW + timedelta(days=1),
        end=NOW + timedelta(days=10),
        reason="Year-end",
    )
    ahead = texts(valid_message(freeze_announcement("shop", ["prod"], freeze, "in 1d", ZONE, NOW)))
    assert (
        ahead
        == ":snowflake: Change freeze on *shop* (prod) starts in *1d*: Wed 25 Nov 11:00 CET until Fri 04 Dec 11:00 CET. Year-end"
    )
    assert "*started*" in texts(freeze_announcement("shop", [], freeze, "started", ZONE, NOW))
    assert "*ended*" in texts(freeze_announcement("shop", [], freeze, "ended", ZONE, NOW))


def test_window_opened_announcement_names_what_deploys() -> None:
    shown = texts(valid_message(window_opened("shop", "prod", deployment(4), 2, ZONE, NOW)))
    assert (
        shown
        == ":large_green_circle: Deploy window opened on *shop/prod* at Tue 24 Nov 11:00 CET: deploying `0404040` change 4 (2 more waiting)."
    )


def test_home_of_ten_busy_projects_of_five_stages_fits_the_100_block_limit() -> None:
    config = many_projects(10, 5)
    blockers = tuple(blocker(id=f"b-{i}", reason=f"reason {i} " + "x" * 200) for i in range(6))
    busy = {
        p.name: {s.name: busy_state().model_copy(update={"blockers": blockers}) for s in p.stages}
        for p in config.projects
    }
    view = valid_view(home_view(config, busy, NOW + timedelta(hours=1), org="acme"))
    assert len(view["blocks"]) <= 100
    ids = [blk.get("block_id") for blk in view["blocks"]]
    for project in config.projects:
        assert f"home:{project.name}" in ids
        assert all(f"home:{project.name}:{s.name}" in ids for s in project.stages)
        unblock = view["blocks"][ids.index(f"home:{project.name}:unblock")]
        assert len(unblock["elements"]) == 24 and all(
            UNBLOCK_ACTION.match(e["action_id"]) for e in unblock["elements"]
        )
        assert len({e["action_id"] for e in unblock["elements"]}) == 24
    assert "6 more blockers" in texts(view)


def test_home_shows_each_stage_and_the_window_blocker_has_no_button() -> None:
    state = busy_state().model_copy(update={"blockers": (blocker(id="b-1"),)})
    view = valid_view(home_view(CONFIG, {"shop": {"prod": state}}, NOW + timedelta(hours=8)))
    shown = texts(view)
    assert "outside deploy windows" in shown and "DB migration" in shown
    assert [e["text"]["text"] for e in elements(view)] == ["Unblock prod: DB migration"]


def test_home_shows_the_last_stages_figures_of_the_last_30_days() -> None:
    from bot.core.delivery import Delivery

    figures = Delivery(since=NOW - timedelta(days=30), until=NOW, deployments=6, per_day=0.2,
                       lead_p50=timedelta(hours=2), failures=1, attempts=7,
                       restores=(timedelta(minutes=12),), unrestored=1)  # fmt: skip
    view = valid_view(home_view(CONFIG, {"shop": {}}, NOW, figures={"shop": figures}))
    assert (
        ":bar_chart: _last 30 days:_ 0.20/day · lead time p50 2h · failure rate 14% · "
        "restore p50 12m, 1 not restored yet"
    ) in texts(view)
    quiet = Delivery(since=NOW - timedelta(days=30), until=NOW, deployments=0, per_day=0.0)
    view = valid_view(home_view(CONFIG, {"shop": {}}, NOW, figures={"shop": quiet}))
    assert "_last 30 days: no deployment ended_" in texts(view)


def test_a_home_of_many_projects_draws_those_that_fit_and_says_how_many_are_left() -> None:
    """Issue 19: 1,000 projects of 5 stages; only whole projects are drawn, and the last
    block names how many were left out and where to see them."""
    from bench.stack import projects_config
    from bot.config.loader import load_config_text

    config = load_config_text(projects_config(1000, 5))
    view = valid_view(home_view(config, {}, NOW))
    headers = [b for b in view["blocks"] if str(b.get("block_id", "")).count(":") == 1]
    assert len(view["blocks"]) <= 100 and len(headers) == 13  # 7 blocks each
    last = view["blocks"][-1]["elements"][0]["text"]
    assert last == "_987 more projects not shown (Slack's limit): `/deploy status PROJECT`_"
    assert view["blocks"][-2]["type"] == "divider"  # the last project drawn is whole


def test_the_overview_of_many_projects_says_how_many_it_left_out() -> None:
    from bench.stack import projects_config
    from bot.config.loader import load_config_text

    config = load_config_text(projects_config(1000, 5))
    shown = overview(config, {}, NOW)
    assert len(shown["blocks"]) == 50
    sections_ = [b for b in shown["blocks"] if str(b.get("block_id", "")).startswith("overview:")]
    assert len(sections_) == 48
    assert shown["blocks"][-1]["elements"][0]["text"] == (
        "952 more projects not shown (Slack's limit). "
        "`/deploy status PROJECT` shows one project in full."
    )
